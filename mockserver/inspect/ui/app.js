// The mockserver dashboard: what reached the mock, live. It reads the inspection API only
// (docs/inspection-api.md); filtering and paging happen in the server. The view lives in the
// URL, so a link reproduces it and the back button works. Every recorded value is written
// with textContent, never as HTML.
import { renderAnalytics } from "./analytics.js";
import { field, noteText, parse, plain, renderJSON } from "./json.js";

const API = "/_mock";
const VIEWS = {
  events: {
    filters: ["vendor", "namespace", "tenant", "type", "text", "event_since", "event_until", "warned", "warning"],
    path: "/events",
    rows: "events",
  },
  rejections: {
    filters: ["vendor", "namespace", "tenant", "status", "text", "rule", "path"],
    path: "/rejections",
    rows: "rejections",
  },
  reasons: { filters: ["vendor", "namespace", "tenant", "status", "text"], path: "/rejections/reasons", rows: "reasons" },
  // Grouped by rule from the events list itself (one count per rule the summary names), so a
  // group's count is what opening it lists.
  warnings: { filters: ["vendor", "namespace", "tenant", "type", "text"], rows: "warnings" },
  analytics: { filters: ["vendor", "namespace", "tenant", "bucket"], path: "/analytics" },
  faults: { filters: ["vendor", "namespace", "fault"], path: "/attempts", rows: "attempts" },
  // Shadow mode: the rows hold everything the detail shows (there is no read by id).
  disagreements: { filters: ["vendor", "namespace", "tenant", "text"], path: "/disagreements", rows: "disagreements" },
};
const ANALYTICS_EVERY_MS = 5_000; // a live analytics view is counted again at most this often
const WARNINGS_EVERY_MS = 2_000; // and the Warnings view's groups (a request for each rule)
const ALL_FILTERS = [...new Set(Object.values(VIEWS).flatMap((view) => view.filters))];
const LIMITS = [25, 50, 100, 200];
const DEFAULT_LIMIT = 50;
const SUMMARY_EVERY_MS = 10_000; // counts come from the stream; the full summary now and then
const BIG_BODY = 200_000; // characters: larger bodies are shown as text, not as a tree
const TOKEN_KEY = "mockserver.adminToken";

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "class") node.className = value;
    else if (name === "style") Object.assign(node.style, value); // CSSOM: the CSP allows it
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
};

// ---- the view, read from and written to the URL ---------------------------------------------

function readState() {
  const q = new URLSearchParams(location.search);
  const view = VIEWS[q.get("view")] ? q.get("view") : "events";
  const state = { view, offset: 0, limit: DEFAULT_LIMIT, open: null };
  for (const name of ALL_FILTERS) state[name] = q.get(name) || "";
  state.warned = state.warned === "true" ? "true" : "";
  const offset = Number.parseInt(q.get("offset") || "0", 10);
  state.offset = Number.isFinite(offset) && offset > 0 ? offset : 0;
  const limit = Number.parseInt(q.get("limit") || "", 10);
  state.limit = LIMITS.includes(limit) ? limit : DEFAULT_LIMIT;
  state.open = /^[er]\d+$/.test(q.get("open") || "") ? q.get("open") : null;
  // Which time the events' first column shows: the event's own (its timestamp) or when the
  // mock received it. They differ for a backfill, a replay or a clock that is off.
  state.clock = q.get("time") === "received" ? "received" : "event";
  return state;
}

function urlFor(state) {
  const q = new URLSearchParams();
  if (state.view !== "events") q.set("view", state.view);
  for (const name of VIEWS[state.view].filters) if (state[name]) q.set(name, state[name]);
  if (state.offset) q.set("offset", String(state.offset));
  if (state.limit !== DEFAULT_LIMIT) q.set("limit", String(state.limit));
  if (state.open) q.set("open", state.open);
  if (state.view === "events" && state.clock === "received") q.set("time", "received");
  const query = q.toString();
  return query ? `?${query}` : location.pathname;
}

let state = readState();

const LISTING = ["view", "limit", ...ALL_FILTERS];

function navigate(changes, { replace = false } = {}) {
  const next = { ...state, ...changes };
  const refiltered = LISTING.some((k) => k in changes && changes[k] !== state[k]);
  if (refiltered && !("offset" in changes)) next.offset = 0; // a new filter starts at the newest
  const url = urlFor(next);
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  const reload = ["offset", "clock", ...LISTING].some((k) => next[k] !== state[k]);
  const restream = next.namespace !== state.namespace;
  state = next;
  showState();
  if (reload) load();
  if (restream) live.restart();
  showDetail();
}

window.addEventListener("popstate", () => {
  const before = state;
  state = readState();
  showState();
  load();
  if (state.namespace !== before.namespace) live.restart();
  showDetail();
});

// ---- the API, with the admin token when the server asks for one -----------------------------

let token = sessionStorage.getItem(TOKEN_KEY) || "";
let asking = null;

function askToken(refused) {
  if (!asking) {
    asking = new Promise((resolve) => {
      const dialog = $("token-dialog");
      $("token-error").hidden = !refused;
      dialog.querySelector("input").value = "";
      dialog.addEventListener(
        "close",
        () => {
          token = dialog.querySelector("input").value.trim();
          sessionStorage.setItem(TOKEN_KEY, token);
          asking = null;
          resolve();
        },
        { once: true },
      );
      dialog.showModal();
    });
  }
  return asking;
}

$("token-dialog").addEventListener("cancel", (e) => e.preventDefault()); // nothing loads without it

async function request(path, params = {}, init = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v !== null));
  const url = `${API}${path}${query.size ? `?${query}` : ""}`;
  for (;;) {
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    const response = await fetch(url, { ...init, headers: { ...headers, ...init.headers } });
    if (response.status !== 401) return response;
    await askToken(Boolean(token));
  }
}

async function getJSON(path, params) {
  const response = await request(path, params);
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      message = JSON.parse(text).error || text;
    } catch {
      // not JSON: the text as it came
    }
    throw new Error(`${response.status}: ${message}`);
  }
  return text;
}

// ---- filters ----------------------------------------------------------------------------

const form = $("filters");

function showState() {
  for (const tab of document.querySelectorAll(".tab")) {
    const view = tab.dataset.view;
    tab.setAttribute("href", urlFor({ ...state, view, offset: 0, open: null }));
    if (view === state.view) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  for (const label of form.querySelectorAll("label[data-for]")) {
    label.hidden = !label.dataset.for.split(" ").includes(state.view);
  }
  form.elements.warned.checked = state.warned === "true";
  for (const name of ["vendor", "namespace", "tenant", "type", "status", "text", "bucket", "fault"]) {
    const input = form.elements[name];
    if (input.tagName === "SELECT" && state[name] && !Array.from(input.options).some((o) => o.value === state[name])) {
      input.append(el("option", { value: state[name], text: state[name] }));
    }
    if (document.activeElement !== input) input.value = state[name];
  }
  const analytics = state.view === "analytics";
  document.querySelector(".listing").hidden = analytics;
  $("analytics").hidden = !analytics;
  const timed = state.view === "events" && (state.event_since || state.event_until);
  $("time-filter").hidden = !timed;
  $("time-filter-text").textContent = timed ? `event time ${state.event_since || "…"} to ${state.event_until || "…"}` : "";
  const reason = state.view === "rejections" && (state.rule || state.path);
  $("reason-filter").hidden = !reason;
  $("reason-filter-text").textContent = reason ? [state.path, state.rule].filter(Boolean).join(" ") : "";
  const warning = state.view === "events" && state.warning;
  $("warning-filter").hidden = !warning;
  $("warning-filter-text").textContent = warning ? `warning: ${state.warning}` : "";
  $("limit").value = String(state.limit);
  document.title = `mockserver · ${{ events: "accepted", rejections: "rejected", reasons: "rejection reasons", warnings: "warnings", analytics: "analytics", faults: "faults", disagreements: "disagreements" }[state.view]}`;
}

form.addEventListener("submit", (e) => e.preventDefault());
form.addEventListener("change", (e) => {
  if (e.target.type === "checkbox") navigate({ [e.target.name]: e.target.checked ? "true" : "" });
  else if (e.target.name) navigate({ [e.target.name]: e.target.value.trim() });
});
let typing = null;
form.elements.text.addEventListener("input", (e) => {
  clearTimeout(typing); // filter while typing, one history entry per pause
  typing = setTimeout(() => navigate({ text: e.target.value.trim() }, { replace: true }), 300);
});
$("reason-filter-clear").addEventListener("click", () => navigate({ rule: "", path: "" }));
$("warning-filter-clear").addEventListener("click", () => navigate({ warning: "" }));
$("time-filter-clear").addEventListener("click", () => navigate({ event_since: "", event_until: "" }));
$("limit").addEventListener("change", (e) => navigate({ limit: Number(e.target.value) }));
$("newer").addEventListener("click", () => navigate({ offset: Math.max(0, state.offset - state.limit) }));
$("older").addEventListener("click", () => navigate({ offset: state.offset + state.limit }));
for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", (e) => {
    e.preventDefault();
    navigate({ view: tab.dataset.view, open: null });
  });
}

// ---- the table ----------------------------------------------------------------------------

// Times are written in UTC with their date, as the API and the analytics view count them: an
// event of 3 December backfilled today must not read as today's.
const pad = (n, w = 2) => String(n).padStart(w, "0");
function utc(moment, millis) {
  if (Number.isNaN(moment.getTime())) return null;
  const date = `${moment.getUTCFullYear()}-${pad(moment.getUTCMonth() + 1)}-${pad(moment.getUTCDate())}`;
  const clock = `${pad(moment.getUTCHours())}:${pad(moment.getUTCMinutes())}:${pad(moment.getUTCSeconds())}`;
  return `${date} ${clock}${millis ? `.${pad(moment.getUTCMilliseconds(), 3)}` : ""}`;
}
// received_at: the API's ISO string, to the millisecond (the order requests arrived in).
const receivedTime = (iso) => utc(new Date(iso), true) ?? iso;
// timestamp_ms: the event's own time, normalised by the API (Lucidworks sends epoch
// milliseconds, Neuralens seconds); to the second in the table, whole elsewhere. Any int64
// passes validation, most of them beyond any date (the payload shows the number exactly).
const eventTime = (ms, millis = ms % 1000 !== 0) => (ms === null || ms === undefined ? "–" : (utc(new Date(ms), millis) ?? "out of range"));
const bothTimes = (r) => `event time ${eventTime(r.timestamp_ms)} UTC (its timestamp)\nreceived ${receivedTime(r.received_at)} UTC`;
const endpointName = (path) => (path.startsWith("/retail/signals/") || path === "/analytics/event" ? path.split("/").pop() : path);
const vendorCell = (vendor) => el("span", { class: `vendor-${vendor}`, text: vendor || "–" });
const shortReason = (errors) => {
  if (!errors.length) return "rejected";
  const first = errors[0];
  const words = `${first.path.replace(/^\$\.?/, "") || "$"} ${first.rule}`;
  return errors.length > 1 ? `${words} (+${errors.length - 1} more)` : words;
};

// An event's warnings: accepted (the vendor would take it too), but it will spoil the search
// analytics. A warned row carries an amber mark, its count of warnings, named for a screen reader.
const warningsOf = (r) => r.warnings ?? []; // events stored before warnings existed have none
const plural = (n, one) => `${n} ${one}${n === 1 ? "" : "s"}`;
function warnMark(r) {
  const warnings = warningsOf(r);
  if (!warnings.length) return "";
  const rules = [...new Set(warnings.map((w) => w.rule))].join(", ");
  return el("span", { class: "warn-mark", role: "img", "aria-label": `${plural(warnings.length, "warning")}: ${rules}`, text: String(warnings.length) });
}
const warnTitle = (r) => {
  const warnings = warningsOf(r);
  if (!warnings.length) return "";
  return `Accepted with ${plural(warnings.length, "warning")} (it will spoil your analytics):${warnings.map((w) => `\n${w.path}: ${w.message} [${w.rule}]`).join("")}`;
};

const RECEIVED = ["Received (UTC)", "190px", (r) => receivedTime(r.received_at), "time", (r) => r.received_at];
const CLOCKS = {
  event: ["Event time (UTC)", "160px", (r) => eventTime(r.timestamp_ms, false), "time", bothTimes],
  received: [...RECEIVED.slice(0, 4), bothTimes],
};

// [title, width, cell, class, title text]; "opt" columns give way to the detail panel, which
// shows the same fields. The events' first column is CLOCKS[state.clock].
const COLUMNS = {
  events: [
    CLOCKS.event,
    ["Warnings", "34px", warnMark, "mark", warnTitle],
    ["Vendor", "88px", (r) => vendorCell(r.vendor)],
    ["Endpoint", "80px", (r) => endpointName(r.endpoint), "opt"],
    ["Namespace", "100px", (r) => r.namespace, "opt"],
    ["Tenant", "110px", (r) => r.tenant ?? "", "opt"],
    ["Type", "150px", (r) => r.type],
    ["User", "130px", (r) => r.user ?? ""],
    ["Query", "", (r) => r.query ?? ""],
    ["Products", "150px", (r) => r.items.join(", ")],
    ["Pos.", "46px", (r) => (r.position ?? "") + "", "num opt"],
  ],
  rejections: [
    RECEIVED,
    ["Vendor", "88px", (r) => vendorCell(r.vendor)],
    ["Endpoint", "110px", (r) => endpointName(r.endpoint)],
    ["Namespace", "100px", (r) => r.namespace, "opt"],
    ["Tenant", "110px", (r) => r.tenant ?? "", "opt"],
    ["Status", "60px", (r) => el("span", { class: "status", text: String(r.status) })],
    ["Reason", "", (r) => shortReason(r.errors), "mono"],
  ],
  faults: [
    RECEIVED,
    ["Vendor", "88px", (r) => vendorCell(r.vendor)],
    ["Endpoint", "90px", (r) => endpointName(r.endpoint)],
    ["Namespace", "100px", (r) => r.namespace],
    ["Rule", "60px", (r) => `#${r.rule_id}`, "num"],
    ["Fault", "110px", (r) => r.fault, "mono"],
    ["Client got", "", (r) => (r.status === null ? "no reply" : String(r.status))],
    ["Stored", "80px", (r) => (r.stored ? "yes" : "no")],
  ],
  disagreements: [
    RECEIVED,
    ["Vendor", "88px", (r) => vendorCell(r.vendor)],
    ["Endpoint", "90px", (r) => endpointName(r.endpoint)],
    ["Namespace", "100px", (r) => r.namespace, "opt"],
    ["Mock", "60px", (r) => el("span", { class: "status", text: String(r.mock_status) }), "", (r) => `the mock (${r.profile}) answered ${r.mock_status}`],
    ["Upstream", "80px", (r) => String(r.upstream_status), "", (r) => `${r.upstream_url} answered ${r.upstream_status}`],
    ["The mock's reason", "", (r) => (r.mock_errors.length ? shortReason(r.mock_errors) : "accepted"), "mono"],
  ],
  reasons: [
    ["Count", "70px", (r) => `${r.count} ×`, "num"],
    ["Path", "", (r) => r.path, "mono"],
    ["Rule", "130px", (r) => r.rule, "mono"],
    ["Layer", "90px", (r) => r.layer],
    ["Example", "", (r) => r.message],
  ],
  warnings: [
    ["Count", "70px", (r) => `${r.count} ×`, "num", (r) => `${plural(r.count, "event")} with this warning`],
    ["Rule", "210px", (r) => r.rule, "mono"],
    ["Path", "200px", (r) => r.path, "mono", (r) => `${r.path}: an example; the path differs from event to event`],
    ["Example", "", (r) => r.message],
  ],
};

const KEY_PREFIX = { events: "e", rejections: "r", disagreements: "d" };
const rowKey = (view, row) => (KEY_PREFIX[view] ? `${KEY_PREFIX[view]}${row.id}` : null);
let shown = { view: null, topId: 0, rows: [] };
let loading = 0;

let analyticsAt = 0;
let warningsAt = 0;

// The Warnings view: the summary names the rules that fired; each rule's group is then counted
// from the events list with the view's filters (limit 1: its newest event gives the example), so
// a count is what opening the group lists.
async function loadWarningGroups(mine, quiet) {
  warningsAt = Date.now();
  if (!quiet) notice("Counting…");
  const params = Object.fromEntries(VIEWS.warnings.filters.map((name) => [name, state[name]]));
  let groups;
  try {
    const summary = plain(parse(await getJSON("/summary", { namespace: state.namespace })));
    const rules = Object.entries(summary.warnings ?? {}).filter(([, n]) => n > 0).map(([rule]) => rule);
    groups = await Promise.all(
      rules.map(async (rule) => {
        const page = plain(parse(await getJSON("/events", { ...params, warning: rule, limit: 1 })));
        const example = warningsOf(page.events[0] ?? {}).find((w) => w.rule === rule) ?? {};
        return { rule, count: page.total, path: example.path ?? "", message: example.message ?? "" };
      }),
    );
  } catch (error) {
    if (mine === loading) notice(`Could not load: ${error.message}`, true);
    return;
  }
  if (mine !== loading) return;
  groups = groups.filter((g) => g.count > 0).sort((a, b) => b.count - a.count || a.rule.localeCompare(b.rule));
  pending = 0;
  notice("Accepted, as the vendor would, but these events will spoil your search analytics. Click a rule to list its events.");
  drawTable("warnings", groups, groups.length, quiet);
}

async function loadAnalytics(mine, quiet) {
  analyticsAt = Date.now();
  if (!quiet) notice("Counting…"); // a large store takes seconds
  const params = Object.fromEntries(VIEWS.analytics.filters.map((name) => [name, state[name]]));
  let data;
  try {
    data = plain(parse(await getJSON("/analytics", params)));
  } catch (error) {
    if (mine === loading) notice(`Could not load: ${error.message}`, true);
    return;
  }
  if (mine !== loading) return;
  notice("Figures over every stored event's own time; hover over a title for its definition. Click a bar to list its events.");
  renderAnalytics($("analytics"), data, (startMs) => {
    const step = data.filters.bucket === "hour" ? 3_600_000 : 86_400_000;
    const iso = (ms) => new Date(ms).toISOString();
    navigate({ view: "events", event_since: iso(startMs), event_until: iso(startMs + step), open: null });
  }, (rule) => navigate({ view: "events", warning: rule, warned: "", open: null }));
}

async function load({ quiet = false } = {}) {
  const mine = ++loading;
  const view = state.view;
  if (view === "analytics") {
    await loadAnalytics(mine, quiet);
    return;
  }
  if (view === "warnings") {
    await loadWarningGroups(mine, quiet);
    return;
  }
  const params = Object.fromEntries(VIEWS[view].filters.map((name) => [name, state[name]]));
  params.limit = state.limit;
  if (view !== "reasons") params.offset = state.offset;
  let body;
  try {
    body = plain(parse(await getJSON(VIEWS[view].path, params)));
  } catch (error) {
    if (mine === loading) notice(`Could not load: ${error.message}`, true);
    return;
  }
  if (mine !== loading) return; // a newer load is on its way
  pending = 0;
  notice(view === "faults" ? await rulesInForce() : "");
  if (view === "disagreements" && !VIEWS[view].filters.some((name) => name !== "namespace" && state[name])) {
    counts.disagreements = body.total; // the tab's count, as fresh as the list
    showCounts();
  }
  drawTable(view, body[VIEWS[view].rows], body.total, quiet);
}

const columnsOf = (view) => (view === "events" ? [CLOCKS[state.clock], ...COLUMNS.events.slice(1)] : COLUMNS[view]);

// The events' time heading is a switch between the two clocks.
function clockSwitch(title) {
  const other = state.clock === "event" ? "received" : "event";
  const button = el("button", {
    type: "button",
    id: "clock",
    class: "clock",
    title: other === "received" ? "Show when the mock received each event instead" : "Show each event's own time (its timestamp) instead",
    text: `${title} ⇄`,
  });
  button.addEventListener("click", () => navigate({ clock: other }, { replace: true }));
  return button;
}

let shownHead = "";

function drawTable(view, rows, total, quiet) {
  const columns = columnsOf(view);
  const wrap = document.querySelector(".table-wrap");
  if (shownHead !== `${view} ${state.clock}`) {
    shownHead = `${view} ${state.clock}`;
    const optional = (cls) => (cls?.includes("opt") ? { class: "opt" } : {});
    $("cols").replaceChildren(...columns.map(([, width, , cls]) => el("col", { ...optional(cls), ...(width ? { style: { width } } : {}) })));
    const heading = (title, cls, i) => {
      if (view === "events" && i === 0) return clockSwitch(title);
      if (cls === "mark") {
        const shown = el("span", { class: "warn-head", title: "Warnings: accepted, but it will spoil your analytics", "aria-hidden": "true", text: "!" });
        return el("span", {}, shown, el("span", { class: "sr-only", text: title }));
      }
      return title;
    };
    $("head").replaceChildren(...columns.map(([title, , , cls], i) => el("th", { scope: "col", ...optional(cls) }, heading(title, cls, i))));
  }
  const focusedKey = document.activeElement?.closest?.("#rows tr")?.dataset.key;
  const known = shown.view === view ? shown.topId : Infinity;
  const fresh = rows.filter((r) => quiet && r.id > known).length;
  const body = $("rows");
  body.replaceChildren(
    ...rows.map((row, index) => {
      const key = rowKey(view, row) ?? `g${index}`;
      const tr = el("tr", { "data-key": key, tabindex: "-1" });
      if (quiet && row.id > known) tr.classList.add("fresh");
      if (view === "events" && warningsOf(row).length) tr.classList.add("warned");
      if (key === state.open) tr.setAttribute("aria-selected", "true");
      for (const [, , cell, cls, title] of columns) {
        const value = cell(row);
        const td = el("td", cls ? { class: cls } : {}, value);
        td.title = title ? title(row) : typeof value === "string" ? value : value.textContent;
        tr.append(td);
      }
      tr.addEventListener("click", () => activate(view, row));
      return tr;
    }),
  );
  // One row of the table is reachable with Tab; the arrows move between rows.
  const focusable = body.querySelector(`tr[data-key="${CSS.escape(focusedKey || state.open || "")}"]`) || body.firstElementChild;
  if (focusable) focusable.tabIndex = 0;
  if (focusedKey && focusable) focusable.focus({ preventScroll: true });
  // Rows that arrive above keep the rows being read where they are.
  if (fresh && wrap.scrollTop > 0) wrap.scrollTop += fresh * body.firstElementChild.offsetHeight;
  shown = { view, topId: rows.length ? Math.max(...rows.map((r) => r.id ?? 0)) : shown.view === view ? shown.topId : 0, rows };
  const empty = $("empty");
  empty.hidden = rows.length > 0;
  empty.textContent = emptyText(view);
  if (view === "reasons" || view === "warnings") {
    $("range").textContent = `${plural(rows.length, view === "reasons" ? "reason" : "rule")}, most frequent first`;
  } else {
    const first = rows.length ? state.offset + 1 : 0;
    $("range").textContent = `${first.toLocaleString()}–${(state.offset + rows.length).toLocaleString()} of ${total.toLocaleString()}`;
  }
  const grouped = view === "reasons" || view === "warnings";
  $("newer").disabled = grouped || state.offset === 0;
  $("older").disabled = grouped || state.offset + rows.length >= total;
}

async function rulesInForce() {
  let rules;
  try {
    rules = plain(parse(await getJSON("/faults", { namespace: state.namespace }))).rules;
  } catch (error) {
    return `Could not read the rules: ${error.message}`;
  }
  if (!rules.length) return "No fault rules in force.";
  const described = rules.map((r) => {
    const where = [r.vendor, r.endpoint].filter(Boolean).join(".") + (r.namespace ? `@${r.namespace}` : "");
    const own = Object.entries(r)
      .filter(([k]) => !["id", "fault", "vendor", "endpoint", "namespace", "hits"].includes(k))
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    return `#${r.id} ${where ? `${where}:` : ""}${r.fault}${own ? `,${own}` : ""} (${r.hits} hits)`;
  });
  return `Rules in force: ${described.join(" · ")}`;
}

function emptyText(view) {
  const filtered = VIEWS[view].filters.some((name) => state[name]);
  if (filtered) return "Nothing matches these filters.";
  if (view === "events") return "No events yet. Send one to this server (the README has examples); it shows here within a second.";
  if (view === "warnings") return "No warnings: every accepted signal so far is fit for your analytics.";
  if (view === "faults") return "No request has met a fault. Set rules with PUT /_mock/faults or --fault (README: Testing your retry logic).";
  if (view === "disagreements") return "No disagreements. With --upstream VENDOR=URL each request is also sent to the real service, and every request the two judge otherwise is listed here (docs/shadow-mode.md).";
  return "No rejections: every request so far was accepted.";
}

function activate(view, row) {
  if (view === "faults") return; // an attempt is all in its row
  if (view === "reasons") {
    navigate({ view: "rejections", rule: row.rule, path: row.path, open: null });
  } else if (view === "warnings") {
    navigate({ view: "events", warning: row.rule, warned: "", open: null });
  } else {
    navigate({ open: rowKey(view, row) }, { replace: Boolean(state.open) });
  }
}

$("rows").addEventListener("keydown", (e) => {
  const row = e.target.closest("tr");
  if (!row) return;
  const target = {
    ArrowDown: row.nextElementSibling,
    ArrowUp: row.previousElementSibling,
    Home: row.parentElement.firstElementChild,
    End: row.parentElement.lastElementChild,
  }[e.key];
  if (target) {
    e.preventDefault();
    row.tabIndex = -1;
    target.tabIndex = 0;
    target.focus();
  } else if (e.key === "Enter" || e.key === " ") {
    e.preventDefault();
    row.click();
  }
});

document.addEventListener("keydown", (e) => {
  if (e.target.closest("input, select, textarea, dialog")) return;
  if (e.key === "Escape" && state.open) navigate({ open: null });
  else if (e.key === "/") {
    e.preventDefault();
    form.elements.text.focus();
  } else if (e.key === "p" || e.key === "P") live.togglePause();
  else if (e.key === "ArrowRight" && !$("older").disabled) $("older").click();
  else if (e.key === "ArrowLeft" && !$("newer").disabled) $("newer").click();
});

const HINT = "Newest first, as received. Click a row, or use ↑ ↓ and Enter, to see it whole; / to search, P to pause.";

function notice(text, bad = false, action = null) {
  const box = $("notice");
  box.classList.toggle("bad", bad);
  box.replaceChildren(text || HINT);
  if (action) box.append(action);
}

// ---- the detail panel -------------------------------------------------------------------

let detailFor = null;

async function showDetail() {
  const key = state.open;
  const panel = $("detail");
  for (const tr of $("rows").children) {
    if (tr.dataset.key === key) tr.setAttribute("aria-selected", "true");
    else tr.removeAttribute("aria-selected");
  }
  document.body.classList.toggle("detail-open", Boolean(key));
  if (!key) {
    panel.hidden = true;
    detailFor = null;
    return;
  }
  if (detailFor === key) return;
  detailFor = key;
  panel.hidden = false;
  if (key.startsWith("d")) {
    const row = shown.rows.find((r) => `d${r.id}` === key);
    $("detail-body").replaceChildren(...(row ? disagreementDetail(row) : [el("p", { text: "Not on this page any more." })]));
    return;
  }
  const isEvent = key.startsWith("e");
  $("detail-title").textContent = isEvent ? `Event ${key.slice(1)}` : `Rejection ${key.slice(1)}`;
  const bodyBox = $("detail-body");
  bodyBox.replaceChildren(el("p", { text: "Loading…" }));
  let node;
  try {
    node = parse(await getJSON(`${isEvent ? "/events" : "/rejections"}/${key.slice(1)}`));
  } catch (error) {
    if (detailFor === key) bodyBox.replaceChildren(el("p", { class: "error", text: `Could not load it: ${error.message}` }));
    return;
  }
  if (detailFor !== key) return;
  bodyBox.replaceChildren(...(isEvent ? eventDetail(node) : rejectionDetail(node)));
  bodyBox.scrollTop = 0;
  const firstNote = bodyBox.querySelector(".json .has-error, .json .has-warning");
  if (firstNote && firstNote.getBoundingClientRect().bottom > bodyBox.getBoundingClientRect().bottom) {
    firstNote.scrollIntoView({ block: "center" }); // the field at fault, out of sight below
  }
}

function fields(pairs) {
  const dl = el("dl", { class: "fields" });
  for (const [name, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    dl.append(el("dt", { text: name }), el("dd", { text: String(value) }));
  }
  return dl;
}

function warningList(warnings) {
  const list = el("ul", { class: "reasons warnings" });
  for (const w of warnings) {
    list.append(el("li", { "data-rule": w.rule }, el("span", { class: "where", text: w.path }), el("span", { class: "rule", text: w.rule }), el("div", { text: w.message })));
  }
  return list;
}

function eventDetail(node) {
  const row = plain(node);
  const endpoint = endpointName(row.endpoint);
  const payload = field(node, "payload");
  const warnings = warningsOf(row);
  // A warning's path points into the event's payload (a Lucidworks signal: its element of the
  // array sent), so it sits beside its field as a rejection's reason does in the body.
  const onPayload = warnings.map((w) => ({ ...w, kind: "warning" }));
  $("detail-title").textContent = row.type === endpoint ? `${row.vendor} ${endpoint}` : `${row.vendor} ${endpoint} · ${row.type}`;
  return [
    fields([
      ["Event time", row.timestamp_ms === null ? null : `${eventTime(row.timestamp_ms)} UTC (its timestamp)`],
      ["Received", `${receivedTime(row.received_at)} UTC`],
      ["Namespace", row.namespace],
      ["Tenant", row.tenant],
      ["User", row.user],
      ["Session", row.session],
      ["Query", row.query],
      ["Query id", row.query_id],
      ["Products", row.items.join(", ")],
      ["Position", row.position],
      ["Request", row.request_id],
    ]),
    ...(warnings.length
      ? [
          el("h3", { class: "warn-heading", text: `Accepted with ${plural(warnings.length, "warning")}: it will spoil your analytics` }),
          warningList(warnings),
        ]
      : []),
    el("h3", { text: warnings.length ? "Payload, with each warning beside its field" : "Payload" }),
    renderJSON(payload, onPayload),
    el("h3", { text: "Headers" }),
    headersTable(row.headers, []),
  ];
}

function rejectionDetail(node) {
  const row = plain(node);
  $("detail-title").textContent = `${row.status} · ${row.vendor || "no vendor"} ${endpointName(row.endpoint)}`;
  const reasons = el("ul", { class: "reasons" });
  for (const error of row.errors) {
    reasons.append(
      el("li", {}, el("span", { class: "where", text: error.path }), el("span", { class: "rule", text: `${error.layer}/${error.rule}` }), el("div", { text: error.message })),
    );
  }
  const bodyErrors = row.errors.filter((e) => e.path.startsWith("$"));
  const headerErrors = row.errors.filter((e) => e.path.startsWith("header:"));
  return [
    fields([
      ["Received", row.received_at],
      ["Request", `${row.method} ${row.endpoint}`],
      ["Namespace", row.namespace],
      ["Tenant", row.tenant],
      ["Request id", row.request_id],
    ]),
    el("h3", { text: row.errors.length === 1 ? "Why it was refused" : `Why it was refused (${row.errors.length} reasons)` }),
    reasons,
    el("h3", { text: "Body, with each reason beside its field" }),
    bodyView(row.body, bodyErrors),
    el("h3", { text: "Headers" }),
    headersTable(row.headers, headerErrors),
  ];
}

function disagreementDetail(row) {
  $("detail-title").textContent = `Mock ${row.mock_status} · upstream ${row.upstream_status} · ${row.vendor} ${endpointName(row.endpoint)}`;
  const reasons = el("ul", { class: "reasons" });
  for (const error of row.mock_errors) {
    reasons.append(
      el("li", {}, el("span", { class: "where", text: error.path }), el("span", { class: "rule", text: `${error.layer}/${error.rule}` }), el("div", { text: error.message })),
    );
  }
  const refused = row.mock_errors.length > 0;
  return [
    fields([
      ["Received", row.received_at],
      ["Namespace", row.namespace],
      ["Tenant", row.tenant],
      ["Mock profile", row.profile],
      ["Mode", row.mode],
      ["Forwarded to", row.upstream_url],
      ["Upstream latency", row.upstream_ms === null ? null : `${row.upstream_ms} ms`],
      ["Request id", row.request_id],
    ]),
    el("h3", { text: refused ? `The mock refused it (${row.mock_status}); the real service accepted it (${row.upstream_status})` : `The mock accepted it (${row.mock_status}); the real service refused it (${row.upstream_status})` }),
    ...(refused ? [reasons] : []),
    el("h3", { text: refused ? "Body, with the mock's reasons beside its fields" : "Body" }),
    bodyView(row.body, row.mock_errors.filter((e) => e.path.startsWith("$"))),
    el("h3", { text: "The real service's reply" }),
    el("pre", { class: "upstream-reply", text: row.upstream_body || "(an empty body)" }),
  ];
}

function bodyView(text, errors) {
  if (text === null || text === "") return el("p", { class: "empty", text: text === null ? "No body was read." : "The body was empty." });
  if (text.length <= BIG_BODY) {
    try {
      return renderJSON(parse(text), errors);
    } catch {
      // not JSON (that may be why it was refused): shown as text below
    }
  }
  const shownText = text.length > BIG_BODY ? `${text.slice(0, BIG_BODY)}\n… (${text.length.toLocaleString()} characters in all)` : text;
  const box = el("div", { class: "json" }, el("div", { class: "line raw", text: shownText }));
  for (const error of errors) box.append(el("div", { class: "note", text: noteText(error, error.path === "$" ? "" : error.path) }));
  return box;
}

function headersTable(headers, errors) {
  if (!headers) return el("p", { class: "empty", text: "Not kept for events stored by an older mockserver." });
  const table = el("table", { class: "headers" });
  const byName = new Map();
  for (const error of errors) {
    const name = error.path.slice("header:".length).toLowerCase();
    byName.set(name, [...(byName.get(name) || []), error]);
  }
  const names = new Set([...Object.keys(headers), ...byName.keys()]);
  for (const name of names) {
    const value = name in headers ? headers[name] : "(not sent)";
    const tr = el("tr", {}, el("td", { text: name }), el("td", { text: value }));
    const notes = byName.get(name);
    if (notes) {
      tr.classList.add("has-error");
      for (const error of notes) tr.lastElementChild.append(el("div", { class: "note", text: noteText(error, "") }));
    }
    table.append(tr);
  }
  return table;
}

$("detail-close").addEventListener("click", () => navigate({ open: null }));

// ---- counts and the filter choices, from the summary ----------------------------------------

let counts = { events: 0, rejections: 0, warned: null, disagreements: null };
let summaryAt = 0;
let summaryBusy = false;

async function loadSummary() {
  if (summaryBusy) return;
  summaryBusy = true;
  summaryAt = Date.now();
  try {
    const summary = plain(parse(await getJSON("/summary", { namespace: state.namespace })));
    counts = { ...counts, events: summary.events.total, rejections: summary.rejections.total };
    counts.disagreements = summary.upstream?.total ? summary.disagreements : null; // shadow mode only
    showCounts();
    if (summary.warnings) loadWarnedCount(); // a server that checks for warnings
    fillChoices(form.elements.type, Object.keys(summary.events.by_type));
    fillChoices(form.elements.status, Object.keys(summary.rejections.by_status));
    const namespaces = new Set([...Object.keys(summary.events.by_namespace), ...Object.keys(summary.rejections.by_namespace)]);
    $("namespaces").replaceChildren(...[...namespaces].sort().map((n) => el("option", { value: n })));
    $("tenants").replaceChildren(...Object.keys(summary.events.by_tenant).sort().map((t) => el("option", { value: t })));
  } catch {
    // the table's load says what went wrong
  } finally {
    summaryBusy = false;
  }
}

// The Warnings tab counts events with any warning. A warning may come or go without a new event
// (an unknown query is one until its query signal arrives), so it is read with the summary.
async function loadWarnedCount() {
  try {
    counts.warned = plain(parse(await getJSON("/events", { namespace: state.namespace, warned: "true", limit: 1 }))).total;
  } catch {
    counts.warned = null; // a server without warnings: no count
  }
  showCounts();
}

function fillChoices(select, values) {
  const current = select.value;
  const wanted = [...new Set([...values, ...(current ? [current] : [])])].sort();
  const have = Array.from(select.options).slice(1).map((o) => o.value);
  if (wanted.join("\n") === have.join("\n")) return;
  select.replaceChildren(select.options[0], ...wanted.map((v) => el("option", { value: v, text: v })));
  select.value = current;
}

function showCounts() {
  $("count-events").textContent = counts.events.toLocaleString();
  $("count-rejections").textContent = counts.rejections.toLocaleString();
  const warned = $("count-warnings");
  warned.textContent = counts.warned === null ? "–" : counts.warned.toLocaleString();
  warned.classList.toggle("some", Boolean(counts.warned));
  warned.title = counts.warned === null ? "" : `${plural(counts.warned, "event")} with a warning`;
  const disagreed = $("count-disagreements");
  disagreed.textContent = counts.disagreements === null ? "–" : counts.disagreements.toLocaleString();
  disagreed.classList.toggle("some", Boolean(counts.disagreements));
}

// ---- live: Server-Sent Events from /_mock/stream --------------------------------------------
// Read with fetch rather than EventSource, which cannot send the admin token. The server says
// what changed (counts); the table is then read again from the JSON endpoints.

const live = (() => {
  let paused = false;
  let controller = null;
  let refreshQueued = false;

  function show(kind, text) {
    const box = $("live-state");
    box.className = `live-state ${kind}`;
    box.textContent = text;
  }

  function onChange(change) {
    if (change.reset) {
      loadSummary();
    } else {
      counts.events += change.events;
      counts.rejections += change.rejections;
      showCounts();
      if (Date.now() - summaryAt > SUMMARY_EVERY_MS) loadSummary();
    }
    if (state.view === "analytics" || state.view === "warnings") {
      if (!paused && (change.events || change.reset)) refreshCounted();
      return;
    }
    if (state.view === "disagreements") {
      // a disagreement follows its request's own record: read them again after any request
      if (!paused && (change.events || change.rejections || change.reset)) refreshCounted();
      return;
    }
    const counted = { events: change.events, faults: change.attempts ?? 0 }[state.view] ?? change.rejections;
    const relevant = change.reset || counted;
    if (!relevant) return;
    if (paused) {
      pending += counted;
      show("off", `paused · ${pending.toLocaleString()} new`);
    } else if (state.offset > 0 && !change.reset) {
      pending += counted;
      const newest = el("button", { type: "button", text: "Show newest" });
      newest.addEventListener("click", () => navigate({ offset: 0 }));
      notice(`${pending.toLocaleString()} newer since this page loaded.`, false, newest);
    } else if (!refreshQueued) {
      refreshQueued = true; // one reload at a time: changes that come meanwhile join it
      queueMicrotask(async () => {
        await load({ quiet: true });
        refreshQueued = false;
      });
    }
  }

  let countedTimer = null;
  let counting = false; // a count in flight: changes meanwhile ask for one more after it
  let countAgain = false;
  let countedDone = 0;
  function refreshCounted() {
    // Counting is heavier than listing: analytics at most once every ANALYTICS_EVERY_MS, the
    // warnings' groups every WARNINGS_EVERY_MS, one at a time, and as long again after a count
    // ends (a large store takes seconds to count: the page must not keep it counting).
    if (counting) {
      countAgain = true;
      return;
    }
    if (countedTimer) return;
    const [at, every] = state.view === "analytics" ? [analyticsAt, ANALYTICS_EVERY_MS] : [warningsAt, WARNINGS_EVERY_MS];
    countedTimer = setTimeout(async () => {
      countedTimer = null;
      counting = true;
      try {
        await load({ quiet: true });
      } finally {
        counting = false;
        countedDone = Date.now();
      }
      if (countAgain) {
        countAgain = false;
        refreshCounted();
      }
    }, Math.max(0, at + every - Date.now(), countedDone + every - Date.now()));
  }

  async function run(signal) {
    let first = true;
    while (!signal.aborted) {
      try {
        const response = await request("/stream", { namespace: state.namespace }, { signal });
        if (!response.ok) throw new Error(`stream: ${response.status}`);
        if (!first) {
          load({ quiet: true }); // what arrived while we were away
          loadSummary();
        }
        first = false;
        show(paused ? "off" : "on", paused ? "paused" : "live");
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const message = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = message.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
            if (/^event: ?change$/m.test(message) && data) onChange(JSON.parse(data));
          }
        }
      } catch {
        if (signal.aborted) return;
      }
      first = false;
      show("down", "reconnecting…");
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  return {
    restart() {
      controller?.abort();
      controller = new AbortController();
      run(controller.signal);
    },
    togglePause() {
      paused = !paused;
      const button = $("pause");
      button.setAttribute("aria-pressed", String(paused));
      button.textContent = paused ? "Resume" : "Pause";
      if (paused) {
        show("off", "paused");
      } else {
        show("on", "live");
        if (pending) load({ quiet: true });
      }
    },
  };
})();
let pending = 0; // rows that arrived and are not shown (paused, or on an older page)

$("pause").addEventListener("click", () => live.togglePause());

// ---- reset ----------------------------------------------------------------------------------

$("reset").addEventListener("click", () => {
  const dialog = $("reset-dialog");
  const one = Boolean(state.namespace);
  $("reset-one-label").hidden = !one;
  $("reset-namespace").textContent = state.namespace;
  dialog.querySelector(`input[value="${one ? "one" : "all"}"]`).checked = true;
  dialog.returnValue = "";
  dialog.showModal();
});

$("reset-dialog").addEventListener("close", async () => {
  const dialog = $("reset-dialog");
  if (dialog.returnValue !== "reset") return;
  const scope = dialog.querySelector("input[name=scope]:checked").value;
  const params = scope === "one" ? { namespace: state.namespace } : {};
  const response = await request("/reset", params, { method: "POST" });
  if (!response.ok) {
    notice(`Reset failed: ${response.status} ${await response.text()}`, true);
    return;
  }
  navigate({ open: null, offset: 0 }, { replace: true });
  load();
  loadSummary();
});

// ---- start -----------------------------------------------------------------------------------

showState();
load();
loadSummary();
showDetail();
live.restart();
