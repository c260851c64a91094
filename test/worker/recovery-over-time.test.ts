// The recovery window over 30 simulated days with the hourly cron running (its scheduled time
// passed in, the worker's and the ledger's clocks moved with it): nightly uploads that prune,
// appliance deletes, operator deletes, a purge that is undone and one that is not. Every day,
// every backup ever stored is listed, or recoverable until its window ends, or erased after it
// and audited; at the end the ledger equals R2.

import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { RECOVERY_PREFIX } from "../../src/backups/keys";
import { client, json, newOrg, newSystem, NO_RATE_LIMITS, objectKeys, organizationLedger, patternBytes, prefixOf, recoveryPrefixOf, runCron, type TestSystem, random } from "./helpers";
import { admin, newOperator } from "./operator-helpers";
import { fcSeed } from "./seeds";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WINDOW = 7 * DAY; // wrangler.toml's RECOVERY_DAYS
const START = Date.UTC(2027, 0, 4); // a Monday
const LIMITS = { ...NO_RATE_LIMITS, BACKUP_MAX_PER_SYSTEM: "3", BACKUP_PROTECT_DAILY: "1", BACKUP_PROTECT_WEEKLY: "1", BACKUP_PROTECT_MONTHLY: "0" };

afterEach(() => {
  vi.useRealTimers();
});

interface Tracked {
  system: TestSystem;
  id: string;
  size: number;
}

async function auditTargets(org: string, action: string): Promise<Set<string>> {
  const { results } = await env.OPERATOR_DB.prepare("SELECT target FROM audit_events WHERE organization_id = ? AND action = ?").bind(org, action).all<{ target: string }>();
  return new Set(results.map((r) => r.target));
}

describe("the recovery window over 30 days with the cron running", () => {
  it("keeps every removed backup recoverable until its window ends, then erases it, audited; the ledger equals R2", async () => {
    const org = newOrg();
    const systems = [await newSystem({ org }), await newSystem({ org }), await newSystem({ org })];
    let secrets = new Map(systems.map((s) => [s.key, s]));
    const pick = random(fcSeed());
    const adminOp = await newOperator("admin", [org]);
    const all: Tracked[] = [];
    let now = START;
    vi.setSystemTime(now);
    const current = (s: TestSystem) => secrets.get(s.key)!;
    const purgedForGood = new Set<string>();

    /** Every backup ever stored: listed, or recoverable until its window ends, or erased after it (audited). */
    const checkEveryBackup = async () => {
      const erased = await auditTargets(org, "backup.erase");
      for (const { system, id } of all) {
        const listed = await env.BACKUPS.head(prefixOf(system) + id);
        const copy = await env.BACKUPS.head(recoveryPrefixOf(system) + id);
        if (listed) continue;
        if (copy) {
          const eraseAfter = Date.parse(copy.customMetadata!.erase_after);
          // The cron runs hourly: nothing outlives its window by more than an hour.
          expect(eraseAfter + HOUR, `${id} outlived its window`).toBeGreaterThan(now);
          continue;
        }
        expect(erased.has(`${system.key}/${id}`), `${id} vanished without a backup.erase`).toBe(true);
      }
    };

    for (let day = 0; day < 30; day++) {
      for (let hour = 0; hour < 24; hour++) {
        now = START + day * DAY + hour * HOUR;
        vi.setSystemTime(now);
        if (hour === 2) {
          // The nightly backups (the rotating tier of 3 prunes into the window).
          for (const system of systems) {
            if (purgedForGood.has(system.key)) continue;
            const size = 200 + pick(300);
            const answer = await client(current(system), LIMITS).upload(patternBytes(size, day * 10 + hour + 1), `night-${day}.tar.gz`);
            // Between its purge (day 8) and its undo (day 11) the first system's credentials are dead.
            const purgedThen = system === systems[0] && day >= 9 && day <= 11;
            expect(answer.status).toBe(purgedThen ? 401 : 201);
            const { data } = await json(answer);
            if (!purgedThen) all.push({ system, id: data.id, size });
          }
        }
        if (hour === 9 && pick(3) === 0) {
          const candidates = systems.filter((s) => !purgedForGood.has(s.key) && !(s === systems[0] && day >= 9 && day <= 11));
          const system = candidates[pick(candidates.length)]!;
          const listed = (await json(await client(current(system)).list())).data.backups as { id: string }[];
          if (listed.length > 0) {
            const victim = listed[pick(listed.length)]!.id;
            if (pick(2) === 0) expect((await client(current(system)).remove(victim)).status).toBe(200);
            else expect((await admin(adminOp, "DELETE", `/systems/${system.key}/backups/${victim}`)).status).toBe(200);
          }
        }
        if (hour === 12 && day === 8) expect((await admin(adminOp, "DELETE", `/systems/${systems[0]!.key}?purge=true`)).status).toBe(200);
        if (hour === 12 && day === 11) {
          // Undone within its window: a new secret, every purged backup back.
          const undone = await admin(adminOp, "POST", `/systems/${systems[0]!.key}/restore`);
          expect(undone.status).toBe(200);
          const secret = (await json(undone)).data.system_secret as string;
          secrets = new Map(secrets).set(systems[0]!.key, { ...systems[0]!, secret, authorization: "Basic " + btoa(`${systems[0]!.key}:${secret}`) });
        }
        if (hour === 12 && day === 15) {
          expect((await admin(adminOp, "DELETE", `/systems/${systems[2]!.key}?purge=true`)).status).toBe(200);
          purgedForGood.add(systems[2]!.key);
        }
        await runCron(now + 17 * 60_000);
      }
      await checkEveryBackup();
    }

    // Day 30: the purge of day 15 has ended: the system and its backups are gone, audited.
    expect(await objectKeys(recoveryPrefixOf(systems[2]!))).toEqual([]);
    expect(await env.BACKUPS.head(`${RECOVERY_PREFIX}.systems/${systems[2]!.key}`)).toBeNull();
    expect(await auditTargets(org, "system.erase")).toEqual(new Set([systems[2]!.key]));
    expect((await admin(adminOp, "POST", `/systems/${systems[2]!.key}/restore`)).status).toBe(404);
    // Removals of the last week are still recoverable; older ones were erased.
    const recoverable = (await json(await admin(adminOp, "GET", `/systems/${systems[1]!.key}/recoverable`))).data.backups as { erase_after: string; reason: string }[];
    expect(recoverable.length).toBeGreaterThan(0);
    for (const b of recoverable) expect(Date.parse(b.erase_after)).toBeGreaterThan(now - HOUR);
    expect(new Set(recoverable.map((b) => b.reason)).has("pruned")).toBe(true);

    // The ledger equals R2: stored bytes, and bytes in the window.
    const sum = async (prefix: string) => {
      let bytes = 0;
      for (const key of await objectKeys(prefix)) bytes += (await env.BACKUPS.head(key))!.size;
      return bytes;
    };
    expect(await organizationLedger(org).usageBytes(org)).toBe(await sum(`${org}/`));
    expect(await organizationLedger(org).recoverableBytes(org)).toBe(await sum(`${RECOVERY_PREFIX}${org}/`));
    expect(all.length).toBeGreaterThan(60); // the month's nightly backups were all tracked
  }, 600_000);
});
