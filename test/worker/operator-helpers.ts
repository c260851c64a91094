// Test helpers for the operator plane: tokens written straight into the local D1 (as the CLI
// writes them), and a client that calls /api/admin with a Bearer token.

import { env } from "cloudflare:workers";
import { generateOperatorToken, type OperatorRole } from "../../src/auth/operator-token";
import { upsertSystemStatement } from "../../src/operator/system-index";
import { client, json, newOrg, newSystem, send, type Overrides, type TestSystem } from "./helpers";

export const ADMIN = "https://vault.test/api/admin";

export interface TestOperator {
  token: string;
  name: string;
  role: OperatorRole;
  authorization: string;
}

/** Stores a new operator token in D1 and returns it in the clear. */
export async function newOperator(
  role: OperatorRole,
  organizations: string[] | "*",
  options: { expiresDays?: number; revoked?: boolean; expiresAt?: string } = {},
): Promise<TestOperator> {
  const name = `${role}-${crypto.randomUUID().slice(0, 8)}`;
  const { token, record } = await generateOperatorToken({ name, role, organizations, expiresDays: options.expiresDays });
  const expires = options.expiresAt ?? record.expires_at;
  await env.OPERATOR_DB.prepare("INSERT INTO operator_tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    .bind(
      record.public_id,
      name,
      role,
      organizations === "*" ? "*" : JSON.stringify(record.organizations),
      record.secret_sha256,
      record.created_at,
      expires,
      options.revoked ? record.created_at : null,
    )
    .run();
  return { token, name, role, authorization: `Bearer ${token}` };
}

/** Calls the operator API: `path` is below /api/admin (with its query), `body` is sent as JSON. */
export function admin(operator: TestOperator | null, method: string, path: string, body?: unknown, overrides?: Overrides): Promise<Response> {
  const headers: Record<string, string> = {};
  if (operator) headers.Authorization = operator.authorization;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return send(new Request(ADMIN + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }), overrides);
}

/** An organisation with one system holding one backup: the unit every operator test acts on. */
export async function newFleetOrg(org = newOrg()): Promise<{ org: string; system: TestSystem; backupId: string }> {
  const system = await newSystem({ org });
  const uploaded = await client(system).upload(`backup of ${system.key}`, "nightly.tar.gz.gpg");
  const { data } = await json(uploaded);
  // The index row the worker writes on create (these systems are provisioned straight into KV, as by the CLI).
  await upsertSystemStatement(env.OPERATOR_DB, system.key, system.record).run();
  return { org, system, backupId: data.id };
}

/**
 * Everything an operator request could change for these organisations and systems: KV records,
 * R2 objects (key and etag), index rows, moves, audit events, each ledger's usage, and operator tokens.
 */
export async function storageSnapshot(orgs: string[], systemKeys: string[]): Promise<string> {
  const kv = await Promise.all(systemKeys.map((k) => env.SYSTEMS.get(k)));
  const r2: string[] = [];
  for (const org of orgs) {
    for (const prefix of [`${org}/`, `.blobs/${org}/`]) {
      const page = await env.BACKUPS.list({ prefix, limit: 1000 });
      r2.push(...page.objects.map((o) => `${o.key}@${o.etag}`));
    }
  }
  const orgList = JSON.stringify(orgs);
  const keyList = JSON.stringify(systemKeys);
  const rows = await env.OPERATOR_DB.prepare(
    "SELECT system_key, organization_id, suspended_at, deleted_at, append_only FROM systems WHERE organization_id IN (SELECT value FROM json_each(?)) OR system_key IN (SELECT value FROM json_each(?)) ORDER BY system_key",
  )
    .bind(orgList, keyList)
    .all();
  const moves = await env.OPERATOR_DB.prepare("SELECT * FROM moves WHERE system_key IN (SELECT value FROM json_each(?))").bind(keyList).all();
  // A refusal is audited (outcome `denied: …`) and changes nothing else: it is not counted here.
  const audit = await env.OPERATOR_DB.prepare(
    "SELECT COUNT(*) AS n FROM audit_events WHERE organization_id IN (SELECT value FROM json_each(?)) AND outcome NOT LIKE 'denied:%'",
  )
    .bind(orgList)
    .first();
  const ledgers = await Promise.all(orgs.map((org) => env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(org)).systemsUsage(org, null)));
  // Operator tokens (every one: a token may be made for `*`) and the audit events about all-organisation tokens.
  const tokens = await env.OPERATOR_DB.prepare("SELECT public_id, revoked_at FROM operator_tokens ORDER BY public_id").all();
  const fleetAudit = await env.OPERATOR_DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE organization_id = '*' AND outcome NOT LIKE 'denied:%'").first();
  return JSON.stringify({ kv, r2, rows: rows.results, moves: moves.results, audit, ledgers, tokens: tokens.results, fleetAudit });
}
