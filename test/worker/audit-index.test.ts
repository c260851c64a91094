// The audit trail (who did what, newest first, per organisation, append-only, kept
// AUDIT_RETENTION_DAYS) and the operator index (paginated listing; healed by the hourly sweep
// after changes made to KV behind the worker's back).

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/backups/ids";
import { TIMINGS } from "../../src/config";
import { recordAudit } from "../../src/operator/audit";
import { upsertSystemStatement } from "../../src/operator/system-index";
import { hourlyMaintenance } from "../../src/operator/maintenance";
import { readIndexedSystem } from "../../src/operator/system-index";
import { client, json, newOrg, newSystem, send } from "./helpers";
import { checkConformance } from "./openapi-conformance";
import { admin, newFleetOrg, newOperator } from "./operator-helpers";

const DAY = 86_400_000;

async function events(org: string, query = "") {
  const operator = await newOperator("reader", [org]);
  const response = await admin(operator, "GET", `/organizations/${org}/audit${query}`);
  expect(response.status).toBe(200);
  return (await json(response)).data as { events: Record<string, string>[]; cursor: string | null };
}

async function sweepFully(): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const before = await env.OPERATOR_DB.prepare("SELECT cursor FROM index_sweep").first<{ cursor: string | null }>();
    await hourlyMaintenance(env);
    const after = await env.OPERATOR_DB.prepare("SELECT cursor FROM index_sweep").first<{ cursor: string | null }>();
    if (after?.cursor === null && i > 0 && before !== undefined) return;
  }
}

describe("audit trail", () => {
  it("records operator actions, appliance deletes and retention prunes: who, what, target, outcome, address", async () => {
    const fleet = await newFleetOrg();
    const operator = await newOperator("manager", [fleet.org]);
    const suspend = await send(new Request(`https://vault.test/api/admin/systems/${fleet.system.key}/suspend`, { method: "POST", headers: { Authorization: operator.authorization, "CF-Connecting-IP": "198.51.100.7" } }));
    expect(suspend.status).toBe(200);
    await suspend.arrayBuffer();
    await (await admin(operator, "POST", `/systems/${fleet.system.key}/resume`)).arrayBuffer();
    expect((await client(fleet.system).remove(fleet.backupId)).status).toBe(200);

    // Retention: with one backup kept per system, the second upload prunes the first.
    const limits = { BACKUP_MAX_PER_SYSTEM: "1", BACKUP_PROTECT_DAILY: "0", BACKUP_PROTECT_WEEKLY: "0", BACKUP_RATE_LIMIT_PER_MINUTE: "0" };
    const first = await json(await client(fleet.system, limits).upload("one", "a.gpg"));
    await (await client(fleet.system, limits).upload("two", "b.gpg")).arrayBuffer();
    let trail = await events(fleet.org);
    for (let i = 0; i < 20 && !trail.events.some((e) => e.action === "backup.prune"); i++) {
      await new Promise((r) => setTimeout(r, 50));
      trail = await events(fleet.org);
    }
    const actions = trail.events.map((e) => e.action);
    expect(actions).toEqual(["backup.prune", "backup.delete", "system.resume", "system.suspend"]);
    const [prune, remove, , suspended] = trail.events;
    // Both stay recoverable for RECOVERY_DAYS (docs/recovery.md), and the outcome says so.
    expect(prune).toMatchObject({ actor: "retention", target: `${fleet.system.key}/${first.data.id}`, outcome: "ok: recoverable", client_ip: null });
    expect(remove).toMatchObject({ actor: fleet.system.key, target: `${fleet.system.key}/${fleet.backupId}` });
    expect(remove.outcome).toMatch(/^ok: recoverable until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(suspended).toMatchObject({ actor: operator.name, target: fleet.system.key, outcome: "ok", client_ip: "198.51.100.7" });
    expect(Date.parse(suspended.at)).toBeGreaterThan(Date.now() - 60_000);
    // Another organisation sees none of it.
    expect((await events(newOrg())).events).toEqual([]);
  });

  it("files events about all-organisation tokens under *, readable by all-organisation tokens only", async () => {
    await recordAudit(env.OPERATOR_DB, [{ organizationId: "*", actor: "cli", action: "token.create", target: "fleet-admin", outcome: "ok: admin", clientIp: null }]);
    const fleetAdmin = await newOperator("reader", "*");
    const { data } = await json(await admin(fleetAdmin, "GET", "/organizations/*/audit"));
    expect(data.events.some((e: { target: string }) => e.target === "fleet-admin")).toBe(true);
    const scoped = await admin(await newOperator("admin", [newOrg()]), "GET", "/organizations/*/audit");
    expect(scoped.status).toBe(400);
    await scoped.arrayBuffer();
  });

  it("pages newest first with an opaque cursor", async () => {
    const org = newOrg();
    const base = Date.now() - 10_000;
    await recordAudit(
      env.OPERATOR_DB,
      [0, 1, 2, 3, 4].map((i) => ({ organizationId: org, actor: "t", action: "backup.link" as const, target: `n${i}`, outcome: "ok", clientIp: null, at: base + i * 1000 })),
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await events(org, `?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.events.map((e) => e.target));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual(["n4", "n3", "n2", "n1", "n0"]);
  });

  it("is append-only: the database refuses to change an event, and the API has no way to remove one", async () => {
    const org = newOrg();
    await recordAudit(env.OPERATOR_DB, [{ organizationId: org, actor: "t", action: "system.create", target: "x", outcome: "ok", clientIp: null }]);
    await expect(env.OPERATOR_DB.prepare("UPDATE audit_events SET outcome = 'forged' WHERE organization_id = ?").bind(org).run()).rejects.toThrow(/append-only/);
    const operator = await newOperator("admin", [org]);
    for (const method of ["DELETE", "PUT", "PATCH", "POST"]) {
      const response = await admin(operator, method, `/organizations/${org}/audit`);
      expect(response.status).toBe(405);
      await response.arrayBuffer();
    }
    expect((await events(org)).events).toHaveLength(1);
  });

  it("keeps events AUDIT_RETENTION_DAYS (400) and no longer, as the clock moves forward", async () => {
    const org = newOrg();
    const now = Date.now();
    const at = (daysAgo: number) => ({ organizationId: org, actor: "t", action: "backup.link" as const, target: `${daysAgo}d`, outcome: "ok", clientIp: null, at: now - daysAgo * DAY });
    await recordAudit(env.OPERATOR_DB, [at(401), at(399), at(1)]);
    await hourlyMaintenance(env, now);
    expect((await events(org)).events.map((e) => e.target)).toEqual(["1d", "399d"]);
    await hourlyMaintenance(env, now + 2 * DAY);
    expect((await events(org)).events.map((e) => e.target)).toEqual(["1d"]);
    await hourlyMaintenance(env, now + 398 * DAY);
    expect((await events(org)).events.map((e) => e.target)).toEqual(["1d"]);
    await hourlyMaintenance(env, now + 400 * DAY);
    expect((await events(org)).events).toEqual([]);
  });
});

describe("operator index", () => {
  it("lists an organisation's systems in pages, each with status, usage and last backup", async () => {
    const fleet = await newFleetOrg();
    const operator = await newOperator("reader", [fleet.org]);
    for (let i = 0; i < 4; i++) await (await admin(await newOperator("admin", [fleet.org]), "POST", `/organizations/${fleet.org}/systems`, { append_only: i % 2 === 0 })).arrayBuffer();
    const keys: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      // In key order on request (the default is the most silent first: fleet-health.test.ts).
      const response = await admin(operator, "GET", `/organizations/${fleet.org}/systems?sort=system_key&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      const { data } = await json(response);
      keys.push(...data.systems.map((s: { system_key: string }) => s.system_key));
      cursor = data.cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(keys).toEqual([...keys].sort());
    expect(new Set(keys).size).toBe(5);
    const { data } = await json(await admin(operator, "GET", `/organizations/${fleet.org}/systems?limit=1000`));
    const withBackup = data.systems.find((s: { system_key: string }) => s.system_key === fleet.system.key);
    expect(withBackup).toMatchObject({ status: "active", backups: 1, bytes_used: `backup of ${fleet.system.key}`.length });
    expect(Date.parse(withBackup.last_backup_at)).toBeGreaterThan(Date.now() - 60_000);
    expect(data.systems.filter((s: { backups: number }) => s.backups === 0).every((s: { last_backup_at: null }) => s.last_backup_at === null)).toBe(true);
    for (const bad of ["limit=0", "limit=1001", "limit=abc", "limit=", "cursor=", "cursor=***", "limit=-1"]) {
      const response = await admin(operator, "GET", `/organizations/${fleet.org}/systems?${bad}`);
      expect(response.status, bad).toBe(400);
      await response.arrayBuffer();
    }
  });

  it("heals from KV: records changed, added or removed behind the worker's back are repaired by the sweep", async () => {
    const org = newOrg();
    const changed = await newSystem({ org });
    const removed = await newSystem({ org });
    await sweepFully();
    expect((await readIndexedSystem(env.OPERATOR_DB, changed.key))!.suspended_at).toBeNull();
    const added = await newSystem({ org });
    await env.SYSTEMS.put(changed.key, JSON.stringify({ ...changed.record, suspended_at: "2026-01-01T00:00:00Z" }));
    await env.SYSTEMS.delete(removed.key);
    expect(await readIndexedSystem(env.OPERATOR_DB, added.key)).toBeNull();
    await sweepFully();
    expect((await readIndexedSystem(env.OPERATOR_DB, changed.key))!.suspended_at).toBe("2026-01-01T00:00:00Z");
    expect((await readIndexedSystem(env.OPERATOR_DB, added.key))!.organization_id).toBe(org);
    expect(await readIndexedSystem(env.OPERATOR_DB, removed.key)).toBeNull();
  });

  it("repairs a system's row when it is read", async () => {
    const fleet = await newFleetOrg();
    await env.SYSTEMS.put(fleet.system.key, JSON.stringify({ ...fleet.system.record, append_only: true }));
    const operator = await newOperator("reader", [fleet.org]);
    const shown = await json(await admin(operator, "GET", `/systems/${fleet.system.key}`));
    expect(shown.data.append_only).toBe(true);
    expect((await readIndexedSystem(env.OPERATOR_DB, fleet.system.key))!.append_only).toBe(true);
  });
});

describe("the OpenAPI document", () => {
  it("is served at /api/openapi.json, covering both planes", async () => {
    const response = await send(new Request("https://vault.test/api/openapi.json"));
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
    const doc = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/api/systems/backups", "/api/admin/organizations", "/api/downloads/{token}"]));
    const post = await send(new Request("https://vault.test/api/openapi.json", { method: "POST" }));
    expect(post.status).toBe(405);
    await post.arrayBuffer();
  });

  it("is what every test response is held to: the check fails on any drift", async () => {
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
    const system = {
      ...{ system_key: "k", system_id: "i", organization_id: "o", name: null, notes: null, status: "active", health: "ok", append_only: false, registered_at: null },
      ...{ backups: 0, bytes_used: 0, last_backup_at: null, last_seen_at: null, last_refused_at: null, last_refused_reason: null },
    };
    const url = "https://vault.test/api/admin/systems/k";
    await expect(checkConformance("GET", url, reply(200, { code: 200, message: "ok", data: system }))).resolves.toBeUndefined();
    const drifts: [string, Response][] = [
      ["a field missing", reply(200, { code: 200, message: "ok", data: { ...system, backups: undefined } })],
      ["an extra field", reply(200, { code: 200, message: "ok", data: { ...system, secret_sha256: "x" } })],
      ["a wrong status value", reply(200, { code: 200, message: "ok", data: { ...system, status: "gone" } })],
      ["code differs from the status", reply(200, { code: 201, message: "ok", data: system })],
      ["an undocumented status", reply(418, { code: 418, message: "teapot", data: null })],
      ["401 without its challenge", reply(401, { code: 401, message: "invalid token", data: null })],
      ["not the envelope", reply(404, { error: "nope" })],
    ];
    for (const [what, response] of drifts) await expect(checkConformance("GET", url, response), what).rejects.toThrow(/GET \/api\/admin/);
  });
});

describe("usage while an organisation's ledger rebuilds", () => {
  it("is 503 with Retry-After until the ledger has counted every backup, then exact", async () => {
    const org = newOrg();
    const system = await newSystem({ org });
    await upsertSystemStatement(env.OPERATOR_DB, system.key, system.record).run();
    // More backups than one rebuild page, written straight to R2: the ledger has never seen them.
    const count = TIMINGS.syncPageSize * 2 + 1;
    const metadata = { customMetadata: { sha256: "0".repeat(64), filename: "x.gpg", uploaded_at: "2026-01-01T00:00:00Z" } };
    for (let i = 0; i < count; i += 100)
      await Promise.all(Array.from({ length: Math.min(100, count - i) }, () => env.BACKUPS.put(`${org}/${system.key}/${uuidv7()}.gpg`, "x", metadata)));
    const operator = await newOperator("reader", [org]);
    const statuses: number[] = [];
    let listed: { backups: number } | undefined;
    for (let attempt = 0; attempt < 20 && !listed; attempt++) {
      const response = await admin(operator, "GET", `/organizations/${org}/systems`);
      statuses.push(response.status);
      if (response.status === 503) expect(response.headers.get("Retry-After")).toBe("30");
      const body = await json(response);
      if (response.status === 200) listed = body.data.systems[0];
    }
    expect(statuses[0]).toBe(503);
    expect(listed).toMatchObject({ backups: count, bytes_used: count });
  }, 120_000);
});
