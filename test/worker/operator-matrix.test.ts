// The generated authorization matrix: every role × every operator endpoint × the token's own
// organisation, a foreign one and an unknown one. Inside the scope the role decides (success
// or 403); outside it the answer is 404, exactly as for something that does not exist. No
// refusal changes anything in KV, R2, D1 or the ledgers.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { generateOperatorToken, OPERATOR_ROLES, roleAllows, type OperatorRole } from "../../src/auth/operator-token";
import { basicAuthorization, json, newOrg, send } from "./helpers";
import { newLegacySystem } from "./legacy-helpers";
import { ADMIN, admin, newFleetOrg, newOperator, storageSnapshot } from "./operator-helpers";
import { hourlyMaintenance } from "../../src/operator/maintenance";

interface Endpoint {
  name: string;
  role: OperatorRole;
  method: string;
  /** The path for a system key, backup id and organisation (one of them unused by most). */
  path: (t: { key: string; id: string; org: string }) => string;
  success: number;
  body?: (destination: string) => unknown;
  /** What the target is: the organisation in the path, the system, or one of its backups. */
  on: "organization" | "system" | "backup";
}

const ENDPOINTS: Endpoint[] = [
  { name: "list systems", role: "reader", method: "GET", path: (t) => `/organizations/${t.org}/systems`, success: 200, on: "organization" },
  { name: "create system", role: "admin", method: "POST", path: (t) => `/organizations/${t.org}/systems`, success: 201, on: "organization", body: () => ({}) },
  { name: "read audit", role: "reader", method: "GET", path: (t) => `/organizations/${t.org}/audit`, success: 200, on: "organization" },
  { name: "show system", role: "reader", method: "GET", path: (t) => `/systems/${t.key}`, success: 200, on: "system" },
  { name: "append-only", role: "manager", method: "PATCH", path: (t) => `/systems/${t.key}`, success: 200, on: "system", body: () => ({ append_only: true }) },
  { name: "suspend", role: "manager", method: "POST", path: (t) => `/systems/${t.key}/suspend`, success: 200, on: "system" },
  { name: "resume", role: "manager", method: "POST", path: (t) => `/systems/${t.key}/resume`, success: 200, on: "system" },
  { name: "rotate", role: "admin", method: "POST", path: (t) => `/systems/${t.key}/rotate`, success: 200, on: "system" },
  { name: "retire", role: "admin", method: "DELETE", path: (t) => `/systems/${t.key}`, success: 200, on: "system" },
  { name: "purge", role: "admin", method: "DELETE", path: (t) => `/systems/${t.key}?purge=true`, success: 200, on: "system" },
  { name: "move", role: "admin", method: "POST", path: (t) => `/systems/${t.key}/move`, success: 200, on: "system", body: (to) => ({ organization_id: to }) },
  { name: "list backups", role: "reader", method: "GET", path: (t) => `/systems/${t.key}/backups`, success: 200, on: "system" },
  { name: "delete backup", role: "manager", method: "DELETE", path: (t) => `/systems/${t.key}/backups/${t.id}`, success: 200, on: "backup" },
  { name: "name and notes", role: "manager", method: "PATCH", path: (t) => `/systems/${t.key}`, success: 200, on: "system", body: () => ({ name: "Edge 1", notes: "n" }) },
  { name: "read settings", role: "admin", method: "GET", path: (t) => `/organizations/${t.org}/settings`, success: 200, on: "organization" },
  { name: "change settings", role: "admin", method: "PATCH", path: (t) => `/organizations/${t.org}/settings`, success: 200, on: "organization", body: () => ({ stale_after_days: 3 }) },
  // Without targets the allowed answer is 409 (nothing to send), after scope and role.
  { name: "test alert", role: "admin", method: "POST", path: (t) => `/organizations/${t.org}/settings/test-alert`, success: 409, on: "organization" },
  { name: "create link", role: "reader", method: "POST", path: (t) => `/systems/${t.key}/backups/${t.id}/link`, success: 200, on: "backup" },
];

type Target = "own" | "foreign" | "unknown";
const UNKNOWN_KEY = () => `NETH-${crypto.randomUUID()}`;
const UNKNOWN_ID = "01900000-0000-7000-8000-000000000000.tar.gz";

describe("authorization matrix", () => {
  const cells = ENDPOINTS.flatMap((e) => OPERATOR_ROLES.flatMap((role) => (["own", "foreign", "unknown"] as Target[]).map((target) => ({ e, role, target }))));

  it.each(cells.map((c) => [`${c.role} → ${c.e.name} (${c.target})`, c] as const))("%s", async (_, { e, role, target }) => {
    const own = await newFleetOrg();
    const foreign = await newFleetOrg();
    const destination = newOrg();
    const operator = await newOperator(role, [own.org, destination]);
    const fixture = target === "foreign" ? foreign : own;
    const t =
      target === "unknown"
        ? { org: newOrg(), key: e.on === "backup" ? own.system.key : UNKNOWN_KEY(), id: UNKNOWN_ID }
        : { org: fixture.org, key: fixture.system.key, id: fixture.backupId };
    const orgs = [own.org, foreign.org, destination, t.org];
    const keys = [own.system.key, foreign.system.key, t.key];
    const before = await storageSnapshot(orgs, keys);
    const response = await admin(operator, e.method, e.path(t), e.body?.(destination));
    const body = await json(response);

    // An unknown backup of an own system is inside the scope: the role is checked first there.
    const inScope = target === "own" || (target === "unknown" && e.on === "backup");
    const expected = !inScope ? 404 : !roleAllows(role, e.role) ? 403 : target === "own" ? e.success : 404;
    expect(response.status, body.message).toBe(expected);
    if (response.status >= 400) {
      expect(await storageSnapshot(orgs, keys)).toBe(before);
      expect(body.data).toBeNull();
      // Every refusal is in the audit trail: its organisation's when in scope, else the fleet-wide one.
      const refusal = await env.OPERATOR_DB.prepare("SELECT outcome FROM audit_events WHERE organization_id = ? AND actor = ? ORDER BY seq DESC LIMIT 1")
        .bind(inScope ? own.org : "*", operator.name)
        .first<{ outcome: string }>();
      expect(refusal?.outcome).toBe(`denied: ${response.status} ${body.message}`);
      // A foreign organisation, system or backup looks exactly like one that does not exist.
      if (response.status === 404) expect(body.message).toMatch(/^(organization|system|backup) not found$/);
    }
  });

  it("all-organisation tokens reach every organisation; an unknown system is still 404", async () => {
    const some = await newFleetOrg();
    for (const role of OPERATOR_ROLES) {
      const operator = await newOperator(role, "*");
      const shown = await admin(operator, "GET", `/systems/${some.system.key}`);
      expect(shown.status).toBe(200);
      expect((await json(shown)).data.organization_id).toBe(some.org);
      const unknown = await admin(operator, "GET", `/systems/${UNKNOWN_KEY()}`);
      expect(unknown.status).toBe(404);
      await unknown.arrayBuffer();
      const suspend = await admin(operator, "POST", `/systems/${some.system.key}/suspend`);
      expect(suspend.status).toBe(roleAllows(role, "manager") ? 200 : 403);
      await suspend.arrayBuffer();
    }
  });

  it("GET /organizations lists exactly the organisations in scope", async () => {
    const a = await newFleetOrg();
    const b = await newFleetOrg();
    const empty = newOrg();
    const operator = await newOperator("reader", [a.org, empty]);
    const response = await admin(operator, "GET", "/organizations");
    const { data } = await json(response);
    expect(response.status).toBe(200);
    expect(data.organizations.map((o: { organization_id: string }) => o.organization_id)).toEqual([a.org, empty].sort());
    const listed = data.organizations.find((o: { organization_id: string }) => o.organization_id === a.org);
    expect(listed).toMatchObject({ systems: 1, backups: 1, bytes_used: `backup of ${a.system.key}`.length, quota_bytes: 100 * 1024 ** 3 });
    expect(JSON.stringify(data)).not.toContain(b.org);
  });

  it.each(ENDPOINTS.map((e) => [e.name, e] as const))("legacy credentials never work on the operator API: %s is 401, nothing changes", async (_, e) => {
    const own = await newFleetOrg();
    const legacy = await newLegacySystem({ org: own.org });
    const t = { org: own.org, key: legacy.key, id: own.backupId };
    const before = await storageSnapshot([own.org], [own.system.key, legacy.key]);
    const headers: Record<string, string> = { Authorization: legacy.legacyAuthorization };
    if (e.body) headers["Content-Type"] = "application/json";
    const response = await send(new Request(ADMIN + e.path(t), { method: e.method, headers, body: e.body ? JSON.stringify(e.body(newOrg())) : undefined }));
    expect(response.status).toBe(401);
    expect((await json(response)).data).toBeNull();
    expect(await storageSnapshot([own.org], [own.system.key, legacy.key])).toBe(before);
  }, 30_000);

  it("POST …/systems with a legacy identity: the secret is kept only as a salted hash, works on the older protocol, and a second system with the same system_id is 409", async () => {
    const org = newOrg();
    const operator = await newOperator("admin", [org]);
    const legacyId = `imported-${crypto.randomUUID()}`;
    const created = await admin(operator, "POST", `/organizations/${org}/systems`, { system_id: legacyId, legacy_secret: "the old secret" });
    expect(created.status).toBe(201);
    const { data } = await json(created);
    expect(data.system_id).toBe(legacyId);
    const stored = JSON.parse((await env.SYSTEMS.get(data.system_key))!);
    expect(stored.legacy_secret_sha256).toMatch(/^[0-9a-f]+:[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain("the old secret");
    const list = await send(new Request("https://vault.test/enterprise/api/v2/backup/", { headers: { Authorization: basicAuthorization(legacyId, "the old secret") } }));
    expect(list.status).toBe(200);
    await list.arrayBuffer();
    const again = await admin(operator, "POST", `/organizations/${org}/systems`, { system_id: legacyId, legacy_secret: "another" });
    expect(again.status).toBe(409);
    await again.arrayBuffer();
    for (const body of [{ system_id: "" }, { system_id: "x".repeat(129) }, { system_id: "ok-id", legacy_secret: "" }, { system_id: "ok-id", legacy_secret: 5 }, { legacy_secret: "no id" }]) {
      const bad = await admin(operator, "POST", `/organizations/${org}/systems`, body);
      expect(bad.status, JSON.stringify(body)).toBe(400);
      await bad.arrayBuffer();
    }
  }, 30_000);

  it("GET /health, GET /systems?q= and GET /metrics show exactly the organisations in scope, to every role", async () => {
    const a = await newFleetOrg();
    const b = await newFleetOrg();
    await hourlyMaintenance(env);
    for (const role of OPERATOR_ROLES) {
      const operator = await newOperator(role, [a.org]);
      const health = await json(await admin(operator, "GET", "/health?limit=1000"));
      expect(health.data.organizations.map((o: { organization_id: string }) => o.organization_id)).toEqual([a.org]);
      const found = await json(await admin(operator, "GET", `/systems?q=${b.system.key}`));
      expect(found.data.systems).toEqual([]);
      const own = await json(await admin(operator, "GET", `/systems?q=${a.system.key}`));
      expect(own.data.systems.map((s: { system_key: string }) => s.system_key)).toEqual([a.system.key]);
      const metrics = await (await admin(operator, "GET", "/metrics")).text();
      expect(metrics).toContain(`organization="${a.org}"`);
      expect(metrics).not.toContain(b.org);
      const foreign = await admin(operator, "GET", `/metrics?organization=${b.org}`);
      expect(foreign.status).toBe(404);
      await foreign.body?.cancel();
    }
  });

  it("GET /systems/{key}/backups says how many retention slots are used, and of how many", async () => {
    const a = await newFleetOrg();
    const operator = await newOperator("reader", [a.org]);
    const response = await admin(operator, "GET", `/systems/${a.system.key}/backups`);
    const { data } = await json(response);
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ slots_used: 1, slots_limit: 10, bytes_used: `backup of ${a.system.key}`.length }); // BACKUP_MAX_PER_SYSTEM's default
  });
});

// The token endpoints have no organisation in the path: the scope is the one the body names (create)
// or the one the named token has (revoke). Every role × a scoped and an all-organisation caller ×
// each target: only admins act, only inside their scope; a foreign target is 404 (or 403 for `*`,
// which is no organisation), and no refusal writes a token or an audit event.
describe("authorization matrix: operator tokens", () => {
  type TokenTarget = "own" | "foreign" | "mixed" | "all" | "unknown";
  const TOKEN_ENDPOINTS: { name: string; method: string; targets: TokenTarget[] }[] = [
    { name: "list tokens", method: "GET", targets: ["own"] },
    { name: "create token", method: "POST", targets: ["own", "foreign", "mixed", "all"] },
    { name: "revoke token", method: "DELETE", targets: ["own", "foreign", "mixed", "all", "unknown"] },
  ];
  const cells = TOKEN_ENDPOINTS.flatMap((e) =>
    OPERATOR_ROLES.flatMap((role) => (["scoped", "*"] as const).flatMap((caller) => e.targets.map((target) => ({ e, role, caller, target })))),
  );

  it.each(cells.map((c) => [`${c.role} (${c.caller}) → ${c.e.name} (${c.target})`, c] as const))("%s", async (_, { e, role, caller, target }) => {
    const [own, foreign] = [newOrg(), newOrg()];
    const operator = await newOperator(role, caller === "*" ? "*" : [own]);
    const scopeOf: Record<TokenTarget, string[] | "*"> = { own: [own], foreign: [foreign], mixed: [own, foreign], all: "*", unknown: [own] };
    const name = `matrix ${crypto.randomUUID().slice(0, 8)}`;
    // The token a revoke targets, made beforehand as the CLI makes it (unknown: never made).
    if (e.method === "DELETE" && target !== "unknown") await newNamedOperator(name, scopeOf[target]);
    const before = await tokenSnapshot([own, foreign]);
    const path = e.method === "GET" ? "/tokens" : e.method === "POST" ? "/tokens" : `/tokens/${encodeURIComponent(name)}`;
    const body = e.method === "POST" ? { name, role: "reader", organizations: scopeOf[target] } : undefined;
    const response = await admin(operator, e.method, path, body);
    const answer = await json(response);

    const reaches = caller === "*" || target === "own" || target === "unknown";
    const success = e.method === "POST" ? 201 : 200;
    const expected = !roleAllows(role, "admin") ? 403 : target === "unknown" ? 404 : reaches ? success : e.method === "POST" && target === "all" ? 403 : 404;
    expect(response.status, answer.message).toBe(expected);
    if (response.status >= 400) {
      expect(answer.data).toBeNull();
      expect(await tokenSnapshot([own, foreign])).toBe(before);
      if (response.status === 404) expect(answer.message).toMatch(/^(organization|token) not found$/);
    } else if (e.method !== "GET") {
      expect(await tokenSnapshot([own, foreign])).not.toBe(before);
    }
  });
});

/** Stores a token of this name and scope straight into D1 (as the CLI does). */
async function newNamedOperator(name: string, organizations: string[] | "*"): Promise<void> {
  const { record } = await generateOperatorToken({ name, role: "reader", organizations });
  await env.OPERATOR_DB.prepare("INSERT INTO operator_tokens VALUES (?, ?, ?, ?, ?, ?, ?, NULL)")
    .bind(record.public_id, name, record.role, organizations === "*" ? "*" : JSON.stringify(record.organizations), record.secret_sha256, record.created_at, record.expires_at)
    .run();
}

/** Every token (public id, revocation) and the audit events of these organisations and of `*` (refusals, audited as denied, apart). */
async function tokenSnapshot(orgs: string[]): Promise<string> {
  const tokens = await env.OPERATOR_DB.prepare("SELECT public_id, revoked_at FROM operator_tokens ORDER BY public_id").all();
  const audit = await env.OPERATOR_DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE organization_id IN (SELECT value FROM json_each(?)) AND outcome NOT LIKE 'denied:%'")
    .bind(JSON.stringify([...orgs, "*"]))
    .first();
  return JSON.stringify({ tokens: tokens.results, audit });
}
