// Small helpers that build the pages' elements (no HTML strings, no inline styles: the console's
// Content-Security-Policy allows neither).
import { count, time } from "./format.js";
import { t } from "./i18n.js";

// el("td", {class: "num", title: "..."}, "text", otherNode, ...)
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// A page's title, its lede and the seq line.
export function heading(titleKey, lede) {
  return el("header", { class: "page-head" }, el("h2", {}, t(titleKey)), lede ? el("p", { class: "lede" }, lede) : null);
}

// A section with a title.
export function section(title, ...children) {
  return el("section", { class: "panel" }, el("h3", {}, title), ...children);
}

// A figure tile: label and value; `figure` names it for the browser test (data-figure).
export function tile(label, value, figure) {
  return el(
    "div",
    { class: "tile" },
    el("div", { class: "tile-label" }, label),
    el("div", { class: "tile-value", dataset: figure ? { figure } : {} }, value),
  );
}

// A table: columns are {label, cell(row) -> text or Node, num (aligned as numbers), key (data-col)}.
// `footer` is an optional row of cells (a total).
export function table(columns, rows, { rowData, footer, caption } = {}) {
  const head = el("thead", {}, el("tr", {}, columns.map((c) => el("th", { class: c.num ? "num" : null, scope: "col" }, c.label))));
  const body = el(
    "tbody",
    {},
    rows.map((row) =>
      el(
        "tr",
        { dataset: rowData ? rowData(row) : {} },
        columns.map((c) => el("td", { class: c.num ? "num" : null, dataset: c.key ? { col: c.key } : {} }, c.cell(row))),
      ),
    ),
  );
  const foot = footer
    ? el("tfoot", {}, el("tr", {}, footer.map((cell, i) => el("td", { class: columns[i] && columns[i].num ? "num" : null }, cell))))
    : null;
  return el("div", { class: "table-wrap" }, el("table", {}, caption ? el("caption", {}, caption) : null, head, body, foot));
}

// A badge (a flag): kind is a CSS modifier.
export function badge(text, kind) {
  return el("span", { class: "badge badge-" + kind }, text);
}

// A line of text in a muted style (notes, the seq a figure reflects).
export function note(text, attrs = {}) {
  return el("p", { class: "note", ...attrs }, text);
}

// A <select> of [value, label] options.
export function select(id, label, options, value) {
  const box = el(
    "select",
    { id },
    options.map(([v, text]) => el("option", { value: v, selected: String(v) === String(value) }, text)),
  );
  return { node: el("label", { class: "field" }, el("span", {}, label), box), box };
}

// A string of strings.js whose {name} parts may be elements: phrase("common.as_of", {seq: span}).
export function phrase(key, vars) {
  const parts = t(key).split(/(\{\w+\})/);
  return el(
    "span",
    {},
    parts.map((part) => {
      const m = /^\{(\w+)\}$/.exec(part);
      return m && m[1] in vars ? vars[m[1]] : part;
    }),
  );
}

// "Figures as of event N[, recorded T]": the seq an answer reflects (data-figure="<name>.seq").
export function asOf(name, seq, timeUs) {
  const seqNode = el("span", { class: "seq", dataset: { figure: name + ".seq" } }, count(seq));
  if (!timeUs) return note(phrase("common.as_of", { seq: seqNode }), { class: "note as-of" });
  return note(phrase("common.as_of_time", { seq: seqNode, time: time(timeUs) }), { class: "note as-of" });
}
