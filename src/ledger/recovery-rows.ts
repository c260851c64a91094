// The ledger's journal of removed backups (`recoverable`) and purged systems (`purges`): each
// step of a removal, a restore and an erasure is one synchronous change here, so a step cut
// short by a fault is found again and finished (docs/recovery.md, "Steps").
//   moving    taken out of the listing's rows and the quota; the copy and the delete may be pending
//   held      recoverable: listed by GET …/recoverable, erased by the cron after `erase_after`
//   restoring back in the system's rows (and quota); the copy back may be pending
//   restored  back in the system, but a bucket lock keeps the recovery copy: erased by the cron

import { rfc3339 } from "../platform/time";
import { tombstone } from "./backup-rows";
import { usageTotal } from "./totals";

export type RemovalReason = "deleted" | "pruned" | "purged";

/** A removal as the ledger records it (epoch ms). */
export interface RemovalStamp {
  removedAt: number;
  removedBy: string;
  reason: RemovalReason;
  eraseAfter: number;
}

/** A recoverable backup as the operator API shows it. */
export interface RecoverableBackup {
  id: string;
  filename: string;
  size: number;
  sha256: string;
  uploaded_at: string;
  removed_at: string;
  removed_by: string;
  reason: RemovalReason;
  erase_after: string;
}

/** One row of the journal. */
export type RecoverableRow = {
  system_key: string;
  id: string;
  size: number;
  sha256: string | null;
  filename: string | null;
  uploaded_at: number | null;
  removed_at: number;
  removed_by: string;
  reason: RemovalReason;
  erase_after: number;
  state: "moving" | "held" | "restoring" | "restored";
};

/** What the copy told about a backup once it reached the recovery prefix. */
export interface CopiedBackup {
  size: number;
  sha256: string | null;
  filename: string | null;
  uploadedAt: number;
}

/** The journal row of one backup, or null. */
export function recoverableRow(sql: SqlStorage, systemKey: string, id: string): RecoverableRow | null {
  return sql.exec<RecoverableRow>("SELECT * FROM recoverable WHERE system_key = ? AND id = ?", systemKey, id).toArray()[0] ?? null;
}

/**
 * Takes backups out of the system's rows (their bytes leave the quota at once; tombstoned, so no
 * listing page brings them back) into the journal as `moving`. A backup being restored is left
 * alone; returns the ids journaled.
 */
export function beginRemoval(sql: SqlStorage, systemKey: string, ids: string[], stamp: RemovalStamp): string[] {
  const journaled: string[] = [];
  for (const id of ids) {
    const existing = recoverableRow(sql, systemKey, id);
    if (existing?.state === "restoring") continue;
    const row = sql
      .exec<{ size: number; sha256: string | null; committed_at: number | null }>("SELECT size, sha256, committed_at FROM backups WHERE system_key = ? AND id = ?", systemKey, id)
      .toArray()[0];
    if (row) sql.exec("DELETE FROM backups WHERE system_key = ? AND id = ?", systemKey, id);
    if (existing?.state === "held" && !row) continue; // removed before: nothing listed to remove
    sql.exec(
      `INSERT INTO recoverable (system_key, id, size, sha256, uploaded_at, removed_at, removed_by, reason, erase_after, state)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'moving')
       ON CONFLICT (system_key, id) DO UPDATE SET size = excluded.size, sha256 = COALESCE(excluded.sha256, sha256),
         removed_at = excluded.removed_at, removed_by = excluded.removed_by, reason = excluded.reason, erase_after = excluded.erase_after, state = 'moving'`,
      systemKey,
      id,
      row?.size ?? existing?.size ?? 0,
      row?.sha256 ?? null,
      row?.committed_at ?? null,
      stamp.removedAt,
      stamp.removedBy,
      stamp.reason,
      stamp.eraseAfter,
    );
    tombstone(sql, systemKey, [id], stamp.removedAt);
    journaled.push(id);
  }
  return journaled;
}

/** The copy is in the recovery prefix and the original deleted: the backup is recoverable. */
export function finishRemoval(sql: SqlStorage, systemKey: string, id: string, copied: CopiedBackup): void {
  sql.exec(
    // The ledger's own commit time, when it knew the backup, is the one retention ages it by after a restore.
    "UPDATE recoverable SET size = ?, sha256 = COALESCE(?, sha256), filename = COALESCE(?, filename), uploaded_at = COALESCE(uploaded_at, ?), state = 'held' WHERE system_key = ? AND id = ? AND state = 'moving'",
    copied.size,
    copied.sha256,
    copied.filename,
    copied.uploadedAt,
    systemKey,
    id,
  );
}

/** Forgets a journal row (a removal whose backup was already gone, or an erased or fully restored backup). */
export function dropRecoverable(sql: SqlStorage, systemKey: string, id: string): void {
  sql.exec("DELETE FROM recoverable WHERE system_key = ? AND id = ?", systemKey, id);
}

/**
 * Starts a restore: the backup's row comes back with its commit time and digest (its bytes count
 * against the quota from now on, so two restores cannot both pass the check), and the journal
 * row turns `restoring`. Returns why not, when it cannot.
 */
export function beginRestore(sql: SqlStorage, systemKey: string, id: string, quota: number, reasons?: RemovalReason[]): "ok" | "missing" | "quota" {
  const row = recoverableRow(sql, systemKey, id);
  if (!row || (row.state !== "held" && row.state !== "restoring") || (reasons && !reasons.includes(row.reason))) return "missing";
  if (row.state === "restoring") return "ok";
  if (quota > 0 && usageTotal(sql) + row.size > quota) return "quota";
  sql.exec(
    "INSERT INTO backups (system_key, id, size, sha256, committed_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (system_key, id) DO NOTHING",
    systemKey,
    id,
    row.size,
    row.sha256,
    row.uploaded_at ?? row.removed_at,
  );
  sql.exec("DELETE FROM tombstones WHERE object_key = ? || '/' || ?", systemKey, id);
  sql.exec("UPDATE recoverable SET state = 'restoring' WHERE system_key = ? AND id = ?", systemKey, id);
  return "ok";
}

/** The backup is back under its key: the journal row goes, or stays `restored` while a bucket lock keeps the copy. */
export function finishRestore(sql: SqlStorage, systemKey: string, id: string, copyKept: boolean): void {
  if (copyKept) sql.exec("UPDATE recoverable SET state = 'restored' WHERE system_key = ? AND id = ?", systemKey, id);
  else dropRecoverable(sql, systemKey, id);
}

/** The system's recoverable backups, most recently removed first. */
export function listRecoverable(sql: SqlStorage, systemKey: string): RecoverableBackup[] {
  return sql
    .exec<RecoverableRow>("SELECT * FROM recoverable WHERE system_key = ? AND state = 'held' ORDER BY removed_at DESC, id DESC", systemKey)
    .toArray()
    .map((r) => ({
      id: r.id,
      filename: r.filename ?? r.id,
      size: r.size,
      sha256: r.sha256 ?? "",
      uploaded_at: rfc3339(r.uploaded_at ?? r.removed_at),
      removed_at: rfc3339(r.removed_at),
      removed_by: r.removed_by,
      reason: r.reason,
      erase_after: rfc3339(r.erase_after),
    }));
}

/** Journal rows of one state (at most `limit`): what a resumed step picks up. */
export function rowsInState(sql: SqlStorage, state: RecoverableRow["state"], limit: number, systemKey?: string): RecoverableRow[] {
  const query = systemKey === undefined ? "SELECT * FROM recoverable WHERE state = ? LIMIT ?" : "SELECT * FROM recoverable WHERE state = ? AND system_key = ? LIMIT ?";
  const args = systemKey === undefined ? [state, limit] : [state, systemKey, limit];
  return sql.exec<RecoverableRow>(query, ...args).toArray();
}

/** Held or restored rows whose window has ended by `now`, oldest first. */
export function dueRows(sql: SqlStorage, now: number, limit: number): RecoverableRow[] {
  return sql.exec<RecoverableRow>("SELECT * FROM recoverable WHERE erase_after <= ? AND state IN ('held', 'restored') ORDER BY erase_after LIMIT ?", now, limit).toArray();
}

/** The oldest recoverable rows that left by a retention prune: the first to give way at the bound. */
export function oldestPruned(sql: SqlStorage, limit: number): RecoverableRow[] {
  return sql.exec<RecoverableRow>("SELECT * FROM recoverable WHERE reason = 'pruned' AND state = 'held' ORDER BY removed_at, id LIMIT ?", limit).toArray();
}

/** A purged system, while its window runs: `held`, or `restored` while a bucket lock keeps its record's copy. */
export type PurgeRow = {
  system_key: string;
  removed_at: number;
  removed_by: string;
  erase_after: number;
  state: "held" | "restored";
};

/** Records a purge (idempotent: a repeated purge keeps the first one's window). */
export function recordPurge(sql: SqlStorage, systemKey: string, stamp: RemovalStamp): PurgeRow {
  sql.exec(
    "INSERT INTO purges VALUES (?, ?, ?, ?, 'held') ON CONFLICT (system_key) DO UPDATE SET state = 'held'",
    systemKey,
    stamp.removedAt,
    stamp.removedBy,
    stamp.eraseAfter,
  );
  return sql.exec<PurgeRow>("SELECT * FROM purges WHERE system_key = ?", systemKey).one();
}

/** Purges whose window has ended by `now` and whose backups are all erased. */
export function duePurges(sql: SqlStorage, now: number, limit: number): PurgeRow[] {
  return sql
    .exec<PurgeRow>(
      "SELECT * FROM purges p WHERE erase_after <= ? AND NOT EXISTS (SELECT 1 FROM recoverable r WHERE r.system_key = p.system_key AND r.reason = 'purged' AND r.state <> 'restoring') LIMIT ?",
      now,
      limit,
    )
    .toArray();
}

/** The earliest end of a window still running (rows and purges), or null when nothing waits. */
export function nextEraseAt(sql: SqlStorage): number | null {
  const row = sql
    .exec<{ at: number | null }>(
      "SELECT MIN(at) AS at FROM (SELECT MIN(erase_after) AS at FROM recoverable WHERE state <> 'restoring' UNION ALL SELECT MIN(erase_after) FROM purges)",
    )
    .one();
  return row.at ?? null;
}
