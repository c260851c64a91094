// What the CLI writes to the operator database beside KV: operator tokens, and for every
// credential change it makes directly (--local/--remote), the system's index row and an
// audit event (actor `cli`), so that the operator plane sees the change at once.
import { generateOperatorToken, newOperatorTokenProblem, operatorTokenStatus, operatorTokenView } from "../../src/auth/operator-token.ts";
import { rfc3339 } from "../../src/platform/time.ts";
import { sqlLiteral as q } from "./d1.mjs";
import { SystemError } from "./systems.mjs";

/** The audit trail's actor for changes made with the CLI straight on the stores. */
export const CLI_ACTOR = "cli";

/** Makes an operator token and stores its record; returns what `token create --json` prints (the token shown once). */
export async function createOperatorToken(db, { name, role, organizations, expiresDays }) {
  const problem = newOperatorTokenProblem({ name, role, organizations });
  if (problem) throw new SystemError(problem);
  const { token, record } = await generateOperatorToken({ name, role, organizations, expiresDays });
  const scope = record.organizations === "*" ? "*" : JSON.stringify(record.organizations);
  const values = [record.public_id, record.name, record.role, scope, record.secret_sha256, record.created_at, record.expires_at, null];
  try {
    // One batch: the token and its audit events, or nothing (a live name is refused by the unique index).
    await db.query(
      `INSERT INTO operator_tokens VALUES (${values.map(q).join(", ")});\n` +
        auditSql(scopeOrgs(record.organizations), { action: "token.create", target: name, outcome: `ok: ${role}` }),
    );
  } catch (error) {
    if (/UNIQUE constraint failed: operator_tokens\.name/.test(`${error.message}\n${error.output ?? ""}`))
      throw new SystemError(`a live token is already named ${JSON.stringify(name)} (revoke it first, or choose another name)`);
    throw error;
  }
  return { token, name, role, organizations: record.organizations, expires_at: record.expires_at };
}

/** Every token, live or not, as `token list` shows it (never a hash). */
export async function listOperatorTokens(db) {
  const rows = await db.query("SELECT * FROM operator_tokens ORDER BY name, created_at");
  return rows.map((row) => {
    const view = operatorTokenView({ ...row, organizations: row.organizations === "*" ? "*" : JSON.parse(row.organizations) });
    return { ...view, status: operatorTokenStatus(view) };
  });
}

/** Revokes the live token of that name; it stops working at once (the worker reads D1 on every request). */
export async function revokeOperatorToken(db, name) {
  const rows = await db.query(`SELECT organizations FROM operator_tokens WHERE name = ${q(name)} AND revoked_at IS NULL`);
  if (rows.length === 0) throw new SystemError(`no live token is named ${JSON.stringify(name)} (see token list)`);
  const organizations = rows[0].organizations === "*" ? "*" : JSON.parse(rows[0].organizations);
  const at = rfc3339();
  await db.query(
    `UPDATE operator_tokens SET revoked_at = ${q(at)} WHERE name = ${q(name)} AND revoked_at IS NULL;\n` +
      auditSql(scopeOrgs(organizations), { action: "token.revoke", target: name, outcome: "ok" }),
  );
  return { name, revoked_at: at };
}

/** Writes the index row (or removes it, when `record` is null) and the audit event of a CLI change to a system. */
export async function recordSystemChange(db, systemKey, record, organizationId, action, outcome = "ok", { lease = null, tombstone = null } = {}) {
  // With the change's lease: the tombstone it leaves and its end go in the same D1 call (change-lease.mjs).
  const closing = lease ? `\n${lease.closing(tombstone)}` : "";
  await db.query(`${indexSql(systemKey, record)}\n${auditSql([organizationId], { action, target: systemKey, outcome })}${closing}`);
  lease?.ended();
}

/** Index rows and audit events for many systems at once (import), 200 records to a batch. */
export async function recordImport(db, records) {
  for (let i = 0; i < records.length; i += 200) {
    const batch = records.slice(i, i + 200);
    await db.query(batch.map(({ systemKey, record }) => `${indexSql(systemKey, record)}\n${auditSql([record.organization_id], { action: "system.create", target: systemKey, outcome: "ok: imported" })}`).join("\n"));
  }
}

function indexSql(systemKey, record) {
  if (record === null) return `DELETE FROM systems WHERE system_key = ${q(systemKey)};`;
  const values = [systemKey, record.organization_id, record.system_id, record.registered_at ?? null, record.suspended_at ?? null, record.deleted_at ?? null, record.append_only === true, rfc3339()];
  return `INSERT OR REPLACE INTO systems (system_key, organization_id, system_id, registered_at, suspended_at, deleted_at, append_only, indexed_at) VALUES (${values.map(q).join(", ")});`;
}

function scopeOrgs(organizations) {
  return organizations === "*" ? ["*"] : organizations;
}

function auditSql(organizations, { action, target, outcome }) {
  const at = rfc3339();
  return organizations
    .filter((org) => typeof org === "string")
    .map((org) => `INSERT INTO audit_events (organization_id, at, actor, action, target, outcome, client_ip) VALUES (${[org, at, CLI_ACTOR, action, target, outcome, null].map(q).join(", ")});`)
    .join("\n");
}
