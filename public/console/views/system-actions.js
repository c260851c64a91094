// The actions on a system's page, as its token's role and the system's state allow: suspend,
// resume, names and notes, append-only and rotate (manager, rotate admin); retire, move and purge
// (admin). Each asks first where it cannot be taken back in one click.

import { call, callAllPages } from "../api.js";
import { askValue, confirmAction, confirmTyped, editFields, showSecretOnce } from "../dialogs.js";
import { el, keepNotice } from "../elements.js";
import { timeText } from "../quantities.js";
import { may } from "../session.js";

/** The buttons this token's role may use; none for a reader, none on a retired system. */
export function systemActions(system, path, act, done) {
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
export function adminActions(system, path, act, done) {
  if (!may("admin")) return null;
  const key = system.system_key;
  const org = system.organization_id;
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
      body: [
        el("p", {}, "The key stops working at once, every backup leaves the list and the quota, and the record is removed: nothing of it can be downloaded afterwards."),
        el("p", {}, "The backups stay in the recovery window until it ends (RECOVERY_DAYS, 7 days unless the deployment says otherwise): until then an admin can undo the purge from this page, with a new secret. Then they are erased for good."),
        el("p", {}, "Use this for erasure (a destroyed appliance, a request to forget a customer).")],
      expected: key,
      confirmLabel: "Purge system",
    });
    if (!ok) return;
    const purged = await call("DELETE", path, { query: { purge: "true" } });
    const until = purged?.recoverable_until ? timeText(purged.recoverable_until) : "the end of the recovery window";
    keepNotice(`System ${key} purged. Its backups are recoverable until ${until}: until then, Undo purge below brings them back, with a new secret.`);
    done(`System ${key} purged.`); // redrawn: the purged system's page, with its recoverable backups
  }) }, "Purge…"));
  return el("div", { class: "toolbar", role: "group", "aria-label": "Admin actions" }, buttons);
}

async function post(path, message, done) {
  await call("POST", path);
  done(message);
}
