// The statements of a system's change lease (docs/consistency.md) as SQL text with numbered
// parameters: the worker binds them (system-changes.ts), and the CLI on the stores fills them in
// (scripts/lib/change-lease.mjs). One text, so that both take and end a lease the same way.

/** How long a change may hold a system before its lease lapses (a long purge or move renews it as it goes). */
export const CHANGE_LEASE_MS = 60_000;

/**
 * Takes the lease: ?1 system key, ?2 holder, ?3 held until (ms), ?4 now (ms). Returns the
 * system's version and tombstone, or no row while another change holds an unexpired lease.
 */
export const TAKE_LEASE_SQL = `INSERT INTO system_changes (system_key, holder, held_until) VALUES (?1, ?2, ?3)
 ON CONFLICT (system_key) DO UPDATE SET holder = excluded.holder, held_until = excluded.held_until
 WHERE system_changes.holder IS NULL OR system_changes.held_until <= ?4
 RETURNING version, tombstone`;

/** Ends the holder's change (?1 system key, ?2 holder): the lease is free and the version counts one more change. */
export const RELEASE_LEASE_SQL = "UPDATE system_changes SET holder = NULL, held_until = 0, version = version + 1 WHERE system_key = ?1 AND holder = ?2";

/** Leaves a tombstone (?1 tombstone, ?2 system key, ?3 holder); a purge tombstone is never replaced by a retire one. */
export const TOMBSTONE_SQL = "UPDATE system_changes SET tombstone = ?1 WHERE system_key = ?2 AND holder = ?3 AND (tombstone IS NULL OR tombstone = 'retired')";
