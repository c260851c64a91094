// The organisation ledger keeps itself equal to R2: rebuilt when new, reconciled daily, page
// by page, outside the fleet's backup hours.

import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { uuidv7 } from "../../src/backups/ids";
import { OrgLedger } from "../../src/ledger/org-ledger";
import { migrateLedger } from "../../src/ledger/schema";
import { FaultInjector, injectIntoLedger } from "./fault-bindings";
import { client, json, keyOf, newSystem, organizationLedger, patternBytes } from "./helpers";

const HOUR = 3_600_000;

afterEach(() => {
  vi.useRealTimers();
});

describe("ledger reconciliation with R2", () => {
  it("drops rows whose object is gone and adds objects it never recorded", async () => {
    const system = await newSystem();
    const api = client(system);
    const a = (await json(await api.upload(patternBytes(1000), "a.gpg"))).data;
    const b = (await json(await api.upload(patternBytes(500), "b.gpg"))).data;
    const stub = organizationLedger(system.org);
    expect(await stub.usageBytes(system.org)).toBe(1500);

    // A delete whose ledger update was lost, and an object whose rollback failed.
    await env.BACKUPS.delete(keyOf(system, a.id));
    await env.BACKUPS.put(keyOf(system, `${uuidv7()}.gpg`), patternBytes(300), { customMetadata: { sha256: "0".repeat(64) } });
    expect(await stub.usageBytes(system.org)).toBe(1500);

    // A row committed within the last minute may not be in a page listed meanwhile: it is spared.
    expect(await stub.reconcile(system.org)).toEqual({ dropped: 0, added: 1 });
    vi.setSystemTime(Date.now() + 2 * 60_000);
    expect(await stub.reconcile(system.org)).toEqual({ dropped: 1, added: 0 });
    expect(await stub.usageBytes(system.org)).toBe(800);
    expect(await stub.reconcile(system.org)).toEqual({ dropped: 0, added: 0 });
    expect((await json(await api.list())).data.backups.map((x: any) => x.id)).toContain(b.id);
  });

  it("never adds back a backup deleted while its page was being listed", async () => {
    const system = await newSystem();
    const api = client(system);
    const a = (await json(await api.upload(patternBytes(100), "a.gpg"))).data;
    const stub = organizationLedger(system.org);
    // The page is listed (the object is in it), then the system deletes the backup, then the page is applied.
    let listed = false;
    const deleteAfterListing = new FaultInjector(null, {
      afterCall: async (call) => {
        if (call.method !== "list" || listed) return; // the backups' page, not the blobs' after it
        listed = true;
        expect((await api.remove(a.id)).status).toBe(200);
      },
    });
    await injectIntoLedger(deleteAfterListing, system.org);
    expect(await stub.reconcile(system.org)).toEqual({ dropped: 0, added: 0 });
    expect(await stub.usageBytes(system.org)).toBe(0);
  });

  it("schedules its daily reconciliation outside 00:00–06:00 UTC, and runs it from the alarm once due", async () => {
    const system = await newSystem();
    await (await client(system).upload("x", "x.gpg")).body?.cancel();
    const stub = organizationLedger(system.org);
    const alarm = (await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm()))!;
    expect(alarm).toBeGreaterThan(Date.now() + HOUR - 60_000);
    expect(alarm).toBeLessThanOrEqual(Date.now() + 25 * HOUR);
    expect(new Date(alarm).getUTCHours()).toBeGreaterThanOrEqual(6);

    // An unrecorded object, and the alarm's time come: the reconciliation runs from the alarm.
    await env.BACKUPS.put(keyOf(system, `${uuidv7()}.gpg`), patternBytes(10), { customMetadata: { sha256: "0".repeat(64) } });
    vi.setSystemTime(alarm);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.usageBytes(system.org)).toBe(11);
    // One page an alarm: the organisation's blobs come next, and end the pass.
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.sql.exec("SELECT value FROM meta WHERE name = 'sync'").one().value)).toMatch(/"blobs":true/);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const next = (await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm()))!;
    expect(next).toBeGreaterThan(alarm + 23 * HOUR);
    expect(new Date(next).getUTCHours()).toBeGreaterThanOrEqual(6);
  });

  it("postpones a reconciliation that comes due during the backup hours to 06:00 UTC", async () => {
    const system = await newSystem();
    await (await client(system).upload("x", "x.gpg")).body?.cancel();
    const stub = organizationLedger(system.org);
    const alarm = (await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm()))!;
    const nightAfter = Math.ceil(alarm / (24 * HOUR)) * 24 * HOUR + 2 * HOUR; // 02:00 UTC after it was due
    vi.setSystemTime(nightAfter);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const passRunning = await runInDurableObject(stub, (_instance, state) => state.storage.sql.exec("SELECT value FROM meta WHERE name = 'sync'").toArray().length);
    expect(passRunning).toBe(0); // nothing started during the backup hours
    const next = (await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm()))!;
    expect(next).toBe(nightAfter + 4 * HOUR);
  });

  it("upgrades a ledger of the first version in place: totals seeded from its rows, ages from its ids until reconciled", async () => {
    const system = await newSystem();
    const stub = organizationLedger(system.org);
    const id = `${uuidv7(Date.now() - 3 * 86_400_000)}.gpg`;
    await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      for (const table of ["migrations", "totals", "tombstones", "backups", "reservations", "uploads", "meta"]) sql.exec(`DROP TABLE IF EXISTS ${table}`);
      // The first version's schema and state, as a deployed ledger has them.
      sql.exec("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)");
      sql.exec("CREATE TABLE backups (system_key TEXT NOT NULL, id TEXT NOT NULL, size INTEGER NOT NULL, doomed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (system_key, id))");
      sql.exec("CREATE TABLE reservations (token TEXT PRIMARY KEY, system_key TEXT NOT NULL, size INTEGER NOT NULL, expires_at INTEGER NOT NULL)");
      sql.exec("CREATE TABLE uploads (system_key TEXT NOT NULL, at INTEGER NOT NULL)");
      sql.exec("INSERT INTO backups VALUES (?, ?, 700, 0)", system.key, id);
      sql.exec("INSERT INTO reservations VALUES ('t', ?, 50, ?)", system.key, Date.now() + HOUR);
      for (const [name, value] of [["organization_id", system.org], ["built_at", "1"], ["reconciled_at", String(Date.now())]]) sql.exec("INSERT INTO meta VALUES (?, ?)", name, value);
      migrateLedger(state.storage);
      migrateLedger(state.storage); // idempotent
      expect(sql.exec("SELECT name FROM migrations ORDER BY name").toArray().map((r) => r.name)).toEqual(["backup-digest", "commit-time", "hot-path-indexes", "recovery-window", "running-totals", "seals", "tombstones", "v1"]);
      expect(sql.exec("SELECT name, bytes FROM totals ORDER BY name").toArray()).toEqual([{ name: "committed", bytes: 700 }, { name: "reserved", bytes: 50 }]);
      expect(sql.exec("SELECT committed_at FROM backups").one().committed_at).toBeNull();
    });
    expect(await stub.usageBytes(system.org)).toBe(750);
    await env.BACKUPS.put(keyOf(system, id), patternBytes(700), { customMetadata: { sha256: "0".repeat(64) } });
    expect(await stub.reconcile(system.org)).toEqual({ dropped: 0, added: 0 });
    const committedAt = await runInDurableObject(stub, (_instance, state) => state.storage.sql.exec("SELECT committed_at FROM backups").one().committed_at);
    expect(committedAt).toBeGreaterThan(Date.now() - 60_000); // filled from R2's own time for the object
  });
});

describe("ledger schema migration", () => {
  it("a ledger from before the digest column gains it on start, keeps its rows, and learns the digests at its reconciliation", async () => {
    const system = await newSystem();
    const api = client(system);
    const bytes = patternBytes(700, 21);
    const first = await api.upload(bytes, "a.gpg");
    expect(first.status).toBe(201);
    await first.arrayBuffer();
    const stub = organizationLedger(system.org);
    const columns = (state: DurableObjectState) => state.storage.sql.exec<{ name: string }>("PRAGMA table_info(backups)").toArray().map((c) => c.name);
    await runInDurableObject(stub, (_instance, state) => {
      // The table as the first deployment created it; then the ledger starts again (twice: idempotent).
      state.storage.sql.exec("ALTER TABLE backups DROP COLUMN sha256");
      state.storage.sql.exec("DELETE FROM migrations WHERE name = 'backup-digest'");
      expect(columns(state)).not.toContain("sha256");
      new OrgLedger(state, env);
      new OrgLedger(state, env);
      expect(columns(state)).toContain("sha256");
      expect(state.storage.sql.exec("SELECT sha256 FROM backups").toArray()).toEqual([{ sha256: null }]);
    });
    // The newest backup's digest is unknown: the same bytes are stored again, nothing is lost.
    const unknown = await api.upload(bytes, "a.gpg");
    expect(unknown.status).toBe(201);
    await unknown.arrayBuffer();
    await runInDurableObject(stub, (_instance, state) => state.storage.sql.exec("UPDATE backups SET sha256 = NULL"));
    expect(await stub.reconcile(system.org)).toEqual({ dropped: 0, added: 0 });
    const retry = await api.upload(bytes, "a.gpg");
    expect(retry.status).toBe(200);
    await retry.arrayBuffer();
    expect(await stub.usageBytes(system.org)).toBe(2 * 700);
  });
});
