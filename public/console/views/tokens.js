// Operator tokens (admin only): the tokens this admin may manage (every organisation of theirs in
// its scope), live, revoked and expired, a page at a time; a new token (shown once, like a new
// secret) and revoking one after a confirmation. Others are told who manages tokens.

import { ApiProblem, call } from "../api.js";
import { confirmAction, showSecretOnce } from "../dialogs.js";
import { actionRunner, announce, el, emptyState, keepNotice, pageHeading, replace, showTrail, takeNotice } from "../elements.js";
import { timeText } from "../quantities.js";
import { currentIdentity, may } from "../session.js";
import { parsePage, parseSort, rowsTable } from "../table.js";
import { askNewToken } from "./token-form.js";

const PAGE = 100;
const STATUSES = ["live", "revoked", "expired"];

/** The tokens view (#/tokens?status=…). */
export async function tokensView({ main, trail, state, keepState, stillCurrent, onProblem, reload }) {
  showTrail(trail, [["Fleet health", "#/"], ["Operator tokens", "#/tokens"]]);
  if (!may("admin")) {
    return replace(main, pageHeading("Operator tokens"), el("p", { class: "notice", role: "note" },
      `Only an admin makes, lists and revokes operator tokens; this token's role is ${currentIdentity()?.role ?? "unknown"}. Ask an admin of your organisations for a new token or to revoke one.`));
  }
  const first = await call("GET", "/api/admin/tokens", { query: { limit: PAGE } });
  if (!stillCurrent()) return;
  const tokens = [...(first.tokens ?? [])];
  let cursor = first.cursor ?? null;
  const act = actionRunner(onProblem);

  const status = el("select", { id: "token-status" }, el("option", { value: "" }, "any status"), STATUSES.map((s) => el("option", { value: s, selected: s === state.get("status") }, s)));
  const columns = [
    { key: "name", label: "Name", cell: (row) => el("span", { class: "filename" }, row.name) },
    { key: "role", label: "Role" },
    { key: "organizations", label: "Organisations", value: scopeText, cell: (row) => el("span", { class: "target" }, scopeText(row)) },
    { key: "status", label: "Status", cell: (row) => el("span", { class: `badge token-${row.status}` }, row.status) },
    { key: "created_at", label: "Created", cell: (row) => timeText(row.created_at) },
    { key: "expires_at", label: "Expires", cell: (row) => (row.expires_at ? timeText(row.expires_at) : "never") },
    { key: "actions", label: "Actions", sortable: false, cell: (row) => row.status === "live"
      ? el("button", { type: "button", class: "danger", "aria-label": `Revoke ${row.name}`, onclick: () => act(() => revoke(row, reload)) }, "Revoke")
      : row.revoked_at ? el("span", { class: "hint" }, `revoked ${timeText(row.revoked_at)}`) : "–" },
  ];
  let tableState = { sort: state.get("sort") ?? "", page: parsePage(state.get("page")) + 1 };
  const remember = () => keepState({ status: status.value, sort: tableState.sort, page: tableState.page > 1 ? tableState.page : "" });
  const table = rowsTable({
    caption: "Operator tokens",
    rowKey: (row) => `${row.name} ${row.created_at}`,
    sort: parseSort(state.get("sort"), columns, { key: "name", descending: false }),
    page: parsePage(state.get("page")),
    emptyText: "No token has this status among those loaded.",
    columns,
    onChange: (next) => {
      tableState = next;
      remember();
    },
  });
  const more = el("button", { type: "button", onclick: () => act(loadMore) }, "Load more tokens");
  const count = el("p", { class: "hint", "aria-live": "polite" });
  const apply = (firstPage = false) => {
    table.show(tokens.filter((t) => !status.value || t.status === status.value), { firstPage });
    if (firstPage) tableState = { ...tableState, page: 1 };
    count.textContent = `${tokens.length} token(s) loaded${cursor ? "; more can be loaded" : ", all of them"}.`;
    more.hidden = !cursor;
    remember();
  };
  async function loadMore() {
    more.disabled = true;
    try {
      const page = await call("GET", "/api/admin/tokens", { query: { limit: PAGE, cursor } });
      tokens.push(...(page.tokens ?? []));
      cursor = page.cursor ?? null;
      apply();
    } finally {
      more.disabled = false;
    }
  }
  status.addEventListener("input", () => apply(true));

  replace(
    main,
    pageHeading("Operator tokens"),
    takeNotice(),
    el("div", { class: "toolbar" }, el("button", { type: "button", class: "primary", onclick: () => act(() => createToken(reload)) }, "New token"),
      // Events about tokens that reach every organisation are kept in the fleet-wide trail `*`.
      currentIdentity()?.organizations === "*" ? el("a", { href: "#/org/*/audit?action=token." }, "Audit trail of tokens for every organisation") : null),
    el("p", { class: "hint" }, "The tokens whose every organisation lies in your scope. A token is shown only when it is made; only its salted hash is kept."),
    tokens.length === 0
      ? emptyState("No operator token within your scope yet.")
      : [el("div", { class: "controls" }, el("span", {}, el("label", { for: "token-status" }, "Status"), status)), count, table.element, more],
  );
  if (tokens.length) apply();
}

/** "every organisation", or the ids. */
function scopeText(row) {
  return row.organizations === "*" ? "every organisation" : (row.organizations ?? []).join(", ");
}

/** Asks for the fields, makes the token, and shows it once (Escape asks first). */
async function createToken(reload) {
  const body = await askNewToken(currentIdentity());
  if (!body) return;
  let created;
  try {
    created = await call("POST", "/api/admin/tokens", { body });
  } catch (error) {
    if (error instanceof ApiProblem && error.status === 409) throw new ApiProblem(409, `A live token is already called “${body.name}”: choose another name, or revoke that token first.`, error.detail);
    if (error instanceof ApiProblem && error.status === 404) throw new ApiProblem(404, `The token was not made: an organisation in its scope is outside yours, or does not exist (${error.detail || "not found"}).`, error.detail);
    throw error;
  }
  await showSecretOnce({
    title: `Token ${created.name} created`,
    fields: [["Operator token", created.token]],
    note: `Role ${created.role}, ${scopeText(created)}, ${created.expires_at ? `expires ${timeText(created.expires_at)}` : "never expires"}. Give it to its holder over a safe channel.`,
    warning: "This token is shown only now. Only its salted hash is stored and it will not be shown again: give it to its holder or put it in a password manager before closing.",
    loss: "Close without the token? It cannot be shown again: its holder would have nothing to sign in with, and you would revoke it and make another.",
  });
  keepNotice(`Token ${created.name} created (${created.role}, ${scopeText(created)}).`);
  announce(`Token ${created.name} created.`);
  reload();
}

/** Revokes a live token after a confirmation (one's own too: the console then signs out). */
async function revoke(row, reload) {
  const own = row.name === currentIdentity()?.name;
  const ok = await confirmAction({
    title: `Revoke ${row.name}?`,
    body: [el("p", {}, `The token stops working on its next request, for the console and the API alike (${row.role}, ${scopeText(row)}). This cannot be undone: its holder needs a new token.`),
      own ? el("p", { class: "warning" }, "This is the token you are signed in with: the console signs out.") : null],
    confirmLabel: `Revoke ${row.name}`,
  });
  if (!ok) return;
  await call("DELETE", `/api/admin/tokens/${encodeURIComponent(row.name)}`);
  keepNotice(`Token ${row.name} revoked: it no longer works.`);
  announce(`Token ${row.name} revoked.`);
  reload();
}
