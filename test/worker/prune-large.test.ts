// A retention victim larger than BACKUP_BUFFERED_UPLOAD_MAX: it leaves the rows and the quota in
// the commit's synchronous step, but its copy into the recovery window (an R2 get and put of its
// whole size) finishes after the upload is answered, so a large upload never waits for it. The
// alarm is its backstop: a copy that fails after the answer is finished by the alarm, byte-exact,
// audited once (docs/recovery.md, "What a prune costs").

import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { FaultInjector, injectIntoLedger } from "./fault-bindings";
import { client, json, keyOf, newSystem, NO_RATE_LIMITS, objectKeys, organizationLedger, patternBytes, prefixOf, recoveryPrefixOf, type TestSystem } from "./helpers";

// One backup kept, nothing protected: each upload prunes the previous one.
const LIMITS = { ...NO_RATE_LIMITS, BACKUP_MAX_PER_SYSTEM: "1", BACKUP_PROTECT_DAILY: "0", BACKUP_PROTECT_WEEKLY: "0", BACKUP_PROTECT_MONTHLY: "0" };
const LARGE = 6000;
const SMALL = 300;

/** The ledger's own BACKUP_BUFFERED_UPLOAD_MAX, lowered so that a few KiB count as large. */
async function lowerAwaitedMax(org: string, bytes: number): Promise<void> {
  await runInDurableObject(organizationLedger(org), (instance) => {
    const holder = instance as unknown as { env: Env };
    holder.env = { ...holder.env, BACKUP_BUFFERED_UPLOAD_MAX: String(bytes) };
  });
}

/** Waits for the ledger's prunes still running after their commit's answer (what the bench waits on between uploads). */
async function afterAnswerSettled(org: string): Promise<void> {
  await runInDurableObject(organizationLedger(org), (instance) => (instance as unknown as { recovery: { afterAnswerSettled(): Promise<void> } }).recovery.afterAnswerSettled());
}

async function pruneEvents(system: TestSystem, id: string): Promise<number> {
  const row = await env.OPERATOR_DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE organization_id = ? AND action = 'backup.prune' AND target = ?")
    .bind(system.org, `${system.key}/${id}`)
    .first<{ n: number }>();
  return row!.n;
}

async function bytesOf(key: string): Promise<Uint8Array | null> {
  const object = await env.BACKUPS.get(key);
  return object ? new Uint8Array(await object.arrayBuffer()) : null;
}

/** A system whose one backup is `LARGE` bytes, and the ledger that judges it large. */
async function systemWithLargeBackup(): Promise<{ system: TestSystem; large: string; bytes: Uint8Array }> {
  const system = await newSystem();
  const bytes = patternBytes(LARGE, 7);
  const large = (await json(await client(system, LIMITS).upload(bytes, "large.tar.gz"))).data.id as string;
  await lowerAwaitedMax(system.org, 4096);
  return { system, large, bytes };
}

describe("a large retention victim is moved after the upload's answer", () => {
  it("answers before the copy, leaves the quota at once, then the listing; moved byte-exact and audited once", async () => {
    const { system, large, bytes } = await systemWithLargeBackup();
    // The copy's put completes, then its answer is held until the test lets it through.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const holding = new FaultInjector(null, { afterCall: (call) => (call.binding === "LEDGER.BACKUPS" && call.method === "put" ? held : undefined) });
    await injectIntoLedger(holding, system.org);
    const small = await client(system, LIMITS).upload(patternBytes(SMALL, 8), "small.tar.gz");
    expect(small.status).toBe(201);
    const kept = (await json(small)).data.id as string;
    // Answered while the copy is held: out of the quota in the commit itself, the original still stored.
    expect(await organizationLedger(system.org).usageBytes(system.org)).toBe(SMALL);
    await vi.waitFor(() => expect(holding.callsTo("LEDGER.BACKUPS", "put").length).toBe(1), { timeout: 10_000, interval: 20 });
    expect(await objectKeys(prefixOf(system))).toContain(keyOf(system, large));
    const settled = afterAnswerSettled(system.org);
    expect(await Promise.race([settled.then(() => "settled"), new Promise((r) => setTimeout(() => r("running"), 200))])).toBe("running");

    release();
    await settled;
    expect(await objectKeys(prefixOf(system))).toEqual([keyOf(system, kept)]);
    expect(await bytesOf(recoveryPrefixOf(system) + large)).toEqual(bytes);
    await vi.waitFor(async () => expect(await pruneEvents(system, large)).toBe(1), { timeout: 10_000, interval: 50 });
    expect((await organizationLedger(system.org).recoverable(system.org, system.key)).map((b) => b.id)).toEqual([large]);
  });

  it("a victim's copy that hangs never fails the upload; the alarm finishes it, byte-exact, audited once", async () => {
    const { system, large, bytes } = await systemWithLargeBackup();
    // The copy's put never settles (until the R2 deadline ends it in the background).
    const stuck = new FaultInjector({ binding: "LEDGER.BACKUPS", method: "put", nth: "every", mode: "hang" });
    await injectIntoLedger(stuck, system.org);
    const small = await client(system, LIMITS).upload(patternBytes(SMALL, 9), "small.tar.gz");
    expect(small.status).toBe(201);
    await small.arrayBuffer();
    expect(await organizationLedger(system.org).usageBytes(system.org)).toBe(SMALL);
    // The copy after the answer was started and is stuck: the original is still where it was.
    await vi.waitFor(() => expect(stuck.callsTo("LEDGER.BACKUPS", "put").length).toBeGreaterThan(0), { timeout: 10_000, interval: 50 });
    expect(await objectKeys(prefixOf(system))).toContain(keyOf(system, large));
    expect(await pruneEvents(system, large)).toBe(0);

    await injectIntoLedger(new FaultInjector(), system.org); // storage is back
    expect(await runDurableObjectAlarm(organizationLedger(system.org))).toBe(true);
    expect(await objectKeys(prefixOf(system))).not.toContain(keyOf(system, large));
    expect(await bytesOf(recoveryPrefixOf(system) + large)).toEqual(bytes);
    await vi.waitFor(async () => expect(await pruneEvents(system, large)).toBe(1), { timeout: 10_000, interval: 50 });
    await runDurableObjectAlarm(organizationLedger(system.org)); // a second alarm moves nothing twice
    expect(await pruneEvents(system, large)).toBe(1);
  });
});
