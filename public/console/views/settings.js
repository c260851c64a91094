// An organisation's settings (admin): when a system counts as silent, how many backups retention
// keeps (never more than the deployment), and where alerts go, with a button that sends a test
// alert. A new target's signing secret is shown once.

import { call } from "../api.js";
import { askValue, confirmAction, showSecretOnce } from "../dialogs.js";
import { actionRunner, announce, el, pageHeading, replace, showTrail } from "../elements.js";

const RETENTION = [
  ["keep_last", "Newest backups kept per system", 1],
  ["daily", "Daily backups also kept", 0],
  ["weekly", "Weekly backups also kept", 0],
  ["monthly", "Monthly backups also kept", 0],
];

/** The settings view (#/org/{org}/settings). */
export async function settingsView({ main, trail, params: [org], stillCurrent, onProblem, reload }) {
  const orgHref = `#/org/${encodeURIComponent(org)}`;
  showTrail(trail, [["Fleet health", "#/"], [org, orgHref], ["Settings", `${orgHref}/settings`]]);
  const path = `/api/admin/organizations/${encodeURIComponent(org)}/settings`;
  const settings = await call("GET", path);
  if (!stillCurrent()) return;
  const act = actionRunner(onProblem);
  const targets = settings.alert_targets ?? [];

  const days = el("input", { id: "stale-after-days", type: "number", min: "1", max: "365", step: "1", required: true, inputmode: "numeric", value: String(settings.stale_after_days ?? 7) });
  const staleForm = el("form", { class: "settings-form", onsubmit: (event) => {
    event.preventDefault();
    act(async () => {
      await call("PATCH", path, { body: { stale_after_days: Number(days.value) } });
      announce(`Systems of ${org} now count as silent after ${days.value} day(s).`);
      reload();
    });
  } },
    el("label", { for: "stale-after-days" }, "A system is silent after (days)"),
    days,
    el("p", { class: "hint" }, "No backup and no call from the appliance for this long: the system's health becomes stale and an alert is raised."),
    el("button", { type: "submit", class: "primary" }, "Save"));

  const retention = RETENTION.map(([field, label, min]) => [field, el("input", { id: `retention-${field}`, type: "number", min: String(min), step: "1", inputmode: "numeric", value: settings[field] ?? "", placeholder: "deployment's" }), label]);
  const retentionForm = el("form", { class: "settings-form retention", onsubmit: (event) => {
    event.preventDefault();
    act(async () => {
      const body = Object.fromEntries(retention.map(([field, input]) => [field, input.value === "" ? null : Number(input.value)]));
      await call("PATCH", path, { body });
      announce(`Retention of ${org} saved.`);
      reload();
    });
  } },
    retention.map(([, input, label]) => [el("label", { for: input.id }, label), input]),
    el("p", { class: "hint" }, "Empty: the deployment's own limit. A value may only be the same or smaller (stricter), never more than the deployment keeps; the vault says the allowed range if not. Applied at each system's next upload."),
    el("button", { type: "submit", class: "primary" }, "Save retention"));

  const addTarget = () => act(async () => {
    const url = await askValue({ title: `New alert target for ${org}`, body: el("p", {}, "Each alert is a signed JSON POST to this address."), label: "Address (https://…)", hint: "https only, except where the deployment allows http (npm start).", confirmLabel: "Add target" });
    if (!url) return;
    const updated = await call("PATCH", path, { body: { alert_targets: [...targets.map((t) => ({ id: t.id })), { url }] } });
    const fresh = (updated.alert_targets ?? []).find((t) => t.secret);
    if (fresh) await showSecretOnce({ title: "Alert target added", fields: [["Target", fresh.url], ["Signing secret", fresh.secret]], note: "The receiver checks X-Vault-Signature (HMAC-SHA-256 of the timestamp, a dot and the body) with this secret." });
    announce("Alert target added.");
    reload();
  });
  const removeTarget = (target) => act(async () => {
    if (!(await confirmAction({ title: "Remove this alert target?", body: el("p", {}, "Alerts stop going to ", el("code", {}, target.url), "."), confirmLabel: "Remove target" }))) return;
    await call("PATCH", path, { body: { alert_targets: targets.filter((t) => t.id !== target.id).map((t) => ({ id: t.id })) } });
    announce("Alert target removed.");
    reload();
  });
  const testAlert = () => act(async () => {
    const sent = await call("POST", `${path}/test-alert`);
    announce(`A test alert is on its way to ${sent.targets} target(s).`);
  });

  replace(
    main,
    pageHeading(`Settings of ${org}`),
    el("h2", {}, "Silence"),
    staleForm,
    el("h2", {}, "Retention"),
    retentionForm,
    el("h2", {}, "Alert targets"),
    targets.length === 0
      ? el("p", { class: "empty" }, "No alert target: nobody is told when a system stops backing up.")
      : el("ul", { class: "targets" }, targets.map((target) => el("li", {}, el("code", {}, target.url), " ", el("button", { type: "button", class: "quiet danger", onclick: () => removeTarget(target), "aria-label": `Remove ${target.url}` }, "Remove")))),
    el("div", { class: "toolbar" },
      el("button", { type: "button", onclick: addTarget }, "Add a target"),
      el("button", { type: "button", disabled: targets.length === 0, onclick: testAlert }, "Send a test alert")),
  );
}
