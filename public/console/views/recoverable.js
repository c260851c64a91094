// The recovery window on a system's page (docs/recovery.md): the backups that left the system
// (deleted, pruned by retention, purged with it) and when each is erased. A manager restores one;
// on a purged system, whose record is gone, an admin undoes the purge (a new secret, shown once).

import { ApiProblem, call } from "../api.js";
import { confirmAction, showSecretOnce } from "../dialogs.js";
import { el, emptyState, keepNotice, pageHeading, replace, showTrail, takeNotice } from "../elements.js";
import { ageMs, ageText, bytesText, exactBytes, timeText } from "../quantities.js";
import { may } from "../session.js";
import { rowsTable } from "../table.js";

const WHY = { deleted: "deleted", pruned: "pruned by retention", purged: "purged with the system" };

/**
 * The "Recoverable backups" section: what the window holds, most recently removed first, with
 * Restore for a manager (not on a purged system: its purge is undone as a whole first).
 */
export function recoverableSection({ key, path, listing, purged, act, done }) {
  const rows = listing?.backups ?? [];
  const canRestore = !purged && may("manager");
  const table = rowsTable({
    caption: `Recoverable backups of ${key}, most recently removed first`,
    rowKey: (row) => row.id,
    sort: { key: "removed_at", descending: true },
    emptyText: "No recoverable backup.",
    columns: [
      { key: "filename", label: "File name", cell: (row) => el("span", { class: "filename", title: row.id }, row.filename) },
      { key: "size", label: "Size", numeric: true, cell: (row) => el("span", { title: exactBytes(row.size) }, bytesText(row.size)) },
      { key: "uploaded_at", label: "Uploaded", cell: (row) => timeText(row.uploaded_at) },
      { key: "removed_at", label: "Removed", cell: (row) => el("span", { title: `${ageText(ageMs(row.removed_at))} ago` }, timeText(row.removed_at)) },
      { key: "reason", label: "Why", cell: (row) => `${WHY[row.reason] ?? row.reason} by ${row.removed_by}` },
      { key: "erase_after", label: "Erased after", cell: (row) => el("strong", {}, timeText(row.erase_after)) },
      canRestore ? { key: "actions", label: "Actions", sortable: false, cell: (row) =>
        el("button", { type: "button", onclick: () => act(() => restoreBackup(path, row, done)), "aria-label": `Restore ${row.filename}` }, "Restore") } : null,
    ].filter(Boolean),
  });
  table.show(rows);
  return el("section", { id: "recoverable", "aria-labelledby": "recoverable-title" },
    el("h2", { id: "recoverable-title" }, "Recoverable backups"),
    el("p", { class: "hint" }, "A deleted, pruned or purged backup leaves the list and the quota at once, and stays here until its window ends; then the vault erases it for good.",
      canRestore ? " Restore puts it back byte for byte, with the same id and digest, if the organisation's quota has room for it." : ""),
    rows.length === 0 ? emptyState("Nothing of this system is in the recovery window: no backup was deleted, pruned or purged recently.") : table.element);
}

/** Puts one backup back; a full quota (413) or a conflicting state (409) is said in plain words. */
async function restoreBackup(path, row, done) {
  try {
    await call("POST", `${path}/recoverable/${encodeURIComponent(row.id)}/restore`);
  } catch (error) {
    throw restoreProblem(error, `${row.filename} was not restored`, `its ${bytesText(row.size)}`);
  }
  keepNotice(`${row.filename} was restored: it is back in the backups list with the same id and digest, and counts against the quota again.`);
  done(`${row.filename} restored.`);
}

/** What a refused restore means to the operator (the vault's own message kept as detail). */
function restoreProblem(error, what, bytes) {
  if (!(error instanceof ApiProblem)) return error;
  if (error.status === 413) return new ApiProblem(413, `${what}: the organisation's storage quota has no room for ${bytes}. Delete older backups (they stay recoverable) or ask for a larger quota, then try again.`, error.detail);
  if (error.status === 409 && /purged/.test(error.detail) && /restore the system/.test(error.detail)) return new ApiProblem(409, `${what}: the system is purged. An admin undoes the purge first, which brings every purged backup back.`, error.detail);
  if (error.status === 409 && /not purged/.test(error.detail)) return new ApiProblem(409, `${what}: the system is not purged (any more); reload the page to see it as it is.`, error.detail);
  if (error.status === 409) return new ApiProblem(409, `${what}: the system is busy with another change${error.detail ? ` (${error.detail})` : ""}. Try again in a moment.`, error.detail);
  return error;
}

/** A purged system's page: what its window holds, and Undo purge for an admin until the window ends. */
export function purgedSystemView({ main, trail, key, path, recoverable, act, done, marked }) {
  showTrail(trail, [["Fleet health", "#/"], [`${key} (purged)`, `#/system/${encodeURIComponent(key)}`]]);
  const purgedRows = (recoverable.backups ?? []).filter((row) => row.reason === "purged");
  const last = (field) => purgedRows.map((row) => row[field]).sort().at(-1);
  const until = last("erase_after");
  const undo = may("admin") ? el("button", { type: "button", class: "primary", onclick: () => act(() => undoPurge(path, key, purgedRows.length, done)) }, "Undo purge") : null;
  replace(
    main,
    pageHeading(`System ${key}`),
    takeNotice(),
    el("div", { class: "notice", role: "note" },
      el("p", {}, el("strong", {}, "This system is purged."), purgedRows.length ? ` ${purgedRows.length} backup(s) left with it on ${timeText(last("removed_at"))}.` : "",
        " Its key works no more and it is in no list; its record and backups are kept in the recovery window",
        until ? ` until ${timeText(until)}, when they are erased for good.` : " until the window ends, when they are erased for good."),
      el("p", {}, may("admin")
        ? "Undo purge brings the system and every purged backup back, with a new secret (shown once): the old secret never works again."
        : "An admin can undo the purge until then.")),
    undo ? el("div", { class: "toolbar", role: "group", "aria-label": "Admin actions" }, undo) : null,
    recoverableSection({ key, path, listing: recoverable, purged: true, act, done }),
  );
  markBackup(main, marked);
}

/** Marks the backup an audit link points at (in the list or the recovery window) and scrolls to it. */
export function markBackup(main, id) {
  if (!id) return;
  const row = [...main.querySelectorAll("tr[data-key]")].find((tr) => tr.dataset.key === id);
  if (!row) return main.querySelector("h1")?.after(el("p", { class: "notice", role: "note" }, "The backup ", el("code", {}, id), " is neither listed nor recoverable: it was erased, or it never existed."));
  row.classList.add("marked");
  row.setAttribute("aria-current", "true");
  row.scrollIntoView({ block: "center" });
}

/** Undoes a purge (admin) and shows the new secret once, exactly as a rotation does. */
async function undoPurge(path, key, count, done) {
  const ok = await confirmAction({
    title: `Undo the purge of ${key}?`,
    body: [el("p", {}, `The system comes back in its organisation with its ${count} purged backup(s), if the organisation's quota has room for them.`),
      el("p", {}, "A new secret is made and shown once: the appliance needs it, since the old secret never works again.")],
    confirmLabel: "Undo purge",
    danger: false,
  });
  if (!ok) return;
  let restored;
  try {
    restored = await call("POST", `${path}/restore`);
  } catch (error) {
    throw restoreProblem(error, "The purge was not undone", "the purged backups");
  }
  await showSecretOnce({ title: `New secret for ${key}`, fields: [["System key", restored.system_key], ["System secret", restored.system_secret]], note: `${restored.backups_restored} backup(s) are back. Enter the new secret in the appliance's backup settings.` });
  keepNotice(`The purge of ${key} is undone: ${restored.backups_restored} backup(s) restored, and the system has a new secret.`);
  done(`System ${key} restored.`);
}
