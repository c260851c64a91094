// The signed-in operator: the token lives in this tab's sessionStorage only (never a cookie, a
// URL or localStorage), so closing the tab signs out and no other tab or request can pick it up.

const TOKEN_KEY = "vault.operator-token";
const ROLE_RANK = { reader: 0, manager: 1, admin: 2 };

let identity = null;

/** The operator token of this tab, or "" when signed out. */
export function currentToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

/** Keeps the token for this tab. */
export function keepToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

/** Forgets the token and who it belongs to. */
export function endSession() {
  sessionStorage.removeItem(TOKEN_KEY);
  identity = null;
}

/** Records what the vault says the token is: `{name, role, organizations, expires_at}`. */
export function setIdentity(value) {
  identity = value;
}

/** The token's name, role, scope and expiry, once known. */
export function currentIdentity() {
  return identity;
}

/** Whether the token's role includes `role` (reader < manager < admin); unknown roles may do nothing. */
export function may(role) {
  const own = ROLE_RANK[identity?.role];
  return own !== undefined && own >= ROLE_RANK[role];
}
