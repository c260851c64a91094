// An organisation's systems: status and health (which says why: "silent 33 days"), append-only,
// backups, bytes and the age of the newest backup, marked when older than a threshold the operator
// sets (kept in this browser). Every system of the organisation is loaded, so sorting and filtering
// cover all of them; the most silent come first. Filter, sort and page live in the URL.

import { call, callAllPages } from "../api.js";
import { confirmAction, showSecretOnce } from "../dialogs.js";
import { actionRunner, announce, el, emptyState, pageHeading, replace, showTrail } from "../elements.js";
import { healthBadge, statusBadge } from "../health.js";
import { ageMs, ageText, bytesText, daysMs, exactBytes, timeText } from "../quantities.js";
import { may } from "../session.js";
import { parsePage, parseSort, rowsTable } from "../table.js";

const THRESHOLD_KEY = "vault.stale-after-days";
const DEFAULT_THRESHOLD_DAYS = 3;

/** The organisation view (#/org/{org}). */
export async function systemsView({ main, trail, params: [org], state, keepState, stillCurrent, onProblem, reload }) {
  showTrail(trail, [["Fleet health", "#/"], [org, `#/org/${encodeURIComponent(org)}`]]);
  const { items, complete } = await callAllPages(`/api/admin/organizations/${encodeURIComponent(org)}/systems`, "systems");
  if (!stillCurrent()) return;

  let thresholdDays = storedThreshold();
  const isStale = (row) => row.status === "active" && ageMs(row.last_backup_at) > daysMs(thresholdDays);
  const filter = el("input", { id: "system-filter", type: "search", autocomplete: "off", placeholder: "system key, id or name", value: state.get("q") ?? "" });
  const status = el("select", { id: "status-filter" }, ["all", "active", "suspended", "deleted", "unregistered"].map((s) => el("option", { value: s, selected: s === state.get("status") }, s === "all" ? "any status" : s === "deleted" ? "retired" : s)));
  const staleOnly = el("input", { id: "stale-only", type: "checkbox", checked: state.get("stale") === "1" });
  const threshold = el("input", { id: "stale-days", type: "number", min: "1", max: "365", step: "1", value: String(thresholdDays), inputmode: "numeric" });

  const now = Date.now();
  const columns = [
      { key: "system_key", label: "System", cell: (row) => el("a", { href: `#/system/${encodeURIComponent(row.system_key)}` }, row.system_key, row.name ? el("span", { class: "system-name" }, row.name) : null) },
      { key: "status", label: "Status", cell: (row) => el("span", { class: "badges" }, statusBadge(row.status), healthBadge(row, thresholdDays, now)) },
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
      (!staleOnly.checked || isStale(row)) &&
      (!needle || [row.system_key, row.system_id, row.name, row.legacy_id].some((v) => String(v ?? "").toLowerCase().includes(needle)))), { firstPage });
    if (firstPage) tableState = { ...tableState, page: 1 };
    remember(tableState);
    staleCount.textContent = `${items.filter(isStale).length} active system(s) without a backup in the last ${thresholdDays} day(s).`;
  };
  const staleCount = el("p", { class: "hint", id: "stale-count" });
  for (const control of [filter, status, staleOnly]) control.addEventListener("input", () => apply(true));
  threshold.addEventListener("change", () => {
    const days = Number(threshold.value);
    if (!Number.isInteger(days) || days < 1 || days > 365) {
      threshold.value = String(thresholdDays);
      return announce("The threshold is a whole number of days from 1 to 365.");
    }
    thresholdDays = days;
    localStorage.setItem(THRESHOLD_KEY, String(days));
    apply();
  });

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
            el("span", {}, staleOnly, el("label", { for: "stale-only" }, "Only stale")),
            el("span", {}, el("label", { for: "stale-days" }, "Stale after (days)"), threshold)),
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

function storedThreshold() {
  const days = Number(localStorage.getItem(THRESHOLD_KEY));
  return Number.isInteger(days) && days >= 1 && days <= 365 ? days : DEFAULT_THRESHOLD_DAYS;
}

/** Creates a system (admin) and shows its secret once; then reloads the list. */
async function createSystem(org, reload) {
  const appendOnly = el("input", { id: "new-append-only", type: "checkbox" });
  const ok = await confirmAction({
    title: `New system in ${org}`,
    body: [el("p", {}, "The vault makes a new system key and secret."), el("p", {}, appendOnly, el("label", { for: "new-append-only" }, " Append-only (the appliance may never delete its backups)"))],
    confirmLabel: "Create system",
    danger: false,
  });
  if (!ok) return;
  const created = await call("POST", `/api/admin/organizations/${encodeURIComponent(org)}/systems`, { body: { append_only: appendOnly.checked } });
  await showSecretOnce({
    title: `System ${created.system_key} created`,
    fields: [["System key", created.system_key], ["System secret", created.system_secret]],
    note: "Enter both in the appliance's backup settings.",
  });
  announce(`System ${created.system_key} created.`);
  reload();
}
