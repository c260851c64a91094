// Faults at every step of the recovery window's erasure and restore, and R2 bucket locks. For
// each call a fault-free run makes, one run makes that call fail (throw, or take effect and lose
// its answer); then a plain retry (the next cron run, or the same request after the ledger's
// alarm) must converge: nothing lost, nothing erased twice or early, the ledger equal to R2.
// A lock refusal (R2 error 10069, injected: locks are not emulated locally) is "not yet": never
// a failed request, never a lost backup.

import { env } from "cloudflare:workers";
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { eraseEndedWindows } from "../../src/ledger/recovery-client";
import { FaultInjector, injectIntoLedger, plansFor } from "./fault-bindings";
import { client, json, keyOf, objectKeys, organizationLedger, patternBytes, recoveryPrefixOf, runCron, type TestSystem } from "./helpers";
import { admin, newFleetOrg, newOperator, type TestOperator } from "./operator-helpers";

const HOUR = 3_600_000;
const LOCKED = "R2 error 10069: this object is locked by a bucket lock rule";

interface Fixture {
  org: string;
  system: TestSystem;
  kept: string;
  id: string;
  bytes: Uint8Array;
  eraseAfter: number;
  manager: TestOperator;
}

/** A system with one backup kept and one deleted into the window. */
async function fixture(): Promise<Fixture> {
  const { org, system, backupId } = await newFleetOrg();
  const bytes = patternBytes(1500, 9);
  const id = (await json(await client(system).upload(bytes, "r.tar.gz"))).data.id as string;
  expect((await client(system).remove(id)).status).toBe(200);
  const copy = await env.BACKUPS.head(recoveryPrefixOf(system) + id);
  return { org, system, kept: backupId, id, bytes, eraseAfter: Date.parse(copy!.customMetadata!.erase_after), manager: await newOperator("manager", [org]) };
}

async function auditCount(org: string, action: string, target: string): Promise<number> {
  const row = await env.OPERATOR_DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE organization_id = ? AND action = ? AND target = ?").bind(org, action, target).first<{ n: number }>();
  return row!.n;
}

async function recoverableIds(f: Fixture): Promise<string[]> {
  return (await organizationLedger(f.org).recoverable(f.org, f.system.key)).map((b) => b.id);
}

/** The ledger equals R2: quota bytes and recoverable bytes. */
async function expectLedgerEqualsR2(f: Fixture): Promise<void> {
  const sum = async (prefix: string) => {
    let bytes = 0;
    for (const key of await objectKeys(prefix)) bytes += (await env.BACKUPS.head(key))!.size;
    return bytes;
  };
  expect(await organizationLedger(f.org).usageBytes(f.org)).toBe(await sum(`${f.org}/`));
  expect(await organizationLedger(f.org).recoverableBytes(f.org)).toBe(await sum(`.recovery/${f.org}/`));
}

/** The cron's erasure with the worker's D1 and ledger stubs wrapped, and the ledger's own R2. */
async function eraseWith(injector: FaultInjector, f: Fixture, now: number): Promise<void> {
  await injectIntoLedger(injector, f.org);
  const wrapped = { ...env, OPERATOR_DB: injector.wrapD1(env.OPERATOR_DB), ORG_LEDGER: injector.wrapNamespace(env.ORG_LEDGER as unknown as DurableObjectNamespace) } as unknown as Env;
  await eraseEndedWindows(wrapped, now).catch(() => undefined);
}

describe("faults at every step of the erasure at the end of the window", () => {
  it("erases exactly once, audited once, never early; the next run finishes what a fault stopped", async () => {
    const plans = await plansFor(async (probe) => {
      const f = await fixture();
      await eraseWith(probe, f, f.eraseAfter + 1);
      expect(await recoverableIds(f)).toEqual([]);
    });
    expect(plans.length).toBeGreaterThanOrEqual(6);
    for (const plan of plans) {
      const f = await fixture();
      await eraseWith(new FaultInjector(plan), f, f.eraseAfter - 1); // not yet due: nothing happens, fault or not
      expect(await recoverableIds(f), plan.label).toEqual([f.id]);
      await eraseWith(new FaultInjector(plan), f, f.eraseAfter + 1);
      await eraseWith(new FaultInjector(), f, f.eraseAfter + HOUR); // the next run
      expect(await env.BACKUPS.head(recoveryPrefixOf(f.system) + f.id), plan.label).toBeNull();
      expect(await recoverableIds(f), plan.label).toEqual([]);
      expect(await auditCount(f.org, "backup.erase", `${f.system.key}/${f.id}`), plan.label).toBe(1);
      expect(await env.BACKUPS.head(keyOf(f.system, f.kept)), plan.label).not.toBeNull();
      await expectLedgerEqualsR2(f);
    }
  }, 300_000);
});

describe("faults at every step of a restore", () => {
  it("answers 200 or 503; after the ledger's alarm and a retry the backup is back byte-exact, once", async () => {
    const restore = (injector: FaultInjector, f: Fixture) =>
      admin(f.manager, "POST", `/systems/${f.system.key}/recoverable/${f.id}/restore`, undefined, injector.operatorOverrides());
    const plans = await plansFor(async (probe) => {
      const f = await fixture();
      await injectIntoLedger(probe, f.org);
      expect((await restore(probe, f)).status).toBe(200);
    });
    expect(plans.some((p) => p.binding === "LEDGER.BACKUPS" && p.method === "put")).toBe(true);
    for (const plan of plans) {
      const f = await fixture();
      const injector = new FaultInjector(plan);
      await injectIntoLedger(injector, f.org);
      const first = await restore(injector, f);
      expect([200, 503], plan.label).toContain(first.status);
      await first.body?.cancel();
      await injectIntoLedger(new FaultInjector(), f.org);
      await runDurableObjectAlarm(organizationLedger(f.org));
      const retry = await restore(new FaultInjector(), f);
      expect(retry.status, plan.label).toBe(200);
      expect((await json(retry)).data.id).toBe(f.id);
      expect(new Uint8Array(await (await client(f.system).download(f.id)).arrayBuffer()), plan.label).toEqual(f.bytes);
      expect(await recoverableIds(f), plan.label).toEqual([]);
      expect(await objectKeys(recoveryPrefixOf(f.system)), plan.label).toEqual([]);
      await expectLedgerEqualsR2(f);
    }
  }, 300_000);
});

describe("R2 bucket locks (error 10069) are 'not yet'", () => {
  it("an erasure refused by a lock stays recoverable and is erased by a later run; nothing fails", async () => {
    const f = await fixture();
    await injectIntoLedger(new FaultInjector({ binding: "LEDGER.BACKUPS", method: "delete", nth: "every", mode: "throw", message: LOCKED }), f.org);
    await runCron(f.eraseAfter + 1);
    expect(await env.BACKUPS.head(recoveryPrefixOf(f.system) + f.id)).not.toBeNull();
    expect(await recoverableIds(f)).toEqual([f.id]);
    expect(await auditCount(f.org, "backup.erase", `${f.system.key}/${f.id}`)).toBe(0);
    // Registered to be tried again within the hour.
    const due = await env.OPERATOR_DB.prepare("SELECT due_at FROM recovery_due WHERE organization_id = ?").bind(f.org).first<{ due_at: number }>();
    expect(due!.due_at).toBeLessThanOrEqual(f.eraseAfter + 1 + HOUR);
    await injectIntoLedger(new FaultInjector(), f.org); // the lock has expired
    await runCron(f.eraseAfter + 1 + HOUR);
    expect(await env.BACKUPS.head(recoveryPrefixOf(f.system) + f.id)).toBeNull();
    expect(await auditCount(f.org, "backup.erase", `${f.system.key}/${f.id}`)).toBe(1);
    await expectLedgerEqualsR2(f);
  });

  it("a restore under a lock succeeds and keeps the locked copy until its window ends; deleting it again reuses that copy", async () => {
    const f = await fixture();
    await injectIntoLedger(new FaultInjector({ binding: "LEDGER.BACKUPS", method: "delete", nth: "every", mode: "throw", message: LOCKED }), f.org);
    const restored = await admin(f.manager, "POST", `/systems/${f.system.key}/recoverable/${f.id}/restore`);
    expect(restored.status).toBe(200);
    await restored.body?.cancel();
    expect(new Uint8Array(await (await client(f.system).download(f.id)).arrayBuffer())).toEqual(f.bytes);
    expect(await recoverableIds(f)).toEqual([]); // the kept copy is not offered again
    expect(await env.BACKUPS.head(recoveryPrefixOf(f.system) + f.id)).not.toBeNull();
    await expectLedgerEqualsR2(f);

    // Deleted again while the copy is still locked: R2 refuses to overwrite it, and it holds these very bytes.
    await injectIntoLedger(new FaultInjector({ binding: "LEDGER.BACKUPS", method: "put", nth: "every", mode: "throw", message: LOCKED }), f.org);
    expect((await client(f.system).remove(f.id)).status).toBe(200);
    expect(await env.BACKUPS.head(keyOf(f.system, f.id))).toBeNull();
    expect(await recoverableIds(f)).toEqual([f.id]);
    await expectLedgerEqualsR2(f);

    await injectIntoLedger(new FaultInjector(), f.org);
    const [entry] = await organizationLedger(f.org).recoverable(f.org, f.system.key);
    await runCron(Date.parse(entry!.erase_after) + 1);
    expect(await objectKeys(recoveryPrefixOf(f.system))).toEqual([]);
    expect(await auditCount(f.org, "backup.erase", `${f.system.key}/${f.id}`)).toBe(1);
    await expectLedgerEqualsR2(f);
  });
});

describe("what one deletion costs in storage operations (docs/recovery.md)", () => {
  it("one R2 Class A (the copy's put) and one Class B (its get) plus a free delete; the appliance's list stays 2 calls", async () => {
    const { org, system } = await newFleetOrg();
    const id = (await json(await client(system).upload(patternBytes(700, 5), "c.tar.gz"))).data.id as string;
    await client(system).remove((await json(await client(system).upload(patternBytes(300, 6), "w.tar.gz"))).data.id); // the window's first registration
    const counter = new FaultInjector();
    await injectIntoLedger(counter, org);
    expect((await client(system, counter.overrides()).remove(id)).status).toBe(200);
    const r2 = counter.calls.filter((c) => c.binding === "LEDGER.BACKUPS" || c.binding === "BACKUPS").map((c) => c.method);
    expect(r2.filter((m) => m === "put" || m === "list")).toEqual(["put"]); // Class A
    expect(r2.filter((m) => m === "get" || m === "head")).toEqual(["get"]); // Class B
    expect(r2.filter((m) => m === "delete")).toEqual(["delete"]);
    expect(counter.callsTo("ORG_LEDGER").map((c) => c.method)).toEqual(["removeBackups"]);
    const lister = new FaultInjector();
    expect((await client(system, lister.overrides()).list()).status).toBe(200);
    expect(lister.calls.map((c) => `${c.binding}.${c.method}`)).toEqual(["SYSTEMS.get", "BACKUPS.list"]);
  });
});
