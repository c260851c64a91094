// What the vault knows about a system beyond its credential record (`system_profile` in D1): the
// operator's name and notes, and when the system last committed a backup (written after each
// commit, off the appliance's critical path, so that health is computed from D1 alone).

import { rfc3339 } from "../platform/time";
import { d1 } from "./d1";

/** The profile of a system (all null when nothing was recorded). */
export interface SystemProfile {
  name: string | null;
  notes: string | null;
  last_backup_at: string | null;
}

export const NAME_MAX = 100;
export const NOTES_MAX = 1000;

/** Sets the name and/or notes (undefined: unchanged; null: cleared), as a statement to batch with its audit event. */
export function profileTextStatement(db: D1Database, systemKey: string, change: { name?: string | null; notes?: string | null }): D1PreparedStatement {
  const setName = change.name !== undefined ? 1 : 0;
  const setNotes = change.notes !== undefined ? 1 : 0;
  return db
    .prepare(
      `INSERT INTO system_profile (system_key, name, notes) VALUES (?1, ?2, ?4)
       ON CONFLICT (system_key) DO UPDATE SET
         name = CASE WHEN ?3 = 1 THEN excluded.name ELSE name END,
         notes = CASE WHEN ?5 = 1 THEN excluded.notes ELSE notes END`,
    )
    .bind(systemKey, change.name ?? null, setName, change.notes ?? null, setNotes);
}

/** Records a committed backup's time; never moves it back (a late write from an earlier commit). */
export async function recordBackupAt(db: D1Database, systemKey: string, at: number): Promise<void> {
  await d1("profile backup", () => backupAtStatement(db, systemKey, rfc3339(at)).run());
}

/** The statement behind `recordBackupAt` (also used to repair from the ledger's newest commit). */
export function backupAtStatement(db: D1Database, systemKey: string, at: string): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO system_profile (system_key, last_backup_at) VALUES (?, ?)
       ON CONFLICT (system_key) DO UPDATE SET last_backup_at = excluded.last_backup_at
       WHERE last_backup_at IS NULL OR last_backup_at < excluded.last_backup_at`,
    )
    .bind(systemKey, at);
}

/** The profile of one system. */
export async function readProfile(db: D1Database, systemKey: string): Promise<SystemProfile> {
  const row = await d1("profile read", () =>
    db.prepare("SELECT name, notes, last_backup_at FROM system_profile WHERE system_key = ?").bind(systemKey).first<SystemProfile>(),
  );
  return row ?? { name: null, notes: null, last_backup_at: null };
}

/** Forgets everything about a purged system (profile, activity, alert state), to batch with its erasure. */
export function forgetProfileStatements(db: D1Database, systemKey: string): D1PreparedStatement[] {
  return ["system_profile", "system_activity", "system_health"].map((table) => db.prepare(`DELETE FROM ${table} WHERE system_key = ?`).bind(systemKey));
}
