// The upload rate windows of each system (a rolling minute and a rolling hour), in the ledger's
// `uploads` table: one row per admitted upload, kept for an hour. Every query uses an index.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Seconds until the system may upload again under both limits (0 disables one), or 0 when both have room. */
export function rateRetryAfter(sql: SqlStorage, systemKey: string, perMinute: number, perHour: number, now: number): number {
  sql.exec("DELETE FROM uploads WHERE at <= ?", now - HOUR);
  let waitMs = 0;
  for (const [limit, window] of [
    [perMinute, MINUTE],
    [perHour, HOUR],
  ] as const) {
    if (limit <= 0) continue;
    const recent = sql
      .exec<{ at: number }>("SELECT at FROM uploads WHERE system_key = ? AND at > ? ORDER BY at DESC LIMIT ?", systemKey, now - window, limit)
      .toArray();
    // Full window: the slot frees when the limit-th most recent upload leaves it.
    if (recent.length >= limit) waitMs = Math.max(waitMs, recent[limit - 1].at + window - now);
  }
  return waitMs > 0 ? Math.max(1, Math.ceil(waitMs / 1000)) : 0;
}

/** Takes a slot in the system's windows for an admitted upload. */
export function recordUpload(sql: SqlStorage, systemKey: string, now: number): void {
  sql.exec("INSERT INTO uploads VALUES (?, ?)", systemKey, now);
}

const DAY = 24 * HOUR;

/** The start (ms) of the UTC day that holds `now`. */
export function utcDayStart(now: number): number {
  return Math.floor(now / DAY) * DAY;
}

/**
 * True when an upload at `now` is the system's first of its UTC day: no backup committed since
 * the day began (`lastCommittedAt`: the newest commit, or null for none). The older protocol's
 * clients never resend a refused upload, so the rate limit lets this one through.
 */
export function isFirstOfDay(lastCommittedAt: number | null, now: number): boolean {
  return lastCommittedAt === null || lastCommittedAt < utcDayStart(now);
}

/** The system's newest commit time (ms), or null when it has no backup. */
export function lastCommitTime(sql: SqlStorage, systemKey: string): number | null {
  const row = sql.exec<{ at: number | null }>("SELECT MAX(committed_at) AS at FROM backups WHERE system_key = ?", systemKey).toArray()[0];
  return row?.at ?? null;
}
