// An organisation's audit trail, newest first, a page of events at a time ("Load older").

import { call } from "../api.js";
import { actionRunner, el, emptyState, pageHeading, replace, showTrail } from "../elements.js";
import { timeText } from "../quantities.js";
import { rowsTable } from "../table.js";

const PAGE = 100;

/** The audit view (#/org/{org}/audit). */
export async function auditView({ main, trail, params: [org], state, keepState, stillCurrent, onProblem }) {
  const orgHref = `#/org/${encodeURIComponent(org)}`;
  showTrail(trail, [["Fleet health", "#/"], [org, orgHref], ["Audit trail", `${orgHref}/audit`]]);
  const path = `/api/admin/organizations/${encodeURIComponent(org)}/audit`;
  const first = await call("GET", path, { query: { limit: PAGE } });
  if (!stillCurrent()) return;

  const events = [...(first.events ?? [])];
  let cursor = first.cursor ?? null;
  const action = el("select", { id: "audit-action" });
  let initialAction = state.get("action") ?? ""; // from the URL, for the first drawing only
  const filter = el("input", { id: "audit-filter", type: "search", autocomplete: "off", placeholder: "actor, target or address", value: state.get("q") ?? "" });
  const act = actionRunner(onProblem);
  const more = el("button", { type: "button", onclick: () => act(loadOlder) }, "Load older events");
  const count = el("p", { class: "hint", "aria-live": "polite" });
  const table = rowsTable({
    caption: `Audit trail of ${org}, newest first`,
    sort: { key: "at", descending: true },
    pageSize: 50,
    emptyText: "No event matches the filters.",
    columns: [
      { key: "at", label: "When", cell: (row) => el("span", { class: "when" }, timeText(row.at, { seconds: true })) },
      { key: "actor", label: "Who" },
      { key: "action", label: "Action", cell: (row) => el("code", { class: "action" }, row.action) },
      { key: "target", label: "Target", cell: targetCell },
      { key: "outcome", label: "Outcome", cell: (row) => el("span", { class: `outcome ${/^ok\b/.test(String(row.outcome)) ? "good" : "bad"}` }, String(row.outcome ?? "–")) },
      { key: "client_ip", label: "Address" },
    ],
  });

  function apply() {
    const known = [...new Set(events.map((e) => e.action))].sort();
    const chosen = action.value || initialAction;
    initialAction = "";
    replace(action, el("option", { value: "" }, "any action"), known.map((name) => el("option", { value: name, selected: name === chosen }, name)));
    const needle = filter.value.trim().toLowerCase();
    table.show(events.filter((e) => (!action.value || e.action === action.value) &&
      (!needle || [e.actor, e.target, e.client_ip].some((v) => String(v ?? "").toLowerCase().includes(needle)))));
    count.textContent = `${events.length} event(s) loaded${cursor ? "; older ones can be loaded" : ", the whole trail"}.`;
    more.hidden = !cursor;
    keepState({ action: action.value, q: filter.value.trim() });
  }

  async function loadOlder() {
    more.disabled = true;
    try {
      const page = await call("GET", path, { query: { limit: PAGE, cursor } });
      events.push(...(page.events ?? []));
      cursor = page.cursor ?? null;
      apply();
    } finally {
      more.disabled = false;
    }
  }

  action.addEventListener("input", apply);
  filter.addEventListener("input", apply);
  replace(
    main,
    pageHeading(`Audit trail of ${org}`),
    events.length === 0
      ? emptyState("Nothing has been recorded for this organisation yet.")
      : [
          el("div", { class: "controls" },
            el("span", {}, el("label", { for: "audit-action" }, "Action"), action),
            el("span", {}, el("label", { for: "audit-filter" }, "Filter"), filter)),
          count,
          table.element,
          more,
        ],
  );
  apply();
}

/** The target of a system's or a backup's event (`KEY` or `KEY/backup-id`) links to the system; any other is text. */
export function targetCell(row) {
  const target = String(row.target ?? "–");
  const key = /^(?:system|backup|alert)\./.test(String(row.action)) && row.target ? target.split("/")[0] : "";
  return key ? el("a", { class: "target", href: `#/system/${encodeURIComponent(key)}` }, target) : el("span", { class: "target" }, target);
}
