// Operator tokens over HTTP (docs/api/operator.md, "Operator tokens over HTTP"): an admin lists,
// creates and revokes tokens inside its own scope and never above its own role. The token scheme
// and the checks on a new token's fields are the CLI's (src/auth/operator-token.ts); the CLI stays
// the way to make the first admin token.

import type { Context } from "hono";
import { generateOperatorToken, inScope, MAX_TOKEN_EXPIRES_DAYS, newOperatorTokenProblem, OPERATOR_TOKEN_NAME_PATTERN, operatorTokenStatus, operatorTokenView, roleAllows, type OperatorRole, type OperatorTokenRecord } from "../auth/operator-token";
import { ApiError } from "../errors";
import { envelope } from "../http/envelope";
import type { AuditEvent } from "../operator/audit";
import { insertOperatorToken, listScopedOperatorTokens, readLiveOperatorTokenByName, revokeOperatorTokenRecord } from "../operator/token-store";
import { rfc3339 } from "../platform/time";
import { actor, jsonBody, onlyFields, pageParams, requireRole } from "./access";
import type { AdminEnv, Operator } from "./app-env";

type Ctx = Context<AdminEnv>;

/** GET /api/admin/tokens: the tokens entirely within the caller's scope, live or not, by name (never a hash). */
export async function listTokens(c: Ctx): Promise<Response> {
  requireRole(c, "admin");
  const page = await listScopedOperatorTokens(c.env.OPERATOR_DB, c.get("operator").organizations, pageParams(c));
  if (!page) throw new ApiError(400, "invalid cursor");
  const now = Date.now();
  const tokens = page.tokens.map((t) => ({ ...operatorTokenView(t), status: operatorTokenStatus(t, now) }));
  return envelope(200, "tokens listed", { tokens, cursor: page.cursor });
}

/** POST /api/admin/tokens: a new token, shown once in the shape `token create --json` prints. */
export async function createToken(c: Ctx): Promise<Response> {
  requireRole(c, "admin");
  const body = await jsonBody(c);
  onlyFields(body, ["name", "role", "organizations", "expires_days"]);
  const problem = newOperatorTokenProblem({ name: body.name, role: body.role, organizations: body.organizations });
  if (problem) throw new ApiError(400, problem);
  const expiresDays = body.expires_days ?? null;
  if (expiresDays !== null && !(Number.isSafeInteger(expiresDays) && (expiresDays as number) >= 1 && (expiresDays as number) <= MAX_TOKEN_EXPIRES_DAYS))
    throw new ApiError(400, `expires_days must be a whole number of days from 1 to ${MAX_TOKEN_EXPIRES_DAYS}, or null`);
  const spec = { name: body.name as string, role: body.role as OperatorRole, organizations: body.organizations as string[] | "*", expiresDays: expiresDays as number | null };
  const caller = c.get("operator");
  if (!roleAllows(caller.role, spec.role)) throw new ApiError(403, "a token cannot be given a role above your own");
  if (spec.organizations === "*" && caller.organizations !== "*") throw new ApiError(403, "only an all-organisation token can create an all-organisation token");
  // An organisation outside the caller's scope answers as everywhere else: as if it did not exist.
  if (spec.organizations !== "*" && !spec.organizations.every((o) => inScope(caller, o))) throw new ApiError(404, "organization not found");

  const { token, record } = await generateOperatorToken(spec);
  const created = await insertOperatorToken(c.env.OPERATOR_DB, record, auditEvents(c, record, "token.create", `ok: ${record.role}`));
  if (!created) throw new ApiError(409, `a live token is already named ${JSON.stringify(spec.name)} (revoke it first, or choose another name)`);
  return envelope(201, "token created", { token, name: record.name, role: record.role, organizations: record.organizations, expires_at: record.expires_at });
}

/** DELETE /api/admin/tokens/{name}: revokes the live token of that name; one outside the caller's scope is 404. */
export async function revokeToken(c: Ctx): Promise<Response> {
  requireRole(c, "admin");
  const name = c.req.param("name") ?? "";
  if (!OPERATOR_TOKEN_NAME_PATTERN.test(name)) throw new ApiError(400, `invalid token name: it must match ${OPERATOR_TOKEN_NAME_PATTERN.source}`);
  const record = await readLiveOperatorTokenByName(c.env.OPERATOR_DB, name);
  if (!record || !withinScope(c.get("operator"), record)) throw new ApiError(404, "token not found");
  const revokedAt = rfc3339();
  await revokeOperatorTokenRecord(c.env.OPERATOR_DB, record.public_id, revokedAt, auditEvents(c, record, "token.revoke", "ok"));
  return envelope(200, "token revoked", { name: record.name, revoked_at: revokedAt });
}

/** True when every organisation of the token lies in the caller's scope (an all-organisation token: only for `*` callers). */
function withinScope(caller: Operator, record: OperatorTokenRecord): boolean {
  if (caller.organizations === "*") return true;
  return record.organizations !== "*" && record.organizations.every((o) => inScope(caller, o));
}

/** One event in each organisation of the token's scope (`*` for an all-organisation token), as the CLI records them. */
function auditEvents(c: Ctx, record: OperatorTokenRecord, action: "token.create" | "token.revoke", outcome: string): AuditEvent[] {
  const who = actor(c);
  const organizations = record.organizations === "*" ? ["*"] : record.organizations;
  return organizations.map((organizationId) => ({ organizationId, actor: who.name, action, target: record.name, outcome, clientIp: who.clientIp }));
}
