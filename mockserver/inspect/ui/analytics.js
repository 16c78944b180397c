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

// Each vendor's event types in funnel order, from search to purchase. A vendor is one hue family
// (style.css: .type-<vendor>-<index>), so a stacked bar reads as two vendors first; within a
// family the colours darken along the funnel, a view lighter than its click, so neighbours in a
// stack differ. tests/test_inspect_dashboard.py holds these lists to the vendors' own
// (Lucidworks SIGNALS, the Neuralens schema's event enum).
const VENDOR_TYPES = {
  lucidworks: ["query", "click", "cartadd", "purchase"],
  neuralens: [
    "VIEW_SUGGESTION", "CLICK_SUGGESTION", "VIEW_PRODUCT", "CLICK_PRODUCT", "LAND_PRODUCT_PAGE",
    "FAVORITE", "SHARE", "ADD_TO_CART", "PURCHASE",
  ],
};
const VENDOR_NAMES = { lucidworks: "Lucidworks", neuralens: "Neuralens", other: "Other" };
const VENDORS = Object.keys(VENDOR_TYPES);
const vendorOf = (type) => VENDORS.find((v) => VENDOR_TYPES[v].includes(type)) ?? "other";
const typeRank = (type) => {
  const vendor = vendorOf(type);
  return vendor === "other" ? [VENDORS.length, 0] : [VENDORS.indexOf(vendor), VENDOR_TYPES[vendor].indexOf(type)];
};
const byRank = (a, b) => {
  const [ra, rb] = [typeRank(a), typeRank(b)];
  return ra[0] - rb[0] || ra[1] - rb[1] || a.localeCompare(b);
};
const typeClass = (type) => {
  const vendor = vendorOf(type);
  return vendor === "other" ? "type-other" : `type-${vendor}-${VENDOR_TYPES[vendor].indexOf(type)}`;
};

// ``basis``: what the figure counts, on the card itself. Three figures count searches followed by
// something, the funnel counts searches that made every step before, and purchases counts
// events: said once, beside each number, they no longer read as one figure twice.
function figure(name, label, value, shown, definitions, basis = "", ...more) {
  return el(
    "div",
    { class: "figure", "data-figure": name, "data-value": value === null ? "" : String(value), title: definitions[name] || "" },
    el("span", { class: "figure-value", text: shown }),
    el("span", { class: "figure-label", text: label }),
    ...(basis ? [el("span", { class: "figure-basis", text: basis })] : []),
    ...more,
  );
}

// A share in words, whole percent: "31%"; never "0%" or "100%" for a share that is neither.
function share(r) {
  const whole = Math.round(r * 100);
  if (r > 0 && whole === 0) return "under 1%";
  if (r < 1 && whole === 100) return "over 99%";
  return `${whole}%`;
}

// The average click position counts only clicks that say where they were: say how many did not.
function positionCaveat(quality) {
  const withPosition = quality?.clicks_with_position;
  if (withPosition === null || withPosition === undefined || withPosition >= 1) return [];
  const missing = share(1 - withPosition);
  return [
    el("span", {
      class: "figure-warning",
      title: `Your average click position ignores the ${missing} of clicks that had none: a click without selectedPosition (Lucidworks) or index (Neuralens) counts nowhere in it.`,
      text: `ignores the ${missing} of clicks that had none`,
    }),
  ];
}

function panel(title, definition, ...body) {
  return el("section", { class: "panel" }, el("h3", { text: title, title: definition || "" }), ...body);
}

function bar(fraction, tone = "") {
  const fill = el("span", { class: tone ? `bar-fill ${tone}` : "bar-fill" });
  fill.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  return el("span", { class: "bar" }, fill);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const LABEL_PX = { day: 64, hour: 64 }; // room one x label needs, with space around it
// Bars between two x labels: round numbers of hours (so midnight is always one) or days.
const LABEL_EVERY = { hour: [1, 2, 3, 6, 12, 24, 48, 96, 168, 336, 672], day: [1, 2, 7, 14, 28, 56, 91, 182, 364] };

// A round scale from 0 to at least ``highest``: about four steps of 1, 2, 2.5 or 5 × 10^n, whole
// numbers only (these are counts).
function scale(highest) {
  const rough = Math.max(1, highest) / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const steps = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).filter((s) => Number.isInteger(s));
  const step = steps.find((s) => s >= rough) ?? 10 * magnitude;
  const top = Math.max(step, Math.ceil(highest / step) * step);
  const ticks = [];
  for (let tick = 0; tick <= top + step / 2; tick += step) ticks.push(tick);
  return { top, ticks };
}

// A bucket's x label, in UTC as the buckets are. Days: "3 Dec", with the year on the first and
// on 1 January. Hours: "3 Dec" at midnight, "15:00" between, both on the first label.
function bucketLabel(bucket, kind, first) {
  if (!bucket.start) return String(bucket.start_ms);
  const moment = new Date(bucket.start_ms);
  const day = `${moment.getUTCDate()} ${MONTHS[moment.getUTCMonth()]}`;
  if (kind === "day") return first || (moment.getUTCMonth() === 0 && moment.getUTCDate() === 1) ? `${day} ${moment.getUTCFullYear()}` : day;
  const hour = `${String(moment.getUTCHours()).padStart(2, "0")}:00`;
  if (first) return `${day} ${hour}`;
  return moment.getUTCHours() === 0 ? day : hour;
}

// Which bars get an x label: as many as fit in ``width``, on round hours or every few days.
function labelled(buckets, kind, width) {
  const needed = Math.ceil((buckets.length * LABEL_PX[kind]) / Math.max(1, width));
  const every = LABEL_EVERY[kind].find((n) => n >= needed) ?? needed;
  if (kind === "day") return (bucket, index) => index % every === 0;
  return (bucket) => Math.floor(bucket.start_ms / 3_600_000) % every === 0;
}

function series(data, onBucket, width) {
  const buckets = data.series;
  if (!buckets.length) return el("p", { class: "empty", text: "No events in this period." });
  const kind = data.filters.bucket === "hour" ? "hour" : "day";
  const types = [...new Set(buckets.flatMap((b) => Object.keys(b.counts)))].sort(byRank);
  const { top, ticks } = scale(Math.max(...buckets.map((b) => b.total)));
  // The bars share the plot's whole width, so the chart spans the period it covers.
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
    stack.style.height = `${(bucket.total / top) * 100}%`;
    for (const type of types) {
      const n = bucket.counts[type] || 0;
      if (!n) continue;
      const part = el("span", { class: `part ${typeClass(type)}` });
      part.style.height = `${(n / bucket.total) * 100}%`;
      stack.append(part);
    }
    column.append(stack);
    if (bucket.start) column.addEventListener("click", () => onBucket(bucket.start_ms));
    chart.append(column);
  }
  const plot = el("div", { class: "plot" });
  const yAxis = el("div", { class: "y-axis", "aria-hidden": "true" });
  for (const tick of ticks) {
    const at = `${(tick / top) * 100}%`;
    const line = el("span", { class: "gridline" });
    line.style.bottom = at;
    const label = el("span", { class: "tick", "data-tick": String(tick), text: tick.toLocaleString() });
    label.style.bottom = at;
    plot.append(line);
    yAxis.append(label);
  }
  yAxis.style.width = `${top.toLocaleString().length + 1}ch`;
  plot.append(chart);
  // Each label under the middle of its bar.
  const shows = labelled(buckets, kind, width);
  const xAxis = el("div", { class: "x-axis", "aria-hidden": "true" });
  let first = true;
  buckets.forEach((bucket, index) => {
    const text = shows(bucket, index) ? bucketLabel(bucket, kind, first) : "";
    first &&= !text;
    xAxis.append(el("span", { class: "x-label", text }));
  });
  const groups = [...VENDORS, "other"]
    .map((vendor) => [vendor, types.filter((t) => vendorOf(t) === vendor)])
    .filter(([, own]) => own.length)
    .map(([vendor, own]) =>
      el(
        "span",
        { class: "legend-group", "data-vendor": vendor },
        el("span", { class: `legend-vendor vendor-${vendor}`, text: VENDOR_NAMES[vendor] }),
        ...own.map((t) => el("span", { class: "legend-item", "data-type": t }, el("span", { class: `swatch ${typeClass(t)}` }), t)),
      ),
    );
  const dense = buckets.length * 4 > width; // fewer than 4 px a bar: no gaps
  return el("div", { class: dense ? "chart dense" : "chart" }, yAxis, plot, el("span"), xAxis, el("div", { class: "legend" }, ...groups));
}

// Each step names every step before it: the funnel's purchase step is searches with a click and
// an add-to-cart too, fewer than the conversion rate's searches followed by a purchase.
const FUNNEL_STEPS = {
  searches: "Searches",
  clicked: "with a click",
  added_to_cart: "with a click, then an add-to-cart",
  purchased: "with a click, an add-to-cart, then a purchase",
};

function funnel(data) {
  const top = data.funnel[0].count;
  return el(
    "div",
    { class: "rows funnel" },
    ...data.funnel.map((step) =>
      el(
        "div",
        { class: "row", "data-step": step.step, "data-count": String(step.count) },
        el("span", { class: "row-label", text: FUNNEL_STEPS[step.step] || step.step }),
        el("span", { class: "row-value", text: `${count(step.count)}${top && step.step !== "searches" ? ` · ${percent(step.count / top)} of searches` : ""}` }),
        bar(top ? step.count / top : 0),
      ),
    ),
    el("p", {
      class: "note",
      text:
        "Counts searches, each step only those of the step above: lower than the add-to-cart and " +
        "conversion rates, which need no click. A purchase counts for every search before it in its session.",
    }),
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
    stack.append(el("span", { class: "part position" }));
    stack.lastElementChild.style.height = "100%";
    column.append(stack, el("span", { class: "column-label", text: position }));
    chart.append(column);
  }
  return chart;
}

// signal_quality's shares: [name, label, its counts (part, whole) in signal_quality.counts,
// the bar's tone].
const QUALITY = [
  ["clicks_with_position", "clicks with a position", ["clicks_with_position", "clicks"]],
  ["signals_tied_to_query", "Lucidworks clicks and cart-adds tied to a query", ["tied_to_query", "follow_signals"]],
  ["signals_with_warnings", "events with a warning", ["with_warnings", "events"], "warn"],
];

function signalQuality(quality, definitions, onRule) {
  const counts = quality.counts ?? {};
  const rows = QUALITY.map(([name, label, [part, whole], tone]) => {
    const value = quality[name];
    const among = part in counts && whole in counts ? ` · ${count(counts[part])} of ${count(counts[whole])}` : "";
    return el(
      "div",
      { class: "row", "data-quality": name, "data-value": value === null || value === undefined ? "" : String(value), title: definitions[name] || "" },
      el("span", { class: "row-label", text: label }),
      el("span", { class: "row-value", text: `${percent(value)}${among}` }),
      bar(value ?? 0, tone),
    );
  });
  const rules = quality.top_rules ?? [];
  const top = rules.length
    ? el(
        "ol",
        { class: "top-rules", "data-list": "top_rules" },
        ...rules.map((r) => {
          const open = el("button", { type: "button", class: "rule-link", title: "List the events with this warning", text: r.rule });
          open.addEventListener("click", () => onRule(r.rule));
          return el("li", { "data-rule": r.rule, "data-count": String(r.count) }, open, el("span", { class: "row-value", text: count(r.count) }));
        }),
      )
    : el("p", { class: "empty", text: "No warnings." });
  return el(
    "div",
    { class: "rows quality" },
    ...rows,
    el("h4", { text: "Top warnings", title: definitions.top_rules || "" }),
    top,
  );
}

function queryList(rows, columns, name) {
  if (!rows.length) return el("p", { class: "empty", text: "None." });
  const table = el("table", { class: "queries", "data-list": name });
  table.append(el("thead", {}, el("tr", {}, ...columns.map(([title, , , basis]) => el("th", { text: title, ...(basis ? { title: basis } : {}) })))));
  const body = el("tbody");
  for (const row of rows) {
    body.append(el("tr", {}, ...columns.map(([, cell, cls]) => el("td", cls ? { class: cls } : {}, cell(row)))));
  }
  table.append(body);
  return table;
}

/** Draw ``data`` (the /_mock/analytics reply) into ``box``. ``onBucket(startMs)``: a bar was
 *  clicked; ``onRule(rule)``: a warning rule was. */
export function renderAnalytics(box, data, onBucket, onRule) {
  const d = data.definitions;
  // The chart's width, for how many x labels fit: the box less its padding, the panel's and the
  // y axis's (near enough; a wrong guess only labels more or fewer bars).
  const plotWidth = box.clientWidth - 120;
  box.replaceChildren(
    el(
      "div",
      { class: "figures" },
      figure("searches", "searches", data.searches, count(data.searches), d),
      figure("ctr", "click-through rate", data.ctr, percent(data.ctr), d, "of searches: with a click"),
      figure("avg_click_position", "average click position", data.avg_click_position, decimal(data.avg_click_position), d, "over clicks; 1 is the top", ...positionCaveat(data.signal_quality)),
      figure("add_to_cart_rate", "add-to-cart rate", data.add_to_cart_rate, percent(data.add_to_cart_rate), d, "of searches: then an add-to-cart, clicked or not"),
      figure("conversion_rate", "conversion rate", data.conversion_rate, percent(data.conversion_rate), d, "of searches: then a purchase, clicked or not"),
      figure("revenue", "revenue (Lucidworks)", data.revenue, money(data.revenue), d, "of purchase signals"),
      figure("purchases", "purchases", data.purchases, count(data.purchases), d, "purchase events, after a search or not"),
      figure("sessions", "sessions", data.sessions, count(data.sessions), d),
    ),
    el(
      "div",
      { class: "panels" },
      panel(`Events over time, by ${data.filters.bucket} (UTC)`, d.series, series(data, onBucket, plotWidth)),
      panel("Funnel of searches", d.funnel, funnel(data)),
      ...(data.signal_quality ? [panel("Signal quality", "Accepted signals that spoil the figures above: hover over each for its definition", signalQuality(data.signal_quality, d, onRule))] : []),
      panel("Clicks by position", d.clicks_by_position, positions(data)),
      panel(
        "Top queries",
        d.top_queries,
        queryList(data.top_queries, [["Query", (r) => r.query], ["Searches", (r) => count(r.searches), "num"], ["CTR", (r) => percent(r.ctr), "num", "of this query's searches: with a click"]], "top_queries"),
      ),
      panel("Queries without a click", d.no_click_queries, queryList(data.no_click_queries, [["Query", (r) => r.query], ["Searches", (r) => count(r.count), "num"]], "no_click_queries")),
      panel("Queries with no results", d.zero_result_queries, queryList(data.zero_result_queries, [["Query", (r) => r.query], ["Searches", (r) => count(r.count), "num"]], "zero_result_queries")),
    ),
  );
}
