// A commit's admission in the ledger (org-ledger.ts `commit`): the repeat of the newest backup,
// the quota re-check of a commit whose reservation expired, and the row of the new backup, in
// one synchronous step; the caller then prunes under the retention policy.

import type { RetainedBackup } from "../backups/retention";
import { hasRow, liveBackups, newestBackup } from "./backup-rows";
import type { CommitRequest, CommitResult } from "./protocol";
import { usageTotal } from "./totals";

/** The system's live backups with the new one recorded, or the commit's final answer (a repeat, a refusal). */
export function admitCommit(sql: SqlStorage, req: CommitRequest, built: boolean, now: number): CommitResult | { live: RetainedBackup[] } {
  const known = hasRow(sql, "backups", req.systemKey, req.id);
  const gone = hasRow(sql, "tombstones", req.systemKey, req.id);
  const reserved = sql.exec("SELECT 1 FROM reservations WHERE token = ?", req.token).toArray().length > 0;
  const newest = known || gone ? null : newestBackup(sql, req.systemKey);
  if (newest && newest.size === req.size && newest.sha256 === req.sha256) {
    sql.exec("DELETE FROM reservations WHERE token = ?", req.token);
    return { stored: false, newest: newest.id };
  }
  if (!known && !reserved && !gone && req.quota > 0) {
    sql.exec("DELETE FROM reservations WHERE expires_at <= ?", now);
    if (!built) return { refused: "unknown" };
    if (usageTotal(sql) + req.size > req.quota) return { refused: "quota" };
  }
  sql.exec("DELETE FROM reservations WHERE token = ?", req.token);
  const live = liveBackups(sql, req.systemKey);
  if (!known && !gone) {
    const committedAt = Math.max(now, ...live.map((b) => b.committedAt + 1));
    sql.exec(
      "INSERT INTO backups (system_key, id, size, sha256, committed_at) VALUES (?, ?, ?, ?, ?)",
      req.systemKey,
      req.id,
      req.size,
      req.sha256,
      committedAt,
    );
    live.push({ id: req.id, size: req.size, committedAt });
  }
  return { live };
}
