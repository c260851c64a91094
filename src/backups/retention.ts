// Which backups of a system to prune after an upload. Pure: the clock is a parameter.

import { backupIdTime } from "./ids";

export interface RetentionPolicy {
  /** Newest backups kept by the rotating tier. */
  maxPerSystem: number;
  /** Bytes the rotating tier may hold. */
  maxSizePerSystem: number;
  /** 1: keep the newest backup older than 24 h. */
  protectDaily: number;
  /** Keep the newest backup of each of the last N weeks (ages of at least 24 h only). */
  protectWeekly: number;
}

export interface RetainedBackup {
  id: string;
  size: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

/**
 * The protected tier: backups no flood of uploads can rotate away, because only backups at
 * least 24 h old qualify and an upload is always new. The newest backup older than 24 h, and
 * the newest of each of the last N weeks (counted back from now) among those older than 24 h.
 */
export function protectedBackups(backups: RetainedBackup[], policy: RetentionPolicy, now: number): Set<string> {
  const newestFirst = [...backups].sort(byIdDescending);
  const keep = new Set<string>();
  const newestAged = (from: number, to: number) =>
    newestFirst.find((b) => {
      const age = now - backupIdTime(b.id);
      return age >= from && age < to;
    });
  if (policy.protectDaily > 0) {
    const daily = newestAged(DAY, Infinity);
    if (daily) keep.add(daily.id);
  }
  for (let week = 0; week < policy.protectWeekly; week++) {
    const weekly = newestAged(Math.max(DAY, week * WEEK), (week + 1) * WEEK);
    if (weekly) keep.add(weekly.id);
  }
  return keep;
}

/**
 * The backups to prune so that the rotating tier (everything not protected) holds at most
 * `maxPerSystem` backups and `maxSizePerSystem` bytes, oldest first by id (UUIDv7 order).
 * The newest backup is never pruned. At rest a system holds at most
 * maxPerSystem + protectDaily + protectWeekly backups.
 */
export function selectVictims(backups: RetainedBackup[], policy: RetentionPolicy, now: number): string[] {
  const protectedIds = protectedBackups(backups, policy, now);
  const rotating = [...backups].sort(byIdDescending).filter((b) => !protectedIds.has(b.id));
  const kept = rotating.slice(0, policy.maxPerSystem);
  const victims = rotating.slice(policy.maxPerSystem);
  let total = kept.reduce((sum, b) => sum + b.size, 0);
  while (total > policy.maxSizePerSystem && kept.length > 1) {
    const oldest = kept.pop()!;
    victims.push(oldest);
    total -= oldest.size;
  }
  return victims.map((b) => b.id);
}

function byIdDescending(a: RetainedBackup, b: RetainedBackup): number {
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
