// JSON as sent, for display: a small parser that keeps every number and string exactly as
// written (JSON.parse would round 12345678901234567890 and merge duplicate keys, and this page
// must show what the client sent), and a renderer that puts each validation error (or an
// accepted event's warning) on the line of the field it names. Everything is written with
// textContent: a value is never HTML.

/** Parse JSON text into nodes: {kind: "object", entries: [[key, node, rawKey]]}, {kind: "array",
 *  items: [node]} or {kind: "scalar", type: "string"|"number"|"literal", raw, value}.
 *  Throws SyntaxError on anything that is not one JSON value. */
export function parse(text) {
  let at = 0;
  const fail = (what) => {
    throw new SyntaxError(`${what} at character ${at}`);
  };
  const space = () => {
    while (at < text.length && " \t\n\r".includes(text[at])) at += 1;
  };
  const stringToken = () => {
    const start = at;
    at += 1;
    while (at < text.length && text[at] !== '"') at += text[at] === "\\" ? 2 : 1;
    if (at >= text.length) fail("unterminated string");
    at += 1;
    const raw = text.slice(start, at);
    return { kind: "scalar", type: "string", raw, value: JSON.parse(raw) };
  };
  const value = (depth) => {
    if (depth > 200) fail("nested too deeply to show");
    space();
    const c = text[at];
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      const node = c === "{" ? { kind: "object", entries: [] } : { kind: "array", items: [] };
      at += 1;
      space();
      if (text[at] === close) {
        at += 1;
        return node;
      }
      for (;;) {
        if (node.kind === "object") {
          space();
          if (text[at] !== '"') fail("expected a key");
          const key = stringToken();
          space();
          if (text[at] !== ":") fail("expected ':'");
          at += 1;
          node.entries.push([key.value, value(depth + 1), key.raw]);
        } else {
          node.items.push(value(depth + 1));
        }
        space();
        if (text[at] === ",") {
          at += 1;
        } else if (text[at] === close) {
          at += 1;
          return node;
        } else {
          fail(`expected ',' or '${close}'`);
        }
      }
    }
    if (c === '"') return stringToken();
    const match = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(at, at + 400));
    if (!match) fail("unexpected text");
    at += match[0].length;
    const raw = match[0];
    return { kind: "scalar", type: /^[-\d]/.test(raw) ? "number" : "literal", raw, value: raw };
  };
  const root = value(0);
  space();
  if (at !== text.length) fail("text after the JSON value");
  return root;
}

/** Nodes back to plain values (numbers as JS numbers: for metadata, never for display). */
export function plain(node) {
  if (node.kind === "object") return Object.fromEntries(node.entries.map(([k, v]) => [k, plain(v)]));
  if (node.kind === "array") return node.items.map(plain);
  if (node.type === "number") return Number(node.raw);
  if (node.type === "literal") return node.raw === "null" ? null : node.raw === "true";
  return node.value;
}

export function field(node, key) {
  const entry = node.kind === "object" ? node.entries.find(([k]) => k === key) : undefined;
  return entry ? entry[1] : undefined;
}

// The server's paths (validation/errors.py json_path): $, [0], .name, ['odd key'].
const IDENTIFIER = /^[\p{L}_][\p{L}\p{N}_]*$/u;
const childPath = (path, key) =>
  typeof key === "number" ? `${path}[${key}]` : IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${pyRepr(key)}]`;

function pyRepr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  const escaped = text.replace(/\\/g, "\\\\").replace(new RegExp(quote, "g"), `\\${quote}`);
  return `${quote}${escaped}${quote}`;
}

const PARENT = /(\.[^.[]+|\[[^\]]*\])$/;

/** Which shown path each error belongs beside: its own, or the nearest parent shown (a
 *  missing field's error sits on the object that lacks it). Returns Map(path -> [[error, rest]]). */
function placeErrors(errors, shown) {
  const placed = new Map();
  for (const error of errors) {
    let path = error.path;
    while (!shown.has(path) && PARENT.test(path)) path = path.replace(PARENT, "");
    if (!shown.has(path)) path = "$";
    const rest = error.path.startsWith(path) ? error.path.slice(path.length) : error.path;
    if (!placed.has(path)) placed.set(path, []);
    placed.get(path).push([error, rest]);
  }
  return placed;
}

function span(cls, text) {
  const el = document.createElement("span");
  el.className = cls;
  el.textContent = text;
  return el;
}

export function noteText(error, rest) {
  const where = rest ? `${rest.replace(/^\./, "")}: ` : "";
  return `${where}${error.message} [${error.layer ? `${error.layer}/` : ""}${error.rule}]`;
}

/** A <div class="json"> showing ``root`` pretty-printed, each error on its field's line. An error
 *  with ``kind: "warning"`` (an accepted event's warning: no layer) is drawn amber, not red. */
export function renderJSON(root, errors = []) {
  const shown = new Set();
  const collect = (node, path) => {
    shown.add(path);
    if (node.kind === "object") node.entries.forEach(([k, v]) => collect(v, childPath(path, k)));
    if (node.kind === "array") node.items.forEach((v, i) => collect(v, childPath(path, i)));
  };
  collect(root, "$");
  const placed = placeErrors(errors, shown);
  const box = document.createElement("div");
  box.className = "json";
  const line = (depth, parts, path) => {
    const el = document.createElement("div");
    el.className = "line";
    el.append("  ".repeat(depth), ...parts);
    if (path !== undefined) el.dataset.path = path;
    box.append(el);
    const notes = path === undefined ? undefined : placed.get(path);
    if (notes) {
      for (const [error, rest] of notes) {
        const warning = error.kind === "warning";
        el.classList.add(warning ? "has-warning" : "has-error");
        const note = document.createElement("div");
        note.className = warning ? "note warning" : "note";
        note.style.paddingLeft = `${10 + depth * 14}px`;
        note.textContent = noteText(error, rest);
        box.append(note);
      }
    }
  };
  const walk = (node, path, depth, label, comma) => {
    const tail = comma ? "," : "";
    if (node.kind === "scalar") {
      line(depth, [...label, span(node.type === "string" ? "str" : node.type === "number" ? "num" : "lit", node.raw), tail], path);
      return;
    }
    const children = node.kind === "object" ? node.entries : node.items.map((v, i) => [i, v, ""]);
    const [open, close] = node.kind === "object" ? ["{", "}"] : ["[", "]"];
    if (children.length === 0) {
      line(depth, [...label, open + close + tail], path);
      return;
    }
    line(depth, [...label, open], path);
    children.forEach(([key, child, rawKey], i) => {
      const childLabel = typeof key === "number" ? [] : [span("key", rawKey), ": "];
      walk(child, childPath(path, key), depth + 1, childLabel, i < children.length - 1);
    });
    line(depth, [close + tail]);
  };
  walk(root, "$", 0, [], false);
  return box;
}
