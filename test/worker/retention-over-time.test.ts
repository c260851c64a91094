// Retention over months, with the clock moving: the ledger's commits (and the API's uploads)
// happen at simulated times (the ledger runs in this isolate, so vi.setSystemTime is its clock).
// The simulations start in 2031, ahead of the real clock, so that no alarm the ledger schedules
// at a simulated time comes due while they run.

import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { isoWeek, utcDay, utcMonth, type RetentionPolicy } from "../../src/backups/retention";
import { uuidv7 } from "../../src/backups/ids";
import { client, json, newSystem, NO_RATE_LIMITS, organizationLedger, random } from "./helpers";
import { protectedTier } from "./model";
import { fcSeed } from "./seeds";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const POLICY: RetentionPolicy = { maxPerSystem: 10, maxSizePerSystem: 500 * 1024 ** 2, protectDaily: 1, protectWeekly: 4, protectMonthly: 3 };
const AT_REST_BOUND = POLICY.maxPerSystem + POLICY.protectDaily + POLICY.protectWeekly + POLICY.protectMonthly;
const START = Date.UTC(2031, 0, 1); // a Wednesday

afterEach(() => {
  vi.useRealTimers();
});

interface Sim {
  id: string;
  committedAt: number;
}

describe("retention over 130 days of daily uploads, with floods on random days", () => {
  it("keeps, every day, the 10 newest, yesterday's, four ISO weeks and three months, never more than MAX + DAILY + WEEKLY + MONTHLY", async () => {
    const system = await newSystem();
    const stub = organizationLedger(system.org);
    const pick = random(fcSeed());
    const floodDays = new Set(Array.from({ length: 8 }, () => 5 + pick(125)));
    const all: Sim[] = [];
    let kept: Sim[] = [];
    const commit = async (at: number) => {
      vi.setSystemTime(at);
      const id = `${uuidv7(at - 5 * 60_000)}.gpg`; // its upload began 5 minutes before its commit
      const sha256 = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");
      const result = await stub.commit({ organizationId: system.org, token: crypto.randomUUID(), systemKey: system.key, id, size: 1000, sha256, policy: POLICY, quota: 0, recoveryDays: 7 });
      expect(result).toMatchObject({ stored: true });
      all.push({ id, committedAt: at });
      // The independent model, applied at the same commit, must agree exactly.
      const expected = modelRetention([...kept, { id, committedAt: at }], at);
      kept = await keptRows(system);
      expect(kept.map((b) => b.id).sort()).toEqual(expected.map((b) => b.id).sort());
    };
    let flooded = 0;
    for (let day = 0; day < 130; day++) {
      const midnight = START + day * DAY;
      await commit(midnight + 2 * HOUR + pick(60) * 60_000); // the appliance's nightly backup
      let lastCommit = all.at(-1)!.committedAt;
      if (floodDays.has(day)) {
        flooded++;
        const from = midnight + (10 + pick(8)) * HOUR;
        // What a flood can never touch: everything at least 24 h old when it starts, in the protected slots.
        const protectedBefore = protectedTier(kept, POLICY, from);
        for (let i = 0; i < 60; i++) await commit(from + i * 10_000); // a leaked credential, 60 uploads
        lastCommit = all.at(-1)!.committedAt;
        const newest = all.slice(-POLICY.maxPerSystem);
        expect(newest.every((b) => kept.some((k) => k.id === b.id))).toBe(true);
        for (const id of protectedBefore) expect(kept.map((k) => k.id)).toContain(id);
        // Yesterday's nightly backup survives the flood (unless a flood yesterday rotated it away before it was 24 h old).
        if (day > 0 && !floodDays.has(day - 1)) expect(kept.some((b) => utcDay(b.committedAt) === utcDay(midnight - DAY))).toBe(true);
      }
      // Every day: the bound, the newest commits, and the protected tier's reach.
      expect(kept.length).toBeLessThanOrEqual(AT_REST_BOUND);
      for (const b of all.slice(-POLICY.maxPerSystem)) expect(kept.map((k) => k.id)).toContain(b.id);
      const oldEnough = (list: Sim[]) => list.filter((b) => b.committedAt <= lastCommit - DAY);
      if (day > 0) expect(oldEnough(kept).length).toBeGreaterThan(0); // the daily slot
      const weeks = new Set(oldEnough(kept).map((b) => isoWeek(b.committedAt)));
      const months = new Set(oldEnough(kept).map((b) => utcMonth(b.committedAt)));
      if (day >= 30) expect(weeks.size).toBeGreaterThanOrEqual(4);
      if (day >= 91) expect(months.size).toBeGreaterThanOrEqual(3); // 1 April: January, February, March
      expect(weeks.size).toBeGreaterThanOrEqual(Math.min(4, new Set(oldEnough(all).map((b) => isoWeek(b.committedAt))).size));
      expect(months.size).toBeGreaterThanOrEqual(Math.min(3, new Set(oldEnough(all).map((b) => utcMonth(b.committedAt))).size));
    }
    expect(flooded).toBeGreaterThan(3);
    expect(all.length).toBe(130 + 60 * flooded);
  }, 120_000);
});

describe("a flood through the API after three months of nightly uploads", () => {
  it("leaves the 10 newest, yesterday's, four weeks and three months, and lists them newest first", async () => {
    const system = await newSystem();
    const api = client(system, NO_RATE_LIMITS); // default retention: 10 newest + 1 day + 4 weeks + 3 months
    const nightly: { id: string; committedAt: number }[] = [];
    for (let day = 0; day < 100; day++) {
      const at = START + day * DAY + 2 * HOUR;
      vi.setSystemTime(at);
      const created = await api.upload(`night ${day}`, `backup-${day}.tar.gz.gpg`);
      expect(created.status).toBe(201);
      nightly.push({ id: (await json(created)).data.id, committedAt: at });
    }
    const floodAt = START + 100 * DAY + 11 * HOUR;
    const flood: string[] = [];
    for (let i = 0; i < 60; i++) {
      vi.setSystemTime(floodAt + i * 1000);
      flood.push((await json(await api.upload(`flood ${i}`, "f.gpg"))).data.id);
    }
    const listed: string[] = (await json(await api.list())).data.backups.map((b: { id: string }) => b.id);
    const expectedHistory = protectedTier(nightly, POLICY, floodAt + 59_000);
    expect(listed).toEqual([...flood.slice(-10).reverse(), ...nightly.filter((b) => expectedHistory.has(b.id)).reverse().map((b) => b.id)]);
    const history = nightly.filter((b) => listed.includes(b.id));
    expect(utcDay(history.at(-1)!.committedAt)).toBe(utcDay(floodAt - DAY)); // yesterday's
    expect(new Set(history.map((b) => isoWeek(b.committedAt))).size).toBeGreaterThanOrEqual(4);
    expect(new Set(history.map((b) => utcMonth(b.committedAt))).size).toBe(3);
    expect(listed.length).toBeLessThanOrEqual(AT_REST_BOUND);
  }, 120_000);
});

/** The model's retention (test/worker/model.ts's protected tier, plus the rotating tier), for one system at one commit. */
function modelRetention(backups: Sim[], now: number): Sim[] {
  const protectedIds = protectedTier(backups, POLICY, now);
  const rotating = [...backups].sort((a, b) => b.committedAt - a.committedAt).filter((b) => !protectedIds.has(b.id));
  const kept = new Set([...protectedIds, ...rotating.slice(0, POLICY.maxPerSystem).map((b) => b.id)]);
  return backups.filter((b) => kept.has(b.id));
}

/** The system's backups as the ledger holds them (pruned ones are deleted within the commit). */
async function keptRows(system: { org: string; key: string }): Promise<Sim[]> {
  const stub = organizationLedger(system.org);
  return runInDurableObject(stub, (_instance, state) =>
    state.storage.sql
      .exec<{ id: string; committed_at: number }>("SELECT id, committed_at FROM backups WHERE system_key = ? ORDER BY committed_at", system.key)
      .toArray()
      .map((r) => ({ id: r.id, committedAt: r.committed_at })),
  );
}
