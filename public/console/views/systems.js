// An organisation's systems: status and health (which says why: "silent 33 days"), append-only,
// backups, bytes and the age of the newest backup, marked when the vault counts the system silent
// (against the organisation's stale_after_days, the same judgement as its alerts and the fleet's
// health). Every system of the organisation is loaded, so sorting and filtering cover all of them;
// the most silent come first. Filter, sort and page live in the URL.

import { call, callAllPages } from "../api.js";
import { confirmAction, showSecretOnce } from "../dialogs.js";
import { actionRunner, announce, el, emptyState, pageHeading, replace, showTrail } from "../elements.js";
import { healthBadge, healthState, needsAttention, statusBadge } from "../health.js";
import { ageMs, ageText, bytesText, exactBytes, timeText } from "../quantities.js";
import { may } from "../session.js";
import { parsePage, parseSort, rowsTable } from "../table.js";

/** The organisation view (#/org/{org}). */
export async function systemsView({ main, trail, params: [org], state, keepState, stillCurrent, onProblem, reload }) {
  showTrail(trail, [["Fleet health", "#/"], [org, `#/org/${encodeURIComponent(org)}`]]);
  const [{ items, complete }, settings] = await Promise.all([
    callAllPages(`/api/admin/organizations/${encodeURIComponent(org)}/systems`, "systems"),
    // The threshold itself is an admin's setting (others are told the vault's judgement only).
    may("admin") ? call("GET", `/api/admin/organizations/${encodeURIComponent(org)}/settings`).catch(() => null) : null,
  ]);
  if (!stillCurrent()) return;

  const isStale = (row) => healthState(row) === "stale";
  const filter = el("input", { id: "system-filter", type: "search", autocomplete: "off", placeholder: "system key, id or name", value: state.get("q") ?? "" });
  const status = el("select", { id: "status-filter" }, ["all", "active", "suspended", "deleted", "unregistered"].map((s) => el("option", { value: s, selected: s === state.get("status") }, s === "all" ? "any status" : s === "deleted" ? "retired" : s)));
  const staleOnly = el("input", { id: "stale-only", type: "checkbox", checked: state.get("stale") === "1" });

  const now = Date.now();
  const columns = [
      { key: "system_key", label: "System", cell: (row) => el("a", { href: `#/system/${encodeURIComponent(row.system_key)}` }, row.system_key, row.name ? el("span", { class: "system-name" }, row.name) : null) },
      { key: "status", label: "Status", cell: (row) => el("span", { class: "badges" }, statusBadge(row.status), healthBadge(row, now)) },
      { key: "append_only", label: "Append-only", cell: (row) => (row.append_only ? "yes" : "no") },
      { key: "backups", label: "Backups", numeric: true },
      { key: "bytes_used", label: "Bytes", numeric: true, cell: (row) => el("span", { title: exactBytes(row.bytes_used) }, bytesText(row.bytes_used)) },
      { key: "last_backup_at", label: "Newest backup", numeric: true, value: (row) => -ageMs(row.last_backup_at), cell: (row) => newestBackupCell(row, isStale(row)) },
  ];
  const remember = (table) => keepState({ q: filter.value.trim(), status: status.value === "all" ? "" : status.value, stale: staleOnly.checked ? "1" : "", sort: table.sort, page: table.page > 1 ? table.page : "" });
  let tableState = { sort: state.get("sort") ?? "", page: parsePage(state.get("page")) + 1 };
  const table = rowsTable({
    caption: `Systems of ${org}`,
    rowKey: (row) => row.system_key,
    // The most silent first: the oldest newest backup, systems that never backed up before all.
    sort: parseSort(state.get("sort"), columns, { key: "last_backup_at", descending: false }),
    page: parsePage(state.get("page")),
    emptyText: "No system matches the filters.",
    columns,
    onChange: (next) => remember((tableState = next)),
  });

  const apply = (firstPage = false) => {
    const needle = filter.value.trim().toLowerCase();
    table.show(items.filter((row) =>
      (status.value === "all" || row.status === status.value) &&
      (!staleOnly.checked || needsAttention(row)) &&
      (!needle || [row.system_key, row.system_id, row.name].some((v) => String(v ?? "").toLowerCase().includes(needle)))), { firstPage });
    if (firstPage) tableState = { ...tableState, page: 1 };
    remember(tableState);
    staleCount.textContent = attentionText(items, settings?.stale_after_days);
  };
  const staleCount = el("p", { class: "hint", id: "stale-count" });
  for (const control of [filter, status, staleOnly]) control.addEventListener("input", () => apply(true));

  const toolbar = el("div", { class: "toolbar" },
    el("a", { href: `#/org/${encodeURIComponent(org)}/audit` }, "Audit trail"),
    may("admin") ? el("a", { href: `#/org/${encodeURIComponent(org)}/settings` }, "Settings") : null,
    may("admin") ? el("button", { type: "button", class: "primary", onclick: () => actionRunner(onProblem)(() => createSystem(org, reload)) }, "New system") : null);

  replace(
    main,
    pageHeading(`Systems of ${org}`),
    toolbar,
    items.length === 0
      ? emptyState("This organisation has no systems yet.")
      : [
          el("div", { class: "controls" },
            el("span", {}, el("label", { for: "system-filter" }, "Filter"), filter),
            el("span", {}, el("label", { for: "status-filter" }, "Status"), status),
            el("span", {}, staleOnly, el("label", { for: "stale-only" }, "Only those needing attention"))),
          staleCount,
          complete ? null : el("p", { class: "hint" }, `Showing the first ${items.length} systems.`),
          table.element,
        ],
  );
  apply();
}

function newestBackupCell(row, stale) {
  const age = ageText(ageMs(row.last_backup_at));
  const text = row.last_backup_at ? `${age} ago` : "never";
  return el("span", { class: stale ? "stale" : undefined, title: row.last_backup_at ? timeText(row.last_backup_at) : "no backup yet" },
    stale ? el("span", { "aria-hidden": "true" }, "⚠ ") : null,
    text,
    stale ? el("span", { class: "visually-hidden" }, " (stale)") : null);
}

/** How many systems need attention, and why, as the vault judged them (with the threshold, for an admin who may read it). */
function attentionText(items, staleAfterDays) {
  const count = (state) => items.filter((row) => healthState(row) === state).length;
  const threshold = staleAfterDays ? `${staleAfterDays} day(s), this organisation's setting` : "this organisation's threshold";
  const [stale, never, refused] = [count("stale"), count("never"), count("refused")];
  if (!stale && !never && !refused) return `No system needs attention: every active system gave a sign of life within ${threshold}.`;
  return `${stale + never + refused} system(s) need attention: ${stale} silent for longer than ${threshold}, ${never} never backed up, ${refused} with their last upload refused.`;
}

/** Creates a system (admin) and shows its secret once; then reloads the list. */
async function createSystem(org, reload) {
  const appendOnly = el("input", { id: "new-append-only", type: "checkbox" });
  const legacyId = el("input", { id: "new-legacy-id", type: "text", autocomplete: "off", maxlength: "128" });
  const legacySecret = el("input", { id: "new-legacy-secret", type: "password", autocomplete: "new-password" });
  const ok = await confirmAction({
    title: `New system in ${org}`,
    body: [
      el("p", {}, "The vault makes a new system key and secret."),
      el("p", {}, appendOnly, el("label", { for: "new-append-only" }, " Append-only (the appliance may never delete its backups)")),
      el("fieldset", {}, el("legend", {}, "Older protocol (optional: an appliance already in the field)"),
        el("p", {}, el("label", { for: "new-legacy-id" }, "Its system id "), legacyId),
        el("p", {}, el("label", { for: "new-legacy-secret" }, "Its secret "), legacySecret, el("br"), el("small", {}, "Kept only as a salted hash. Leave empty when the deployment delegates legacy sign-in."))),
    ],
    confirmLabel: "Create system",
    danger: false,
  });
  if (!ok) return;
  const body = { append_only: appendOnly.checked };
  if (legacyId.value.trim()) body.system_id = legacyId.value.trim();
  if (legacySecret.value) body.legacy_secret = legacySecret.value;
  const created = await call("POST", `/api/admin/organizations/${encodeURIComponent(org)}/systems`, { body });
  await showSecretOnce({
    title: `System ${created.system_key} created`,
    fields: [["System key", created.system_key], ["System secret", created.system_secret]],
    note: "Enter both in the appliance's backup settings.",
  });
  announce(`System ${created.system_key} created.`);
  reload();
}
