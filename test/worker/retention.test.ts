// The retention policy as a pure function of the backups (each with its commit time) and a
// controllable clock: calendar buckets as restic's forget --keep-daily/weekly/monthly counts them.

import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/backups/ids";
import { isoWeek, protectedBackups, selectVictims, utcDay, utcMonth, type RetainedBackup, type RetentionPolicy } from "../../src/backups/retention";
import { protectedTier } from "./model";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0); // a Thursday
const DEFAULTS: RetentionPolicy = { maxPerSystem: 10, maxSizePerSystem: 500 * 1024 ** 2, protectDaily: 1, protectWeekly: 4, protectMonthly: 3 };

/** A backup committed `ageMs` before NOW; its id is minted `idAgeMs` before NOW (when its upload began). */
const committed = (ageMs: number, size = 100, idAgeMs = ageMs): RetainedBackup => ({ id: `${uuidv7(NOW - idAgeMs)}.gpg`, size, committedAt: NOW - ageMs });

describe("calendar buckets", () => {
  it("names UTC days, ISO weeks (Monday to Sunday, week 1 holds the first Thursday) and months", () => {
    expect(utcDay(Date.UTC(2026, 3, 12, 23, 59))).toBe("2026-04-12");
    expect(utcMonth(Date.UTC(2026, 3, 30, 23, 59))).toBe("2026-04");
    expect(isoWeek(Date.UTC(2026, 0, 1))).toBe("2026-W01"); // a Thursday
    expect(isoWeek(Date.UTC(2027, 0, 3))).toBe("2026-W53"); // a Sunday: still the last week of 2026
    expect(isoWeek(Date.UTC(2027, 0, 4))).toBe("2027-W01"); // the Monday after
    expect(isoWeek(Date.UTC(2024, 11, 30))).toBe("2025-W01"); // a Monday in December, week 1 of 2025
    expect(isoWeek(Date.UTC(2026, 10, 23, 0, 0))).toBe(isoWeek(Date.UTC(2026, 10, 29, 23, 59))); // Monday and Sunday
  });
});

describe("protected tier", () => {
  it("keeps the newest of yesterday, of each of the last 4 ISO weeks and of each of the last 3 months holding a backup ≥ 24 h old", () => {
    const daily = Array.from({ length: 120 }, (_, d) => committed(d * DAY + 2 * HOUR));
    const kept = protectedBackups(daily, DEFAULTS, NOW);
    const oldEnough = daily.filter((b) => b.committedAt <= NOW - DAY);
    expect(kept).toEqual(protectedTier(daily, DEFAULTS, NOW)); // the model's independent reading agrees
    expect(kept.size).toBeLessThanOrEqual(1 + 4 + 3);
    const only = (rule: Partial<RetentionPolicy>) => oldEnough.filter((b) => protectedBackups(daily, { ...DEFAULTS, protectDaily: 0, protectWeekly: 0, protectMonthly: 0, ...rule }, NOW).has(b.id));
    expect(only({ protectDaily: 1 })).toEqual([oldEnough[0]]); // the newest at least 24 h old: yesterday's
    const weekly = only({ protectWeekly: 4 });
    expect(weekly.map((b) => isoWeek(b.committedAt))).toEqual(["2026-W48", "2026-W47", "2026-W46", "2026-W45"]);
    expect(weekly.slice(1).map((b) => new Date(b.committedAt).getUTCDay())).toEqual([0, 0, 0]); // each complete week's newest: its Sunday
    expect(only({ protectMonthly: 3 }).map((b) => utcDay(b.committedAt))).toEqual(["2026-11-25", "2026-10-31", "2026-09-30"]);
    for (const b of [...only({ protectDaily: 1 }), ...weekly, ...only({ protectMonthly: 3 })]) expect(kept.has(b.id)).toBe(true);
  });

  it("counts buckets that hold a backup, not calendar time: a system silent for months keeps its last weeks", () => {
    const old = [60, 61, 70, 80, 95, 130, 200].map((d) => committed(d * DAY));
    const kept = protectedBackups(old, { ...DEFAULTS, protectDaily: 1, protectWeekly: 4, protectMonthly: 0 }, NOW);
    expect([...kept].sort()).toEqual([old[0], old[2], old[3], old[4]].map((b) => b.id).sort()); // 60 and 61 d share a week
  });

  it("admits nothing younger than 24 h, so a flood of uploads cannot reach it", () => {
    const history = [committed(DAY + HOUR), committed(8 * DAY), committed(15 * DAY), committed(22 * DAY), committed(40 * DAY), committed(75 * DAY)];
    let backups = [...history];
    for (let i = 0; i < 200; i++) {
      backups.push(committed(-i * 1000)); // newer and newer
      const victims = new Set(selectVictims(backups, DEFAULTS, NOW + i * 1000));
      backups = backups.filter((b) => !victims.has(b.id));
    }
    for (const b of history) expect(backups).toContainEqual(b);
    expect(backups).toHaveLength(DEFAULTS.maxPerSystem + history.length);
  });

  it("ages a backup by its commit, not by its id: an upload that began 30 h ago and committed now is new", () => {
    const slow = committed(HOUR, 100, 30 * HOUR);
    const older = committed(26 * HOUR);
    expect(protectedBackups([slow, older], DEFAULTS, NOW)).toEqual(new Set([older.id]));
  });

  it("moves with the clock: a backup leaves a slot when a newer one of the same bucket qualifies", () => {
    const a = committed(30 * HOUR);
    const b = committed(10 * HOUR);
    expect(protectedBackups([a, b], { ...DEFAULTS, protectWeekly: 0, protectMonthly: 0 }, NOW)).toEqual(new Set([a.id]));
    expect(protectedBackups([a, b], { ...DEFAULTS, protectWeekly: 0, protectMonthly: 0 }, NOW + 14 * HOUR)).toEqual(new Set([b.id]));
  });

  it("can be disabled", () => {
    const backups = [committed(3 * DAY), committed(10 * DAY), committed(50 * DAY)];
    expect(protectedBackups(backups, { ...DEFAULTS, protectDaily: 0, protectWeekly: 0, protectMonthly: 0 }, NOW).size).toBe(0);
  });
});

describe("selectVictims", () => {
  it("prunes the oldest commits beyond the count cap", () => {
    const backups = Array.from({ length: 6 }, (_, i) => committed((6 - i) * 60_000));
    expect(selectVictims(backups, { ...DEFAULTS, maxPerSystem: 3 }, NOW)).toEqual(backups.slice(0, 3).reverse().map((b) => b.id));
  });

  it("orders by commit time, not id: the slow upload that committed last is kept, a faster one that began later is pruned", () => {
    const slow = committed(0, 100, 10 * 60_000); // began 10 min ago, committed now
    const fast = [3, 2, 1].map((m) => committed(m * 60_000)); // began and committed since
    expect(selectVictims([slow, ...fast], { ...DEFAULTS, maxPerSystem: 3 }, NOW)).toEqual([fast[0].id]);
  });

  it("prunes the oldest until the size cap holds, never the newest", () => {
    const backups = [committed(3000, 400), committed(2000, 400), committed(1000, 400)];
    expect(selectVictims(backups, { ...DEFAULTS, maxSizePerSystem: 1000 }, NOW)).toEqual([backups[0].id]);
    expect(selectVictims(backups, { ...DEFAULTS, maxSizePerSystem: 10 }, NOW)).toEqual([backups[0].id, backups[1].id]);
  });

  it("keeps the total bounded by maxPerSystem plus the protected tier", () => {
    const backups = Array.from({ length: 400 }, (_, i) => committed(i * 7 * HOUR));
    const victims = new Set(selectVictims(backups, DEFAULTS, NOW));
    expect(backups.length - victims.size).toBeLessThanOrEqual(DEFAULTS.maxPerSystem + 1 + 4 + 3);
  });
});
