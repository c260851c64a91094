// The header's search across every organisation in scope (GET /api/admin/systems?q=): by the start
// of a key, a system id (the older service's id) or a name.

import { call } from "../api.js";
import { el, emptyState, pageHeading, replace, showTrail } from "../elements.js";
import { healthBadge, statusBadge } from "../health.js";
import { ageMs, ageText } from "../quantities.js";
import { rowsTable } from "../table.js";

/** The search view (#/search?q=…). */
export async function searchView({ main, trail, state, stillCurrent }) {
  const q = (state.get("q") ?? "").trim();
  showTrail(trail, [["Fleet health", "#/"], [`Search: ${q}`, `#/search?q=${encodeURIComponent(q)}`]]);
  const input = document.getElementById("search");
  if (input && input.value !== q) input.value = q;
  if (!q) return replace(main, pageHeading("Search"), emptyState("Type the start of a system key, a system id or a name in the search field above."));
  const found = await call("GET", "/api/admin/systems", { query: { q, limit: 100 } });
  if (!stillCurrent()) return;
  const systems = found.systems ?? [];
  const table = rowsTable({
    caption: `Systems matching ${q}`,
    rowKey: (row) => row.system_key,
    sort: { key: "system_key", descending: false },
    emptyText: "No system matches.",
    columns: [
      { key: "system_key", label: "System", cell: (row) => el("a", { href: `#/system/${encodeURIComponent(row.system_key)}` }, row.system_key) },
      { key: "name", label: "Name", cell: (row) => row.name ?? "–" },
      { key: "organization_id", label: "Organisation", cell: (row) => el("a", { href: `#/org/${encodeURIComponent(row.organization_id)}` }, row.organization_id) },
      { key: "status", label: "Status", cell: (row) => el("span", { class: "badges" }, statusBadge(row.status), healthBadge(row)) },
      { key: "last_backup_at", label: "Newest backup", numeric: true, value: (row) => -ageMs(row.last_backup_at), cell: (row) => (row.last_backup_at ? `${ageText(ageMs(row.last_backup_at))} ago` : "never") },
    ],
  });
  replace(
    main,
    pageHeading(`Systems matching “${q}”`),
    systems.length === 0 ? emptyState("No system in your organisations has a key, system id or name that starts with this.") : [
      found.cursor ? el("p", { class: "hint" }, `The first ${systems.length} matches; type more to narrow the search.`) : null,
      table.element,
    ],
  );
  table.show(systems);
}
