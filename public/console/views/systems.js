// An organisation's systems: status, append-only, backups, bytes and the age of the newest
// backup, marked when older than a threshold the operator sets (kept in this browser).
// Every system of the organisation is loaded, so sorting and filtering cover all of them.

import { call, callAllPages } from "../api.js";
import { confirmAction, showSecretOnce } from "../dialogs.js";
import { actionRunner, announce, el, emptyState, pageHeading, replace, showTrail } from "../elements.js";
import { ageMs, ageText, bytesText, daysMs, exactBytes, timeText } from "../quantities.js";
import { may } from "../session.js";
import { rowsTable } from "../table.js";

const THRESHOLD_KEY = "vault.stale-after-days";
const DEFAULT_THRESHOLD_DAYS = 3;

/** The organisation view (#/org/{org}). */
export async function systemsView({ main, trail, params: [org], stillCurrent, onProblem, reload }) {
  showTrail(trail, [["Organisations", "#/"], [org, `#/org/${encodeURIComponent(org)}`]]);
  const { items, complete } = await callAllPages(`/api/admin/organizations/${encodeURIComponent(org)}/systems`, "systems");
  if (!stillCurrent()) return;

  let thresholdDays = storedThreshold();
  const isStale = (row) => row.status === "active" && ageMs(row.last_backup_at) > daysMs(thresholdDays);
  const filter = el("input", { id: "system-filter", type: "search", autocomplete: "off", placeholder: "system key or id" });
  const status = el("select", { id: "status-filter" }, ["all", "active", "suspended", "deleted", "unregistered"].map((s) => el("option", { value: s }, s === "all" ? "any status" : s)));
  const staleOnly = el("input", { id: "stale-only", type: "checkbox" });
  const threshold = el("input", { id: "stale-days", type: "number", min: "1", max: "365", step: "1", value: String(thresholdDays), inputmode: "numeric" });

  const table = rowsTable({
    caption: `Systems of ${org}`,
    rowKey: (row) => row.system_key,
    sort: { key: "last_backup_at", descending: true },
    emptyText: "No system matches the filters.",
    columns: [
      { key: "system_key", label: "System", cell: (row) => el("a", { href: `#/system/${encodeURIComponent(row.system_key)}` }, row.system_key) },
      { key: "status", label: "Status", cell: (row) => el("span", { class: `badge ${row.status}` }, row.status) },
      { key: "append_only", label: "Append-only", cell: (row) => (row.append_only ? "yes" : "no") },
      { key: "backups", label: "Backups", numeric: true },
      { key: "bytes_used", label: "Bytes", numeric: true, cell: (row) => el("span", { title: exactBytes(row.bytes_used) }, bytesText(row.bytes_used)) },
      { key: "last_backup_at", label: "Newest backup", numeric: true, value: (row) => -ageMs(row.last_backup_at), cell: (row) => newestBackupCell(row, isStale(row)) },
    ],
  });

  const apply = () => {
    const needle = filter.value.trim().toLowerCase();
    table.show(items.filter((row) =>
      (status.value === "all" || row.status === status.value) &&
      (!staleOnly.checked || isStale(row)) &&
      (!needle || row.system_key.toLowerCase().includes(needle) || String(row.system_id).toLowerCase().includes(needle))));
    staleCount.textContent = `${items.filter(isStale).length} active system(s) without a backup in the last ${thresholdDays} day(s).`;
  };
  const staleCount = el("p", { class: "hint", id: "stale-count" });
  for (const control of [filter, status, staleOnly]) control.addEventListener("input", apply);
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
