// The organisation ledger keeps itself equal to R2: rebuilt when new, reconciled daily.

import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/backups/ids";
import { TIMINGS } from "../../src/config";
import { OrgLedger } from "../../src/ledger/org-ledger";

const RECONCILE_EVERY_MS = TIMINGS.reconcileEveryMs;
import { client, json, newSystem, patternBytes } from "./helpers";

function ledger(org: string) {
  return env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(org));
}

describe("ledger reconciliation with R2", () => {
  it("drops rows whose object is gone and adds objects it never recorded", async () => {
    const system = await newSystem();
    const api = client(system);
    const a = (await json(await api.upload(patternBytes(1000), "a.gpg"))).data;
    const b = (await json(await api.upload(patternBytes(500), "b.gpg"))).data;
    const stub = ledger(system.org);
    expect(await stub.usageBytes(system.org)).toBe(1500);

    // A delete whose ledger update was lost, and an object whose rollback failed.
    await env.BACKUPS.delete(`${system.org}/${system.key}/${a.id}`);
    await env.BACKUPS.put(`${system.org}/${system.key}/${uuidv7()}.gpg`, patternBytes(300), { customMetadata: { sha256: "0".repeat(64) } });
    expect(await stub.usageBytes(system.org)).toBe(1500);

    expect(await stub.reconcile(system.org)).toEqual({ dropped: 1, added: 1 });
    expect(await stub.usageBytes(system.org)).toBe(800);
    expect(await stub.reconcile(system.org)).toEqual({ dropped: 0, added: 0 });
    expect((await json(await api.list())).data.backups.map((x: any) => x.id)).toContain(b.id);
  });

  it("schedules its next reconciliation when it is built, and runs it from the alarm once due", async () => {
    const system = await newSystem();
    await (await client(system).upload("x", "x.gpg")).body?.cancel();
    const stub = ledger(system.org);
    const alarm = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThan(Date.now() + RECONCILE_EVERY_MS - 60_000);
    expect(alarm).toBeLessThanOrEqual(Date.now() + RECONCILE_EVERY_MS);

    // Make the reconciliation due, leave a ghost row, and let the alarm run.
    await env.BACKUPS.put(`${system.org}/${system.key}/${uuidv7()}.gpg`, patternBytes(10), { customMetadata: { sha256: "0".repeat(64) } });
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE meta SET value = '0' WHERE name = 'reconciled_at'");
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.usageBytes(system.org)).toBe(11);
    const next = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    expect(next).toBeGreaterThan(Date.now() + RECONCILE_EVERY_MS - 60_000);
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
    const stub = ledger(system.org);
    const columns = (state: DurableObjectState) => state.storage.sql.exec<{ name: string }>("PRAGMA table_info(backups)").toArray().map((c) => c.name);
    await runInDurableObject(stub, (_instance, state) => {
      // The table as the first deployment created it; then the ledger starts again (twice: idempotent).
      state.storage.sql.exec("ALTER TABLE backups DROP COLUMN sha256");
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
