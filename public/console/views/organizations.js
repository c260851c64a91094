// Organisations in the token's scope: systems, backups, and bytes against the quota as a bar.

import { callAllPages } from "../api.js";
import { el, emptyState, pageHeading, replace, showTrail } from "../elements.js";
import { bytesText, exactBytes, percentText } from "../quantities.js";
import { parsePage, parseSort, rowsTable } from "../table.js";

/** The organisations view (#/). */
export async function organizationsView({ main, trail, state, keepState, stillCurrent }) {
  showTrail(trail, [["Fleet health", "#/"], ["Organisations", "#/orgs"]]);
  const { items, complete } = await callAllPages("/api/admin/organizations", "organizations");
  if (!stillCurrent()) return;

  const filter = el("input", { id: "org-filter", type: "search", autocomplete: "off", placeholder: "organisation id", value: state.get("q") ?? "" });
  let tableState = { sort: state.get("sort") ?? "", page: parsePage(state.get("page")) + 1 };
  const remember = () => keepState({ q: filter.value.trim(), sort: tableState.sort, page: tableState.page > 1 ? tableState.page : "" });
  const columns = [
      { key: "organization_id", label: "Organisation", cell: (row) => el("a", { href: `#/org/${encodeURIComponent(row.organization_id)}` }, row.organization_id) },
      { key: "systems", label: "Systems", numeric: true },
      { key: "backups", label: "Backups", numeric: true },
      { key: "bytes_used", label: "Storage used", numeric: true, cell: quotaBar },
  ];
  const table = rowsTable({
    caption: "Organisations",
    rowKey: (row) => row.organization_id,
    emptyText: "No organisation matches the filter.",
    sort: parseSort(state.get("sort"), columns, { key: "organization_id", descending: false }),
    page: parsePage(state.get("page")),
    columns,
    onChange: (next) => {
      tableState = next;
      remember();
    },
  });
  const apply = (firstPage = false) => {
    const needle = filter.value.trim().toLowerCase();
    table.show(items.filter((row) => row.organization_id.toLowerCase().includes(needle)), { firstPage });
    if (firstPage) tableState = { ...tableState, page: 1 };
    remember();
  };
  filter.addEventListener("input", () => apply(true));

  replace(
    main,
    pageHeading("Organisations"),
    items.length === 0
      ? emptyState("Your token sees no organisation yet. Organisations appear here once a system is created in them.")
      : [
          el("div", { class: "controls" }, el("label", { for: "org-filter" }, "Filter"), filter),
          complete ? null : el("p", { class: "hint" }, `Showing the first ${items.length} organisations.`),
          table.element,
        ],
  );
  apply();
}

/** Bytes used against the quota: a <meter> (a native, labelled bar) and the figures beside it. */
export function quotaBar(row) {
  const used = row.bytes_used ?? 0;
  const quota = row.quota_bytes ?? 0;
  if (!quota) return el("span", { title: exactBytes(used) }, `${bytesText(used)} (no quota)`);
  const label = `${bytesText(used)} of ${bytesText(quota)} (${percentText(used, quota)})`;
  return el("span", { class: "quota" },
    el("meter", { min: "0", max: String(quota), low: String(quota * 0.75), high: String(quota * 0.9), optimum: "0", value: String(Math.min(used, quota)), "aria-label": `Storage used: ${label}` }),
    el("span", { title: exactBytes(used) }, label));
}
