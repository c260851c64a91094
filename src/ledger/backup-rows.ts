// Queries on the ledger's `backups` and `tombstones` rows of one system, shared by commit,
// admission and the prune: each uses the primary key (system_key, id).

import { backupIdTime } from "../backups/ids";
import type { RetainedBackup } from "../backups/retention";

/** The system's newest backup (by commit time, as listings order them), with its digest. */
export interface NewestBackup {
  id: string;
  size: number;
  sha256: string;
}

/** The system's backups not already being pruned, each with its commit time (rows from before commit times: their id's). */
export function liveBackups(sql: SqlStorage, systemKey: string): RetainedBackup[] {
  return sql
    .exec<{ id: string; size: number; committed_at: number | null }>("SELECT id, size, committed_at FROM backups WHERE system_key = ? AND doomed = 0", systemKey)
    .toArray()
    .map((r) => ({ id: r.id, size: r.size, committedAt: r.committed_at ?? backupIdTime(r.id) }));
}

/**
 * The system's newest backup by commit time (rows from before commit times, by id): the one
 * place "newest" is decided. Null when there is none, or its digest is unknown.
 */
export function newestBackup(sql: SqlStorage, systemKey: string): NewestBackup | null {
  const newestFirst = "SELECT id, size, sha256 FROM backups WHERE system_key = ? AND doomed = 0 ORDER BY committed_at DESC, id DESC LIMIT 1";
  const row = sql.exec<{ id: string; size: number; sha256: string | null }>(newestFirst, systemKey).toArray()[0];
  return row?.sha256 ? { id: row.id, size: row.size, sha256: row.sha256 } : null;
}

/** True when a row with this key exists (`backups`), or the key was deleted lately (`tombstones`). */
export function hasRow(sql: SqlStorage, table: "backups" | "tombstones", systemKey: string, id: string): boolean {
  const query = table === "backups" ? "SELECT 1 FROM backups WHERE system_key = ? AND id = ?" : "SELECT 1 FROM tombstones WHERE object_key = ? || '/' || ?";
  return sql.exec(query, systemKey, id).toArray().length > 0;
}

/** Remembers deleted keys for a while, so that a listing page taken before the delete cannot add them back. */
export function tombstone(sql: SqlStorage, systemKey: string, ids: string[], now: number): void {
  for (const id of ids) sql.exec("INSERT INTO tombstones VALUES (?, ?) ON CONFLICT (object_key) DO UPDATE SET at = excluded.at", `${systemKey}/${id}`, now);
}
