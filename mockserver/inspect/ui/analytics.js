// The analytics view: /_mock/analytics drawn as figures, bars and lists. Every number comes
// from the JSON as it is (the browser tests compare them); each figure's definition, from the
// same reply, is its tooltip. Bars are plain elements sized through CSSOM (the page's
// Content-Security-Policy allows no inline style attribute).

const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
};

const count = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString());
const percent = (r) => (r === null || r === undefined ? "–" : `${(r * 100).toFixed(1)}%`);
const decimal = (x) => (x === null || x === undefined ? "–" : x.toFixed(2));
const money = (x) => (x === null || x === undefined ? "–" : x.toLocaleString(undefined, { maximumFractionDigits: 2 }));

// Event types in a stable order and colour: each vendor's funnel from search to purchase.
const TYPE_ORDER = [
  "query", "click", "cartadd", "purchase",
  "VIEW_SUGGESTION", "CLICK_SUGGESTION", "VIEW_PRODUCT", "CLICK_PRODUCT", "LAND_PRODUCT_PAGE",
  "FAVORITE", "SHARE", "ADD_TO_CART", "PURCHASE",
];
const typeIndex = (type) => {
  const known = TYPE_ORDER.indexOf(type);
  return known >= 0 ? known : TYPE_ORDER.length;
};

function figure(name, label, value, shown, definitions) {
  return el(
    "div",
    { class: "figure", "data-figure": name, "data-value": value === null ? "" : String(value), title: definitions[name] || "" },
    el("span", { class: "figure-value", text: shown }),
    el("span", { class: "figure-label", text: label }),
  );
}

function panel(title, definition, ...body) {
  return el("section", { class: "panel" }, el("h3", { text: title, title: definition || "" }), ...body);
}

function bar(fraction) {
  const fill = el("span", { class: "bar-fill" });
  fill.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  return el("span", { class: "bar" }, fill);
}

function series(data, onBucket) {
  const buckets = data.series;
  const types = [...new Set(buckets.flatMap((b) => Object.keys(b.counts)))].sort((a, b) => typeIndex(a) - typeIndex(b) || a.localeCompare(b));
  const highest = Math.max(1, ...buckets.map((b) => b.total));
  const chart = el("div", { class: "columns", role: "list" });
  for (const bucket of buckets) {
    const column = el("button", {
      type: "button",
      class: "column",
      role: "listitem",
      "data-start": bucket.start ?? "",
      "data-total": String(bucket.total),
      title: `${bucket.start ?? bucket.start_ms}: ${bucket.total.toLocaleString()} events${types.map((t) => (bucket.counts[t] ? `\n${t}: ${bucket.counts[t]}` : "")).join("")}\nClick: list these events`,
    });
    const stack = el("span", { class: "stack" });
    stack.style.height = `${(bucket.total / highest) * 100}%`;
    for (const type of types) {
      const n = bucket.counts[type] || 0;
      if (!n) continue;
      const part = el("span", { class: `part type-${typeIndex(type)}` });
      part.style.height = `${(n / bucket.total) * 100}%`;
      stack.append(part);
    }
    column.append(stack);
    if (bucket.start) column.addEventListener("click", () => onBucket(bucket.start_ms));
    chart.append(column);
  }
  const legend = el("div", { class: "legend" }, ...types.map((t) => el("span", { class: "legend-item" }, el("span", { class: `swatch type-${typeIndex(t)}` }), t)));
  if (!buckets.length) return el("p", { class: "empty", text: "No events in this period." });
  const first = buckets[0].start ?? "";
  const last = buckets[buckets.length - 1].start ?? "";
  return el("div", {}, chart, el("div", { class: "axis" }, el("span", { text: first.slice(0, 16).replace("T", " ") }), el("span", { text: last.slice(0, 16).replace("T", " ") })), legend);
}

function funnel(data) {
  const top = data.funnel[0].count;
  const names = { searches: "Searches", clicked: "with a click", added_to_cart: "then an add-to-cart", purchased: "then a purchase" };
  return el(
    "div",
    { class: "rows" },
    ...data.funnel.map((step) =>
      el(
        "div",
        { class: "row", "data-step": step.step, "data-count": String(step.count) },
        el("span", { class: "row-label", text: names[step.step] || step.step }),
        bar(top ? step.count / top : 0),
        el("span", { class: "row-value", text: `${count(step.count)}${top && step.step !== "searches" ? ` · ${percent(step.count / top)}` : ""}` }),
      ),
    ),
  );
}

function positions(data) {
  const entries = Object.entries(data.clicks_by_position);
  const highest = Math.max(1, ...entries.map(([, n]) => n));
  const chart = el("div", { class: "columns small" });
  for (const [position, n] of entries) {
    const column = el("span", { class: "column", "data-position": position, "data-count": String(n), title: `position ${position}: ${n} clicks` });
    const stack = el("span", { class: "stack" });
    stack.style.height = `${(n / highest) * 100}%`;
    stack.append(el("span", { class: "part type-1" }));
    stack.lastElementChild.style.height = "100%";
    column.append(stack, el("span", { class: "column-label", text: position }));
    chart.append(column);
  }
  return chart;
}

function queryList(rows, columns, name) {
  if (!rows.length) return el("p", { class: "empty", text: "None." });
  const table = el("table", { class: "queries", "data-list": name });
  table.append(el("thead", {}, el("tr", {}, ...columns.map(([title]) => el("th", { text: title })))));
  const body = el("tbody");
  for (const row of rows) {
    body.append(el("tr", {}, ...columns.map(([, cell, cls]) => el("td", cls ? { class: cls } : {}, cell(row)))));
  }
  table.append(body);
  return table;
}

/** Draw ``data`` (the /_mock/analytics reply) into ``box``. ``onBucket(startMs)``: a bar was
 *  clicked. */
export function renderAnalytics(box, data, onBucket) {
  const d = data.definitions;
  box.replaceChildren(
    el(
      "div",
      { class: "figures" },
      figure("searches", "searches", data.searches, count(data.searches), d),
      figure("ctr", "click-through rate", data.ctr, percent(data.ctr), d),
      figure("avg_click_position", "average click position", data.avg_click_position, decimal(data.avg_click_position), d),
      figure("add_to_cart_rate", "add-to-cart rate", data.add_to_cart_rate, percent(data.add_to_cart_rate), d),
      figure("conversion_rate", "conversion rate", data.conversion_rate, percent(data.conversion_rate), d),
      figure("revenue", "revenue (Lucidworks)", data.revenue, money(data.revenue), d),
      figure("purchases", "purchases", data.purchases, count(data.purchases), d),
      figure("sessions", "sessions", data.sessions, count(data.sessions), d),
    ),
    el(
      "div",
      { class: "panels" },
      panel(`Events over time, by ${data.filters.bucket} (UTC)`, d.series, series(data, onBucket)),
      panel("Funnel", d.funnel, funnel(data)),
      panel("Clicks by position", d.clicks_by_position, positions(data)),
      panel(
        "Top queries",
        d.top_queries,
        queryList(data.top_queries, [["Query", (r) => r.query], ["Searches", (r) => count(r.searches), "num"], ["CTR", (r) => percent(r.ctr), "num"]], "top_queries"),
      ),
      panel("Queries without a click", d.no_click_queries, queryList(data.no_click_queries, [["Query", (r) => r.query], ["Searches", (r) => count(r.count), "num"]], "no_click_queries")),
      panel("Queries with no results", d.zero_result_queries, queryList(data.zero_result_queries, [["Query", (r) => r.query], ["Searches", (r) => count(r.count), "num"]], "zero_result_queries")),
    ),
  );
}
