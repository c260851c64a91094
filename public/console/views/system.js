// One system: its record, the actions its token's role allows, and its backups newest first
// (download through a short-lived link, so the browser saves the backup's real file name).

import { call, callAllPages } from "../api.js";
import { askValue, confirmAction, confirmTyped, editFields, showSecretOnce } from "../dialogs.js";
import { actionRunner, announce, copyButton, el, emptyState, pageHeading, replace, showTrail } from "../elements.js";
import { healthBadge, statusBadge } from "../health.js";
import { ageMs, ageText, bytesText, exactBytes, timeText } from "../quantities.js";
import { may } from "../session.js";
import { rowsTable } from "../table.js";

/** The system view (#/system/{key}). */
export async function systemView({ main, trail, params: [key], stillCurrent, onProblem, reload }) {
  const path = `/api/admin/systems/${encodeURIComponent(key)}`;
  const [system, listing] = await Promise.all([call("GET", path), call("GET", `${path}/backups`)]);
  if (!stillCurrent()) return;
  const org = system.organization_id;
  showTrail(trail, [["Fleet health", "#/"], [org, `#/org/${encodeURIComponent(org)}`], [key, `#/system/${encodeURIComponent(key)}`]]);

  const act = actionRunner(onProblem);
  const done = (message) => {
    announce(message);
    reload(); // redrawn from the vault's new state
  };
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
    system.status === "deleted" ? retiredNotice(system) : null,
    systemFacts(system, listing),
    systemActions(system, path, act, done),
    adminActions(system, path, act, done),
    el("h2", {}, "Backups"),
    linkPanel,
    backups.length === 0 ? emptyState("This system has no backups yet. They appear here once the appliance uploads one.") : table.element,
  );
  table.show(backups);
}

function systemFacts(system, listing) {
  const fact = (term, ...value) => [el("dt", {}, term), el("dd", {}, ...value)];
  return el("dl", { class: "facts" },
    fact("Status", el("span", { class: "badges" }, statusBadge(system.status), healthBadge(system, staleAfterDays()))),
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

/** The threshold the systems list uses (kept in this browser), for the health badge. */
function staleAfterDays() {
  const days = Number(localStorage.getItem("vault.stale-after-days"));
  return Number.isInteger(days) && days >= 1 && days <= 365 ? days : 3;
}

/** What "retired" means for this system, in words, above its facts. */
function retiredNotice(system) {
  return el("div", { class: "notice", role: "note" },
    el("p", {}, el("strong", {}, "This system is retired."), " Its key is never used again: the appliance is refused and no one can upload, resume or rotate it."),
    el("p", {}, "Its backups are kept as they were and can still be downloaded, for example to restore them on a replacement appliance, until an admin purges the system, which deletes every backup and the record."));
}

/** The buttons this token's role may use; none for a reader, none on a retired system. */
function systemActions(system, path, act, done) {
  if (system.status === "deleted" || !may("manager")) return null;
  const key = system.system_key;
  const buttons = [];
  if (system.status === "suspended") {
    buttons.push(el("button", { type: "button", onclick: () => act(() => post(`${path}/resume`, `System ${key} resumed: its appliance is accepted again.`, done)) }, "Resume"));
  } else {
    buttons.push(el("button", { type: "button", class: "danger", onclick: () => act(async () => {
      if (await confirmAction({ title: `Suspend ${key}?`, body: el("p", {}, "The appliance's requests will be refused (401) until the system is resumed. Its backups are kept."), confirmLabel: "Suspend system" })) {
        await post(`${path}/suspend`, `System ${key} suspended: its appliance is refused.`, done);
      }
    }) }, "Suspend"));
  }
  if ("name" in system) {
    buttons.push(el("button", { type: "button", onclick: () => act(async () => {
      const edited = await editFields({
        title: `Name and notes of ${key}`,
        fields: [{ name: "name", label: "Name", value: system.name, maxLength: 100 }, { name: "notes", label: "Notes", value: system.notes, maxLength: 1000, multiline: true }],
        confirmLabel: "Save",
      });
      if (!edited) return;
      await call("PATCH", path, { body: edited });
      done(`Name and notes of ${key} saved.`);
    }) }, "Edit name and notes"));
  }
  const turnOn = !system.append_only;
  buttons.push(el("button", { type: "button", onclick: () => act(async () => {
    const body = turnOn ? "The appliance will be able to upload and download, but never delete its backups." : "The appliance will be able to delete its own backups again.";
    if (await confirmAction({ title: `Turn append-only ${turnOn ? "on" : "off"} for ${key}?`, body: el("p", {}, body), confirmLabel: `Turn append-only ${turnOn ? "on" : "off"}`, danger: !turnOn })) {
      await call("PATCH", path, { body: { append_only: turnOn } });
      done(`Append-only is now ${turnOn ? "on" : "off"} for ${key}.`);
    }
  }) }, turnOn ? "Turn append-only on" : "Turn append-only off"));
  if (may("admin")) {
    buttons.push(el("button", { type: "button", class: "danger", onclick: () => act(async () => {
      if (!(await confirmAction({ title: `Rotate the secret of ${key}?`, body: el("p", {}, "A new secret is made and the current one stops working: the appliance is refused until it is given the new secret."), confirmLabel: "Rotate secret" }))) return;
      const rotated = await call("POST", `${path}/rotate`);
      await showSecretOnce({ title: `New secret for ${key}`, fields: [["System key", rotated.system_key], ["System secret", rotated.system_secret]], note: "Enter the new secret in the appliance's backup settings." });
      done(`The secret of ${key} was rotated.`);
    }) }, "Rotate secret"));
  }
  return el("div", { class: "toolbar", role: "group", "aria-label": "System actions" }, buttons);
}

/** Retire, move and purge: an admin's, and only those that the system's state allows (a retired system can only be purged). */
function adminActions(system, path, act, done) {
  if (!may("admin")) return null;
  const key = system.system_key;
  const org = system.organization_id;
  const toOrg = (message) => {
    announce(message);
    location.hash = `#/org/${encodeURIComponent(org)}`;
  };
  const buttons = [];
  if (system.status !== "deleted") {
    buttons.push(el("button", { type: "button", class: "danger", onclick: () => act(async () => {
      const ok = await confirmAction({
        title: `Retire ${key}?`,
        body: [el("p", {}, "The key stops working for good and is never reused: the appliance is refused, and the system can no longer be resumed or rotated."), el("p", {}, "Its backups are kept and can still be downloaded until the system is purged.")],
        confirmLabel: "Retire system",
      });
      if (!ok) return;
      await call("DELETE", path);
      done(`System ${key} retired.`);
    }) }, "Retire"));
    buttons.push(el("button", { type: "button", onclick: () => act(async () => {
      const { items } = await callAllPages("/api/admin/organizations", "organizations", { maxPages: 10 });
      const target = await askValue({
        title: `Move ${key} to another organisation`,
        body: el("p", {}, `Every backup moves with it, byte for byte, and counts against the new organisation's quota from then on. It is now in ${org}.`),
        label: "Organisation",
        suggestions: items.map((o) => o.organization_id).filter((id) => id !== org),
        hint: "An organisation id, as in the list of organisations.",
        confirmLabel: "Move system",
      });
      if (!target || target === org) return;
      await call("POST", `${path}/move`, { body: { organization_id: target } });
      done(`System ${key} moved to ${target}.`);
    }) }, "Move…"));
  }
  buttons.push(el("button", { type: "button", class: "danger", onclick: () => act(async () => {
    const ok = await confirmTyped({
      title: `Purge ${key}?`,
      body: [el("p", {}, "Every backup of this system is deleted and its record removed: nothing of it can be downloaded afterwards."), el("p", {}, "Use this for erasure (a destroyed appliance, a request to forget a customer).")],
      expected: key,
      confirmLabel: "Purge system",
    });
    if (!ok) return;
    await call("DELETE", path, { query: { purge: "true" } });
    toOrg(`System ${key} purged.`);
  }) }, "Purge…"));
  return el("div", { class: "toolbar", role: "group", "aria-label": "Admin actions" }, buttons);
}

async function post(path, message, done) {
  await call("POST", path);
  done(message);
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
      el("p", {}, "This backup will be deleted for good:"),
      el("ul", {}, el("li", {}, "file name: ", el("strong", {}, backup.filename)), el("li", {}, `uploaded ${timeText(backup.uploaded_at)}, ${bytesText(backup.size)}`), el("li", {}, "id: ", el("code", {}, backup.id))),
    ],
    confirmLabel: `Delete ${backup.filename}`,
  });
  if (!confirmed) return;
  await call("DELETE", `${path}/backups/${encodeURIComponent(backup.id)}`);
  done(`${backup.filename} was deleted.`);
}
