// Erasure and moves as use cases, called without HTTP against the local bindings, with one
// call failing at every step of each (the fault-free run's own calls, each made to throw, or
// to take effect and lose its answer). Whatever fails: nothing is lost, nothing half-moved,
// the record stays while anything could be left, and a plain retry finishes the job.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { verifySystemSecret, type SystemRecord } from "../../src/auth/secret";
import { moveSystem, type MoveStores } from "../../src/admin/move";
import { purgeSystem } from "../../src/admin/purge";
import { readIndexedSystem } from "../../src/operator/system-index";
import { FaultInjector, plansFor } from "./fault-bindings";
import { client, json, newOrg, NO_RATE_LIMITS, objectKeys, patternBytes, sha256Hex, storedBytes } from "./helpers";
import { newFleetOrg } from "./operator-helpers";

const ACTOR = { name: "fault-test", clientIp: "10.0.0.1" };

function storesOf(injector: FaultInjector): MoveStores {
  return {
    kv: injector.wrap(env.SYSTEMS, "SYSTEMS"),
    db: injector.wrapD1(env.OPERATOR_DB),
    bucket: injector.wrap(env.BACKUPS, "BACKUPS"),
    ledger: injector.wrapNamespace(env.ORG_LEDGER as unknown as DurableObjectNamespace) as unknown as MoveStores["ledger"],
    limits: { maxSizePerOrg: 0, recoveryDays: 7 },
  };
}

/** A system with three backups of distinct bytes (the last one split: its bytes in a blob), and a failed upload's blob left behind. */
async function fixture() {
  const fleet = await newFleetOrg();
  const backups = new Map<string, string>(); // id → sha256
  const first = await env.BACKUPS.head(`${fleet.org}/${fleet.system.key}/${fleet.backupId}`);
  backups.set(fleet.backupId, first!.customMetadata!.sha256);
  for (let i = 0; i < 2; i++) {
    const bytes = patternBytes(5000 + i, 100 + i);
    const split = i === 1 ? { ...NO_RATE_LIMITS, BACKUP_BUFFERED_UPLOAD_MAX: "0" } : NO_RATE_LIMITS;
    const { data } = await json(await client(fleet.system, split).upload(bytes, `b${i}.tar.xz`, {}));
    backups.set(data.id, await sha256Hex(bytes));
  }
  await env.BACKUPS.put(`.blobs/${fleet.org}/${fleet.system.key}/leftover.tar.gz`, "a failed upload's bytes");
  const record = (await env.SYSTEMS.get(fleet.system.key, "json")) as SystemRecord;
  return { ...fleet, record, backups };
}

/** Every backup, wherever it now is, with its digest recomputed from its bytes. */
async function heldBackups(orgs: string[], key: string): Promise<Map<string, string>> {
  const held = new Map<string, string>();
  for (const org of orgs) {
    for (const objectKey of await objectKeys(`${org}/${key}/`)) {
      const object = await env.BACKUPS.head(objectKey);
      const digest = await sha256Hex((await storedBytes(objectKey))!);
      expect(digest, `${objectKey} matches its recorded digest`).toBe(object!.customMetadata!.sha256);
      held.set(objectKey.slice(org.length + key.length + 2), digest);
    }
  }
  return held;
}

async function ledgerRows(org: string, key: string) {
  return env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(org)).systemBackups(org, key);
}

/** A purged system's record stays as a tombstone: retired, purged, and its old secret never verifies again. */
async function expectTombstone(key: string, secret: string) {
  const record = (await env.SYSTEMS.get(key, "json")) as SystemRecord;
  expect(record.purged_at).toBeTruthy();
  expect(record.deleted_at).toBeTruthy();
  expect(await verifySystemSecret({ ...record, deleted_at: null, purged_at: null }, secret)).toBe(false);
}

describe("purge", () => {
  it("erases every object (a failed upload's blob too), the ledger rows, the index row, then the record; repeatable", async () => {
    const f = await fixture();
    const { deleted } = await purgeSystem(storesOf(new FaultInjector()), ACTOR, f.system.key);
    expect(deleted).toBe(4);
    expect(await objectKeys(`${f.org}/${f.system.key}/`)).toEqual([]);
    expect(await objectKeys(`.blobs/${f.org}/${f.system.key}/`)).toEqual([]);
    await expectTombstone(f.system.key, f.system.secret);
    expect(await readIndexedSystem(env.OPERATOR_DB, f.system.key)).toBeNull();
    expect(await ledgerRows(f.org, f.system.key)).toEqual([]);
    const again = await purgeSystem(storesOf(new FaultInjector()), ACTOR, f.system.key);
    expect(again.deleted).toBe(0);
  });

  it("with a fault at any step: 503 with the record kept while anything is left, and a retry finishes", async () => {
    const plans = await plansFor(async (injector) => {
      const f = await fixture();
      await purgeSystem(storesOf(injector), ACTOR, f.system.key);
    });
    expect(plans.length).toBeGreaterThanOrEqual(20);
    for (const plan of plans) {
      const f = await fixture();
      const injector = new FaultInjector(plan);
      const outcome = await purgeSystem(storesOf(injector), ACTOR, f.system.key).then(
        () => "done",
        (err) => err,
      );
      expect(injector.injected, plan.label).not.toBeNull();
      const left = (await objectKeys(`${f.org}/${f.system.key}/`)).length + (await objectKeys(`.blobs/${f.org}/${f.system.key}/`)).length;
      if (outcome !== "done") {
        expect(outcome.status, plan.label).toBe(503);
        if (left > 0) expect(await env.SYSTEMS.get(f.system.key), `${plan.label}: record kept`).not.toBeNull();
        // What is left is intact: a failed erasure never corrupts.
        await heldBackups([f.org], f.system.key);
        await purgeSystem(storesOf(new FaultInjector()), ACTOR, f.system.key);
      } else {
        expect(left, plan.label).toBe(0);
      }
      expect(await objectKeys(`${f.org}/${f.system.key}/`), plan.label).toEqual([]);
      await expectTombstone(f.system.key, f.system.secret);
      expect(await ledgerRows(f.org, f.system.key), plan.label).toEqual([]);
    }
  }, 120_000);
});

describe("move", () => {
  it("copies every backup byte-exact with its metadata, switches the record, removes the old copies", async () => {
    const f = await fixture();
    const to = newOrg();
    const before = await env.BACKUPS.head(`${f.org}/${f.system.key}/${f.backupId}`);
    const { record, backups } = await moveSystem(storesOf(new FaultInjector()), ACTOR, f.system.key, to);
    expect(backups).toBe(3);
    expect(record.organization_id).toBe(to);
    expect(await heldBackups([to], f.system.key)).toEqual(f.backups);
    expect(await objectKeys(`${f.org}/${f.system.key}/`)).toEqual([]);
    expect(await objectKeys(`.blobs/${f.org}/${f.system.key}/`)).toEqual([]); // the split backup's blob and the failed upload's
    const after = await env.BACKUPS.head(`${to}/${f.system.key}/${f.backupId}`);
    expect(after!.customMetadata).toEqual(before!.customMetadata);
    expect(after!.httpMetadata?.contentType).toBe(before!.httpMetadata?.contentType);
    expect(((await env.SYSTEMS.get(f.system.key, "json")) as SystemRecord).organization_id).toBe(to);
    expect((await readIndexedSystem(env.OPERATOR_DB, f.system.key))!.organization_id).toBe(to);
    expect(await ledgerRows(f.org, f.system.key)).toEqual([]);
    expect((await ledgerRows(to, f.system.key)).map((r) => r.id).sort()).toEqual([...f.backups.keys()].sort());
    // The appliance finds its backups, under the same ids, through its own API.
    const listed = await json(await client({ ...f.system, org: to }).list());
    expect(listed.data.backups.map((b: { id: string }) => b.id).sort()).toEqual([...f.backups.keys()].sort());
    const audit = await env.OPERATOR_DB.prepare("SELECT organization_id FROM audit_events WHERE action = 'system.move' AND target = ?").bind(f.system.key).all();
    expect(audit.results.map((r) => r.organization_id).sort()).toEqual([f.org, to].sort());
  });

  it("with a fault at any step: nothing lost, the appliance sees all its backups, and a retry resumes and finishes", async () => {
    const plans = await plansFor(async (injector) => {
      const f = await fixture();
      await moveSystem(storesOf(injector), ACTOR, f.system.key, newOrg());
    });
    expect(plans.length).toBeGreaterThanOrEqual(30);
    for (const plan of plans) {
      const f = await fixture();
      const to = newOrg();
      const injector = new FaultInjector(plan);
      const outcome = await moveSystem(storesOf(injector), ACTOR, f.system.key, to).then(
        () => "done",
        (err) => err,
      );
      expect(injector.injected, plan.label).not.toBeNull();
      if (outcome !== "done") expect(outcome.status, plan.label).toBe(503);
      // Nothing lost: every backup is held, byte-exact, in one organisation or the other.
      const held = await heldBackups([f.org, to], f.system.key);
      for (const [id, digest] of f.backups) expect(held.get(id), `${plan.label}: ${id}`).toBe(digest);
      // The appliance, wherever its record now points, lists every backup.
      const current = (await env.SYSTEMS.get(f.system.key, "json")) as SystemRecord;
      const listed = await json(await client({ ...f.system, org: current.organization_id }).list());
      expect(listed.data.backups.length, plan.label).toBe(f.backups.size);
      if (outcome !== "done") await moveSystem(storesOf(new FaultInjector()), ACTOR, f.system.key, to);
      expect(await heldBackups([to], f.system.key), plan.label).toEqual(f.backups);
      expect(await objectKeys(`${f.org}/${f.system.key}/`), plan.label).toEqual([]);
      expect(await objectKeys(`.blobs/${f.org}/${f.system.key}/`), plan.label).toEqual([]);
      expect(((await env.SYSTEMS.get(f.system.key, "json")) as SystemRecord).organization_id).toBe(to);
      expect(await ledgerRows(f.org, f.system.key), plan.label).toEqual([]);
      expect((await ledgerRows(to, f.system.key)).length, plan.label).toBe(f.backups.size);
      const journal = await env.OPERATOR_DB.prepare("SELECT * FROM moves WHERE system_key = ?").bind(f.system.key).first();
      expect(journal, plan.label).toBeNull();
    }
  }, 240_000);

  it("refuses a move elsewhere while one is in progress, and a move that the destination quota cannot take", async () => {
    const f = await fixture();
    const to = newOrg();
    const injector = new FaultInjector({ binding: "SYSTEMS", method: "put", nth: 1, mode: "throw" });
    await expect(moveSystem(storesOf(injector), ACTOR, f.system.key, to)).rejects.toMatchObject({ status: 503 });
    await expect(moveSystem(storesOf(new FaultInjector()), ACTOR, f.system.key, newOrg())).rejects.toMatchObject({ status: 409 });
    await moveSystem(storesOf(new FaultInjector()), ACTOR, f.system.key, to);

    const g = await fixture();
    const small = { ...storesOf(new FaultInjector()), limits: { maxSizePerOrg: 100, recoveryDays: 7 } };
    await expect(moveSystem(small, ACTOR, g.system.key, newOrg())).rejects.toMatchObject({ status: 413 });
    expect(await heldBackups([g.org], g.system.key)).toEqual(g.backups);
  }, 30_000);
});
