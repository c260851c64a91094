// The retention policy as a pure function of the backups and a controllable clock.

import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/backups/ids";
import { protectedBackups, selectVictims, type RetentionPolicy } from "../../src/backups/retention";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const DEFAULTS: RetentionPolicy = { maxPerSystem: 10, maxSizePerSystem: 500 * 1024 ** 2, protectDaily: 1, protectWeekly: 4 };

const backupAt = (ageMs: number, size = 100) => ({ id: `${uuidv7(NOW - ageMs)}.gpg`, size });

describe("protected tier", () => {
  it("keeps the newest backup older than 24 h and the newest of each of the last 4 weeks", () => {
    const daily = [1, 2, 3, 5, 9, 12, 16, 20, 26, 30, 40].map((d) => backupAt(d * DAY + HOUR));
    const fresh = Array.from({ length: 50 }, (_, i) => backupAt(i * 60_000));
    const kept = protectedBackups([...daily, ...fresh], DEFAULTS, NOW);
    // ages 1 d (daily, and week 0), 9 d (week 1), 16 d (week 2), 26 d (week 3)
    expect([...kept].sort()).toEqual([daily[0], daily[4], daily[6], daily[8]].map((b) => b.id).sort());
  });

  it("is what a flood cannot rotate: however many new backups arrive, the protected ones stay", () => {
    const history = [backupAt(2 * DAY), backupAt(8 * DAY), backupAt(15 * DAY), backupAt(22 * DAY)];
    let backups = [...history];
    for (let i = 0; i < 200; i++) {
      backups.push(backupAt(-i)); // newer and newer
      const victims = new Set(selectVictims(backups, DEFAULTS, NOW + 200));
      backups = backups.filter((b) => !victims.has(b.id));
    }
    for (const b of history) expect(backups).toContainEqual(b);
    expect(backups).toHaveLength(DEFAULTS.maxPerSystem + history.length);
  });

  it("moves with the clock: a backup leaves the tier when a newer one qualifies for its slot", () => {
    const a = backupAt(30 * HOUR);
    const b = backupAt(10 * HOUR);
    expect(protectedBackups([a, b], DEFAULTS, NOW)).toEqual(new Set([a.id]));
    expect(protectedBackups([a, b], DEFAULTS, NOW + 14 * HOUR + 1)).toEqual(new Set([b.id]));
  });

  it("can be disabled", () => {
    const backups = [backupAt(3 * DAY), backupAt(10 * DAY)];
    expect(protectedBackups(backups, { ...DEFAULTS, protectDaily: 0, protectWeekly: 0 }, NOW).size).toBe(0);
  });
});

describe("selectVictims", () => {
  it("prunes the oldest beyond the count cap, by id order", () => {
    const backups = Array.from({ length: 6 }, (_, i) => backupAt((6 - i) * 60_000));
    expect(selectVictims(backups, { ...DEFAULTS, maxPerSystem: 3 }, NOW)).toEqual(backups.slice(0, 3).reverse().map((b) => b.id));
  });

  it("prunes the oldest until the size cap holds, never the newest", () => {
    const backups = [backupAt(3000, 400), backupAt(2000, 400), backupAt(1000, 400)];
    expect(selectVictims(backups, { ...DEFAULTS, maxSizePerSystem: 1000 }, NOW)).toEqual([backups[0].id]);
    expect(selectVictims(backups, { ...DEFAULTS, maxSizePerSystem: 10 }, NOW)).toEqual([backups[0].id, backups[1].id]);
  });

  it("keeps the total bounded by maxPerSystem plus the protected tier", () => {
    const backups = Array.from({ length: 60 }, (_, i) => backupAt(i * 12 * HOUR));
    const victims = new Set(selectVictims(backups, DEFAULTS, NOW));
    expect(backups.length - victims.size).toBeLessThanOrEqual(DEFAULTS.maxPerSystem + 1 + 4);
  });
});
