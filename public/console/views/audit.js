// An organisation's audit trail, newest first, filtered by the vault over the whole trail (action,
// target, a date range: docs/api/operator.md "Reading and filtering the trail"), a page of events
// at a time ("Load older"). The filters are the URL's query (#/org/acme/audit?action=system.&since=…):
// applying them is a new history entry, so Back returns to the previous filters and a bookmark keeps them.

import { ApiProblem, call } from "../api.js";
import { actionRunner, el, emptyState, pageHeading, replace, showTrail } from "../elements.js";
import { timeText } from "../quantities.js";
import { may } from "../session.js";
import { rowsTable } from "../table.js";

const PAGE = 100;
const DAY = /^\d{4}-\d\d-\d\d$/;
const ACTIONS = ["system.", "backup.", "token.", "alert.", "system.create", "system.rotate", "system.suspend", "system.resume", "system.append_only", "system.profile", "system.retire",
  "system.purge", "system.restore", "system.erase", "system.move", "backup.link", "backup.delete", "backup.prune", "backup.restore", "backup.erase", "settings.update",
  "alert.sent", "alert.failed", "token.create", "token.revoke", "request.refused"];

/** The audit view (#/org/{org}/audit?action=&target=&since=YYYY-MM-DD&until=YYYY-MM-DD). */
export async function auditView({ main, trail, params: [org], state, stillCurrent, onProblem }) {
  const orgHref = `#/org/${encodeURIComponent(org)}`;
  const fleetWide = org === "*"; // the trail of what reaches every organisation (all-organisation tokens)
  const title = fleetWide ? "Audit trail of every organisation's tokens" : `Audit trail of ${org}`;
  showTrail(trail, fleetWide ? [["Fleet health", "#/"], ["Operator tokens", "#/tokens"], ["Audit trail", "#/org/*/audit"]] : [["Fleet health", "#/"], [org, orgHref], ["Audit trail", `${orgHref}/audit`]]);
  const path = `/api/admin/organizations/${encodeURIComponent(org)}/audit`;
  const chosen = { action: state.get("action") ?? "", target: state.get("target") ?? "", since: state.get("since") ?? "", until: state.get("until") ?? "" };
  const filters = { action: chosen.action || undefined, target: chosen.target || undefined,
    since: DAY.test(chosen.since) ? `${chosen.since}T00:00:00Z` : chosen.since || undefined,
    until: DAY.test(chosen.until) ? `${chosen.until}T23:59:59Z` : chosen.until || undefined };
  const filtered = Object.values(filters).some(Boolean);

  let first;
  let refused = "";
  try {
    first = await call("GET", path, { query: { ...filters, limit: PAGE } });
  } catch (error) {
    if (!(error instanceof ApiProblem && error.status === 400)) throw error;
    refused = `The vault refused these filters: ${error.detail || error.message} Change them and apply again.`;
    first = { events: [], cursor: null };
  }
  if (!stillCurrent()) return;

  const events = [...(first.events ?? [])];
  let cursor = first.cursor ?? null;
  const act = actionRunner(onProblem);
  const more = el("button", { type: "button", onclick: () => act(loadOlder) }, "Load older events");
  const count = el("p", { class: "hint", "aria-live": "polite", id: "audit-count" });
  const table = rowsTable({
    caption: `${title}, newest first`,
    sort: { key: "at", descending: true },
    pageSize: 50,
    emptyText: "No event.",
    columns: [
      { key: "at", label: "When", cell: (row) => el("span", { class: "when" }, timeText(row.at, { seconds: true })) },
      { key: "actor", label: "Who" },
      { key: "action", label: "Action", cell: (row) => el("code", { class: "action" }, row.action) },
      { key: "target", label: "Target", cell: targetCell },
      { key: "outcome", label: "Outcome", cell: (row) => el("span", { class: `outcome ${/^ok\b/.test(String(row.outcome)) ? "good" : "bad"}` }, String(row.outcome ?? "–")) },
      { key: "client_ip", label: "Address" },
    ],
  });

  function show() {
    table.show(events);
    count.textContent = `${events.length} event(s)${filtered ? " matching the filters" : ""} loaded${cursor ? "; older ones can be loaded" : ", all there are"}.`;
    more.hidden = !cursor;
  }

  async function loadOlder() {
    more.disabled = true;
    try {
      const page = await call("GET", path, { query: { ...filters, limit: PAGE, cursor } });
      events.push(...(page.events ?? []));
      cursor = page.cursor ?? null;
      show();
    } finally {
      more.disabled = false;
    }
  }

  replace(
    main,
    pageHeading(title),
    filterForm(orgHref, chosen),
    refused ? el("p", { class: "problem", role: "alert" }, refused) : null,
    events.length === 0
      ? emptyState(refused ? "No event shown." : filtered ? "No event in this organisation's whole trail matches the filters." : "Nothing has been recorded for this organisation yet.")
      : [count, table.element, more],
  );
  if (events.length) show();
}

/** The filters as a form: applying it writes them into the URL (a new history entry), which draws the view anew. */
function filterForm(orgHref, chosen) {
  const input = (name, attributes) => el("input", { id: `audit-${name}`, name, autocomplete: "off", spellcheck: "false", value: chosen[name], ...attributes });
  const action = input("action", { type: "text", list: "audit-actions", placeholder: "system.move, or system. for every verb", pattern: "[a-z_]+\\.([a-z_]+)?" });
  const target = input("target", { type: "text", placeholder: "system key, KEY/backup id, or token name", maxlength: "256" });
  const since = input("since", { type: "date" });
  const until = input("until", { type: "date" });
  const field = (label, control) => el("span", {}, el("label", { for: control.id }, label), control);
  for (const date of [since, until]) date.addEventListener("input", () => until.setCustomValidity(""));
  return el("form", { class: "controls audit-filters", role: "search", "aria-label": "Filter the audit trail", onsubmit: (event) => {
    event.preventDefault();
    if (since.value && until.value && since.value > until.value) return until.setCustomValidity("The end date is before the start date."), until.reportValidity();
    const query = new URLSearchParams(Object.entries({ action: action.value.trim(), target: target.value.trim(), since: since.value, until: until.value }).filter(([, v]) => v)).toString();
    location.hash = `${orgHref}/audit${query ? `?${query}` : ""}`;
  } },
    field("Action", action),
    el("datalist", { id: "audit-actions" }, ACTIONS.map((value) => el("option", { value }))),
    field("Target", target),
    field("From", since),
    field("To", until),
    el("span", {}, el("button", { type: "submit", class: "primary" }, "Apply"), Object.values(chosen).some(Boolean) ? el("a", { href: `${orgHref}/audit` }, "Clear the filters") : null),
    el("p", { class: "hint" }, "Dates are whole days in UTC, both included. The vault searches the whole trail, not only what is loaded."));
}

/**
 * The target of an event as links: a system key to its page, `KEY/ID` to the system and to that
 * backup on it (marked there, in its list or its recoverable backups), a token's name to the
 * tokens (for admins); any other target (an alert's webhook) is text.
 */
export function targetCell(row) {
  const target = String(row.target ?? "–");
  const action = String(row.action);
  if (/^token\./.test(action) && row.target && may("admin")) return el("a", { class: "target", href: "#/tokens" }, target);
  if (!/^(?:system|backup)\./.test(action) || !row.target) return el("span", { class: "target" }, target); // an alert's target is a webhook's id
  const [key, ...rest] = target.split("/");
  const system = `#/system/${encodeURIComponent(key)}`;
  if (/^backup\./.test(action) && rest.length) {
    const id = target.slice(key.length + 1);
    return el("span", { class: "target" }, el("a", { class: "target", href: system }, key), "/", el("a", { href: `${system}?backup=${encodeURIComponent(id)}`, "aria-label": `backup ${id} of ${key}` }, id));
  }
  return el("a", { class: "target", href: system }, target);
}
