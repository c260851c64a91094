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
