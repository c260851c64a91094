// Whole-system queries for the operator plane: usage per system (one call lists an
// organisation), a system's rows, adopting the rows of a moved system and forgetting them all.
// Rows are written with ON CONFLICT … DO UPDATE, never INSERT OR REPLACE: a REPLACE deletes
// without firing the triggers that keep the running totals (totals.ts).

import { tombstone } from "./backup-rows";

/** Committed backups of one system, with its newest backup (by commit time; null when none). */
export interface SystemUsage {
  backups: number;
  bytes: number;
  newest: string | null;
  /** Commit time (epoch ms) of the newest backup, null when none. */
  newest_at: number | null;
}

/** An organisation's committed backups and bytes, in total and per system. */
export interface OrganizationUsage {
  backups: number;
  bytes: number;
  systems: Record<string, SystemUsage>;
}

/** A backup row as a move carries it from one organisation's ledger to another's. */
export interface MovedBackup {
  id: string;
  size: number;
  /** Commit time in the source organisation (epoch ms), so that retention ages it the same. */
  committedAt?: number | null;
  sha256?: string | null;
}

/** Usage of the organisation, and per system (all, or the keys given), in one pass over an index. */
export function systemsUsage(sql: SqlStorage, systemKeys: string[] | null): OrganizationUsage {
  const rows = sql
    .exec<{ system_key: string; backups: number; bytes: number; newest_at: number | null }>(
      "SELECT system_key, COUNT(*) AS backups, SUM(size) AS bytes, MAX(committed_at) AS newest_at FROM backups GROUP BY system_key",
    )
    .toArray();
  const wanted = systemKeys ? new Set(systemKeys) : null;
  const usage: OrganizationUsage = { backups: 0, bytes: 0, systems: {} };
  for (const { system_key, backups, bytes } of rows) {
    usage.backups += backups;
    usage.bytes += bytes;
    if (wanted && !wanted.has(system_key)) continue;
    const newest = sql
      .exec<{ id: string; committed_at: number | null }>(
        "SELECT id, committed_at FROM backups WHERE system_key = ? ORDER BY committed_at DESC, id DESC LIMIT 1",
        system_key,
      )
      .toArray()[0];
    usage.systems[system_key] = { backups, bytes, newest: newest?.id ?? null, newest_at: newest?.committed_at ?? null };
  }
  return usage;
}

/** The rows of one system, with commit times and digests (a move copies them to the new organisation). */
export function systemRows(sql: SqlStorage, systemKey: string): MovedBackup[] {
  return sql
    .exec<{ id: string; size: number; committed_at: number | null; sha256: string | null }>(
      "SELECT id, size, committed_at, sha256 FROM backups WHERE system_key = ? ORDER BY id",
      systemKey,
    )
    .toArray()
    .map((r) => ({ id: r.id, size: r.size, committedAt: r.committed_at, sha256: r.sha256 }));
}

/** Records backups that arrived by a move (idempotent: a row already there takes the carried values). */
export function adoptRows(sql: SqlStorage, systemKey: string, backups: MovedBackup[], now: number): void {
  for (const b of backups) {
    sql.exec(
      `INSERT INTO backups (system_key, id, size, doomed, committed_at, sha256) VALUES (?, ?, ?, 0, ?, ?)
       ON CONFLICT (system_key, id) DO UPDATE SET size = excluded.size, doomed = 0, committed_at = excluded.committed_at, sha256 = excluded.sha256`,
      systemKey,
      b.id,
      b.size,
      b.committedAt ?? now,
      b.sha256 ?? null,
    );
  }
}

/** Forgets every backup of a system (purged, or moved away): its bytes stop counting at once, and its keys are tombstoned. */
export function forgetSystemRows(sql: SqlStorage, systemKey: string, now: number): void {
  const ids = sql.exec<{ id: string }>("SELECT id FROM backups WHERE system_key = ?", systemKey).toArray().map((r) => r.id);
  sql.exec("DELETE FROM backups WHERE system_key = ?", systemKey);
  tombstone(sql, systemKey, ids, now);
}
