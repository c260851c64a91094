// One system: its record, the actions its token's role allows, its backups newest first (download
// through a short-lived link, so the browser saves the backup's real file name), and the backups in
// the recovery window. A purged system has no record: its page shows what the window still holds.

import { ApiProblem, call } from "../api.js";
import { confirmAction } from "../dialogs.js";
import { actionRunner, announce, copyButton, el, emptyState, keepNotice, pageHeading, replace, showTrail, takeNotice } from "../elements.js";
import { healthBadge, statusBadge } from "../health.js";
import { ageMs, ageText, bytesText, exactBytes, timeText } from "../quantities.js";
import { may } from "../session.js";
import { rowsTable } from "../table.js";
import { adminActions, systemActions } from "./system-actions.js";
import { markBackup, purgedSystemView, recoverableSection } from "./recoverable.js";

/** The system view (#/system/{key}; `?backup=ID` marks one backup, as the audit trail's links do). */
export async function systemView({ main, trail, params: [key], state, stillCurrent, onProblem, reload }) {
  const path = `/api/admin/systems/${encodeURIComponent(key)}`;
  const [answer, listed, removed] = await Promise.allSettled([call("GET", path), call("GET", `${path}/backups`), call("GET", `${path}/recoverable`)]);
  if (!stillCurrent()) return;
  const act = actionRunner(onProblem);
  const done = (message) => {
    announce(message);
    reload(); // redrawn from the vault's new state
  };
  if (answer.status === "rejected") {
    // No record: a purged system whose recovery window still runs has recoverable backups, else it is unknown.
    if (!(answer.reason instanceof ApiProblem && answer.reason.status === 404 && removed.status === "fulfilled")) throw answer.reason;
    return purgedSystemView({ main, trail, key, path, recoverable: removed.value, act, done, marked: state.get("backup") });
  }
  for (const result of [listed, removed]) if (result.status === "rejected") throw result.reason;
  const system = answer.value;
  const listing = listed.value;
  const org = system.organization_id;
  showTrail(trail, [["Fleet health", "#/"], [org, `#/org/${encodeURIComponent(org)}`], [key, `#/system/${encodeURIComponent(key)}`]]);

  const linkPanel = el("section", { class: "link-panel", "aria-label": "Download link", hidden: true });
  const backups = listing.backups ?? [];
  const table = rowsTable({
    caption: `Backups of ${key}, newest first`,
    rowKey: (row) => row.id,
    sort: { key: "uploaded_at", descending: true },
    emptyText: "No backups.",
    columns: [
      { key: "filename", label: "File name", cell: (row) => el("span", { class: "filename", title: row.id }, row.filename) },
      { key: "size", label: "Size", numeric: true, cell: (row) => el("span", { title: exactBytes(row.size) }, bytesText(row.size)) },
      { key: "uploaded_at", label: "Uploaded", cell: (row) => el("span", { title: `${ageText(ageMs(row.uploaded_at))} ago` }, timeText(row.uploaded_at)) },
      { key: "sha256", label: "SHA-256", sortable: false, cell: (row) => el("span", { class: "digest" }, el("code", { title: row.sha256 }, `${row.sha256.slice(0, 12)}…`), copyButton("Copy", () => row.sha256, `Copy the SHA-256 of ${row.filename}`)) },
      { key: "actions", label: "Actions", sortable: false, cell: (row) => el("span", { class: "row-actions" },
        el("button", { type: "button", onclick: () => act(() => download(key, row, linkPanel)), "aria-label": `Download ${row.filename}` }, "Download"),
        may("manager") ? el("button", { type: "button", class: "danger", onclick: () => act(() => deleteBackup(path, row, done)), "aria-label": `Delete ${row.filename}` }, "Delete") : null) },
    ],
  });

  replace(
    main,
    pageHeading(`System ${key}`),
    takeNotice(),
    system.status === "deleted" ? retiredNotice(system) : null,
    systemFacts(system, listing),
    systemActions(system, path, act, done),
    adminActions(system, path, act, done),
    el("section", { id: "backups", "aria-labelledby": "backups-title" },
      el("h2", { id: "backups-title" }, "Backups"),
      linkPanel,
      backups.length === 0 ? emptyState("This system has no backups yet. They appear here once the appliance uploads one.") : table.element),
    recoverableSection({ key, path, listing: removed.value, purged: false, act, done }),
  );
  table.show(backups);
  markBackup(main, state.get("backup"));
}

function systemFacts(system, listing) {
  const fact = (term, ...value) => [el("dt", {}, term), el("dd", {}, ...value)];
  return el("dl", { class: "facts" },
    fact("Status", el("span", { class: "badges" }, statusBadge(system.status), healthBadge(system))),
    system.name ? fact("Name", system.name) : null,
    system.notes ? fact("Notes", el("span", { class: "notes" }, system.notes)) : null,
    fact("Organisation", el("a", { href: `#/org/${encodeURIComponent(system.organization_id)}` }, system.organization_id)),
    fact("Append-only", system.append_only ? "yes: the appliance cannot delete its backups" : "no"),
    fact("Backups", String(listing.backups?.length ?? system.backups ?? 0), slotsText(listing)),
    fact("Bytes stored", el("span", { title: exactBytes(listing.bytes_used ?? system.bytes_used) }, bytesText(listing.bytes_used ?? system.bytes_used))),
    fact("Newest backup", system.last_backup_at ? `${timeText(system.last_backup_at)} (${ageText(ageMs(system.last_backup_at))} ago)` : "never"),
    system.last_seen_at ? fact("Last seen", `${timeText(system.last_seen_at)} (${ageText(ageMs(system.last_seen_at))} ago)`) : null,
    fact("Registered", timeText(system.registered_at)),
    fact("System id", el("code", {}, system.system_id)));
}

/** "4 of 10 retention slots used": the rotating tier's limit; the protected tier may keep more. */
function slotsText(listing) {
  if (listing.slots_used === undefined) return "";
  if (listing.slots_limit === undefined) return ` (${listing.slots_used} retention slots used)`;
  return ` (${listing.slots_used} of ${listing.slots_limit} retention slots used; older daily, weekly and monthly backups may be kept beyond them)`;
}

/** What "retired" means for this system, in words, above its facts. */
function retiredNotice(system) {
  return el("div", { class: "notice", role: "note" },
    el("p", {}, el("strong", {}, "This system is retired."), " Its key is never used again: the appliance is refused and no one can upload, resume or rotate it."),
    el("p", {}, "Its backups are kept as they were and can still be downloaded, for example to restore them on a replacement appliance, until an admin purges the system: that takes every backup and the record out, into the recovery window, from which the purge can be undone until the window ends."));
}

/** Makes a link and lets the browser fetch it: the answer is an attachment under the real file name. */
async function download(key, backup, panel) {
  const link = await call("POST", `/api/admin/systems/${encodeURIComponent(key)}/backups/${encodeURIComponent(backup.id)}/link`);
  const anchor = el("a", { href: link.download_url, download: backup.filename, hidden: true });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  replace(panel,
    el("p", {}, `Downloading ${backup.filename}. The same link works without a token until ${timeText(link.expires_at)}: give it to `, el("code", {}, "curl -o"), " or to an NS8 “restore from URL”."),
    el("p", { class: "link-line" }, el("code", { class: "link-url" }, link.download_url), copyButton("Copy link", () => link.download_url)));
  panel.hidden = false;
  announce(`Downloading ${backup.filename}.`);
}

async function deleteBackup(path, backup, done) {
  const confirmed = await confirmAction({
    title: `Delete ${backup.filename}?`,
    body: [
      el("p", {}, "This backup leaves the list and the quota at once:"),
      el("ul", {}, el("li", {}, "file name: ", el("strong", {}, backup.filename)), el("li", {}, `uploaded ${timeText(backup.uploaded_at)}, ${bytesText(backup.size)}`), el("li", {}, "id: ", el("code", {}, backup.id))),
      el("p", {}, "It stays in the recovery window (Recoverable backups, below) until the window ends, and a manager can restore it until then; after that it is erased for good."),
    ],
    confirmLabel: `Delete ${backup.filename}`,
  });
  if (!confirmed) return;
  await call("DELETE", `${path}/backups/${encodeURIComponent(backup.id)}`);
  // The window's end, as the vault recorded it (the delete's answer carries only the id).
  let until = "the end of the recovery window";
  try {
    const removed = await call("GET", `${path}/recoverable`);
    const row = (removed.backups ?? []).find((b) => b.id === backup.id);
    if (row?.erase_after) until = timeText(row.erase_after);
  } catch {
    // the delete is done; the page's redraw tells the rest
  }
  keepNotice(`${backup.filename} was deleted. It is recoverable until ${until}: Restore it from Recoverable backups below until then.`);
  done(`${backup.filename} was deleted; recoverable until ${until}.`);
}
