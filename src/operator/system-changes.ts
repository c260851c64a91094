// The serialisation point of changes to one system (D1 `system_changes`): a lease taken by
// compare-and-set, so that two changes never interleave, and the tombstone a retire or purge
// leaves. D1 is one strongly consistent database, reached from every location; KV (the record
// store) is eventually consistent and cached, so it cannot be the lock. docs/consistency.md.

import { RELEASE_LEASE_SQL, TAKE_LEASE_SQL, TOMBSTONE_SQL } from "./change-lease-sql";
import { d1 } from "./d1";

/** What a change learns when it takes the lease. */
export interface ChangeLease {
  /** Changes that ended before this one. */
  version: number;
  /** What a retire or purge left: the record may never come back from it. */
  tombstone: Tombstone | null;
}

export type Tombstone = "retired" | "purged";

/**
 * Takes the system's lease for `holder` until `heldUntil` (ms), unless another change holds an
 * unexpired one: null then. One statement, so two takers can never both succeed.
 */
export async function takeChangeLease(db: D1Database, systemKey: string, holder: string, now: number, heldUntil: number): Promise<ChangeLease | null> {
  return d1("take change lease", () =>
    db.prepare(TAKE_LEASE_SQL).bind(systemKey, holder, heldUntil, now).first<ChangeLease>(),
  );
}

/** Extends the lease while `holder` still holds it; false when it was lost (expired and taken). */
export async function extendChangeLease(db: D1Database, systemKey: string, holder: string, heldUntil: number): Promise<boolean> {
  const result = await d1("extend change lease", () =>
    db.prepare("UPDATE system_changes SET held_until = ? WHERE system_key = ? AND holder = ?").bind(heldUntil, systemKey, holder).run(),
  );
  return (result.meta.changes ?? 0) > 0;
}

/** Ends `holder`'s change: the lease is free and the version counts one more change. */
export async function releaseChangeLease(db: D1Database, systemKey: string, holder: string): Promise<void> {
  await d1("release change lease", () =>
    db.prepare(RELEASE_LEASE_SQL).bind(systemKey, holder).run(),
  );
}

/**
 * The statement that leaves a tombstone (batched with the change's index row and audit event).
 * A purge tombstone is never replaced by a retire one; only the lease holder may write it.
 */
export function tombstoneStatement(db: D1Database, systemKey: string, holder: string, tombstone: Tombstone): D1PreparedStatement {
  return db.prepare(TOMBSTONE_SQL).bind(tombstone, systemKey, holder);
}

/** A system's change count (0 before its first change): what download links are bound to. */
export async function systemVersion(db: D1Database, systemKey: string): Promise<number> {
  const row = await d1("read system version", () => db.prepare("SELECT version FROM system_changes WHERE system_key = ?").bind(systemKey).first<{ version: number }>());
  return row?.version ?? 0;
}

/**
 * The statement that lifts a purge tombstone, by the lease holder: only the explicit undo of a
 * purge within its recovery window may (docs/recovery.md); it issues a new secret.
 */
export function liftPurgeTombstoneStatement(db: D1Database, systemKey: string, holder: string): D1PreparedStatement {
  return db.prepare("UPDATE system_changes SET tombstone = NULL WHERE system_key = ? AND holder = ? AND tombstone = 'purged'").bind(systemKey, holder);
}
