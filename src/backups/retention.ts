// Which backups of a system to prune after a commit. Pure: the clock is a parameter, and every
// age is a commit time (when the server recorded the backup), never the time an upload began.

export interface RetentionPolicy {
  /** Newest backups kept by the rotating tier (≥ 1). */
  maxPerSystem: number;
  /** Bytes the rotating tier may hold. */
  maxSizePerSystem: number;
  /** The protected tier: the newest backup of each of the last N UTC days / ISO weeks / months; 0 disables each. */
  protectDaily: number;
  protectWeekly: number;
  protectMonthly: number;
}

export interface RetainedBackup {
  id: string;
  size: number;
  /** When the server committed the backup (ms since the epoch). */
  committedAt: number;
}

const DAY = 86_400_000;

/** Only backups committed at least this long ago may enter the protected tier: an upload is always newer. */
export const PROTECTION_MIN_AGE_MS = DAY;

/** The UTC calendar day of a time, `2026-04-12`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The ISO 8601 week of a time (UTC; weeks start on Monday, week 1 holds the year's first Thursday), `2026-W15`. */
export function isoWeek(ms: number): string {
  const day = Math.floor(ms / DAY);
  const weekday = (new Date(ms).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const thursday = new Date((day - weekday + 3) * DAY);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY));
  return `${year}-W${String(week).padStart(2, "0")}`;
}

/** The UTC calendar month of a time, `2026-04`. */
export function utcMonth(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** Newest first by commit time; ids break ties, so the order is total. */
export function byCommitDescending(a: RetainedBackup, b: RetainedBackup): number {
  return b.committedAt - a.committedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/**
 * The protected tier, as restic's `forget --keep-daily/--keep-weekly/--keep-monthly` keeps
 * snapshots: among backups committed at least 24 h before `now`, the newest of each of the
 * last `protectDaily` UTC days, `protectWeekly` ISO weeks and `protectMonthly` months that hold
 * one. A flood of uploads cannot reach it: every upload is younger than 24 h.
 */
export function protectedBackups(backups: RetainedBackup[], policy: RetentionPolicy, now: number): Set<string> {
  const qualifying = backups.filter((b) => b.committedAt <= now - PROTECTION_MIN_AGE_MS).sort(byCommitDescending);
  const keep = new Set<string>();
  const rules: [number, (ms: number) => string][] = [
    [policy.protectDaily, utcDay],
    [policy.protectWeekly, isoWeek],
    [policy.protectMonthly, utcMonth],
  ];
  for (const [count, bucketOf] of rules) {
    let left = count;
    let last: string | null = null;
    for (const backup of qualifying) {
      if (left === 0) break;
      const bucket = bucketOf(backup.committedAt);
      if (bucket === last) continue; // an older backup of a bucket already kept
      keep.add(backup.id);
      last = bucket;
      left--;
    }
  }
  return keep;
}

/**
 * The backups to prune so that the rotating tier (everything not protected) holds at most
 * `maxPerSystem` backups and `maxSizePerSystem` bytes, oldest commit first. The newest commit
 * (the one being made) is never pruned. At rest a system holds at most
 * maxPerSystem + protectDaily + protectWeekly + protectMonthly backups.
 */
export function selectVictims(backups: RetainedBackup[], policy: RetentionPolicy, now: number): string[] {
  const protectedIds = protectedBackups(backups, policy, now);
  const rotating = [...backups].sort(byCommitDescending).filter((b) => !protectedIds.has(b.id));
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
