// A table of rows already in memory: click a column heading to sort, pages of `pageSize` rows.
// Filtering is the view's job: it calls show() with the rows that pass. The sort and the page are
// reported through onChange, so the view can keep them in the URL and give them back as `sort`/`page`.

import { el, replace } from "./elements.js";

/**
 * @param {{caption: string, columns: {key: string, label: string, value?: (row) => any, cell?: (row) => any, numeric?: boolean, sortable?: boolean}[],
 *          sort?: {key: string, descending: boolean}, page?: number, pageSize?: number, emptyText: string, rowKey?: (row) => string,
 *          onChange?: (state: {sort: string, page: number}) => void}} options
 * @returns {{element: HTMLElement, show: (rows: object[]) => void}}
 * @example const table = rowsTable({ caption: "Systems", columns, emptyText: "No systems." }); table.show(rows);
 */
export function rowsTable({ caption, columns, sort, page: firstPage = 0, pageSize = 25, emptyText, rowKey, onChange }) {
  let rows = [];
  let page = firstPage;
  let order = sort ?? { key: columns[0].key, descending: false };
  const changed = () => onChange?.({ sort: `${order.descending ? "-" : ""}${order.key}`, page: page + 1 });
  const valueOf = (column, row) => (column.value ? column.value(row) : row[column.key]);

  const head = el("thead");
  const body = el("tbody");
  const pager = el("nav", { class: "pager", "aria-label": `${caption}: pages` });
  const empty = el("p", { class: "empty", hidden: true }, emptyText);
  const table = el("table", {}, el("caption", { class: "visually-hidden" }, caption), head, body);
  const element = el("div", { class: "table-block" }, el("div", { class: "table-scroll" }, table), empty, pager);

  function drawHead() {
    replace(head, el("tr", {}, columns.map((column) => {
      const sorted = order.key === column.key;
      const th = el("th", { scope: "col", class: column.numeric ? "numeric" : undefined, "aria-sort": sorted ? (order.descending ? "descending" : "ascending") : undefined });
      if (column.sortable === false) return append1(Object.assign(th, { className: `${th.className} unsortable`.trim() }), column.label);
      const mark = sorted ? (order.descending ? " ▼" : " ▲") : "";
      return append1(th, el("button", { type: "button", class: "sort", onclick: () => sortBy(column.key) }, column.label, el("span", { "aria-hidden": "true" }, mark)));
    })));
  }

  function sortBy(key) {
    order = order.key === key ? { key, descending: !order.descending } : { key, descending: false };
    page = 0;
    draw();
    changed();
    head.querySelector(`[aria-sort] button`)?.focus();
  }

  function sorted() {
    const column = columns.find((c) => c.key === order.key);
    if (!column) return rows;
    const direction = order.descending ? -1 : 1;
    return [...rows].sort((a, b) => direction * compare(valueOf(column, a), valueOf(column, b)));
  }

  function drawPager(total) {
    const pages = Math.max(1, Math.ceil(total / pageSize));
    page = Math.min(page, pages - 1);
    if (pages === 1) return replace(pager, total ? el("span", {}, `${total} shown`) : "");
    replace(
      pager,
      el("button", { type: "button", disabled: page === 0, onclick: () => turn(-1) }, "Previous"),
      el("span", { "aria-live": "polite" }, `Page ${page + 1} of ${pages} (${total} rows)`),
      el("button", { type: "button", disabled: page >= pages - 1, onclick: () => turn(1) }, "Next"),
    );
  }

  function turn(step) {
    page += step;
    draw();
    changed();
    pager.querySelector(step < 0 ? "button" : "button:last-of-type")?.focus();
  }

  function draw() {
    drawHead();
    const all = sorted();
    drawPager(all.length);
    const shown = all.slice(page * pageSize, (page + 1) * pageSize);
    replace(body, shown.map((row) => el("tr", { "data-key": rowKey?.(row) }, columns.map((column) =>
      el("td", { "data-label": column.label, class: column.numeric ? "numeric" : undefined }, column.cell ? column.cell(row) : String(valueOf(column, row) ?? "–"))))));
    empty.hidden = all.length > 0;
    table.hidden = all.length === 0;
  }

  return {
    element,
    /** Shows `next` rows; `{ firstPage: true }` when a filter changed them (page 1 again). */
    show(next, { firstPage = false } = {}) {
      rows = next;
      if (firstPage) page = 0;
      draw();
    },
  };
}

function append1(parent, child) {
  parent.append(child);
  return parent;
}

/** A sort as kept in a URL ("-backups": by backups, descending) back as `{key, descending}`, if it names a sortable column. */
export function parseSort(text, columns, fallback) {
  const descending = String(text ?? "").startsWith("-");
  const key = String(text ?? "").replace(/^-/, "");
  return columns.some((c) => c.key === key && c.sortable !== false) ? { key, descending } : fallback;
}

/** A page number as kept in a URL (1-based) back as a 0-based index. */
export function parsePage(text) {
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 ? n - 1 : 0;
}

/** Orders numbers numerically, strings naturally, and missing values last. */
function compare(a, b) {
  const missingA = a === null || a === undefined;
  const missingB = b === null || b === undefined;
  if (missingA || missingB) return missingA === missingB ? 0 : missingA ? 1 : -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  return String(a).localeCompare(String(b), "en", { numeric: true });
}
