// The CLI's changes on the stores take the same change lease as the worker's (D1
// `system_changes`, docs/consistency.md): a change through the API and one made here never
// interleave, a record is read only once the lease is held, and ending the lease counts one more
// change, so download links issued before it stop working as after the same change over HTTP.
import { CHANGE_LEASE_MS, RELEASE_LEASE_SQL, TAKE_LEASE_SQL, TOMBSTONE_SQL } from "../../src/operator/change-lease-sql.ts";
import { sqlLiteral } from "./d1.mjs";
import { SystemError } from "./systems.mjs";

/** The statement with its numbered parameters (?1, ?2, …) filled in as SQL literals. */
export function fillSql(sql, values) {
  return sql.replace(/\?(\d+)/g, (_, n) => sqlLiteral(values[Number(n) - 1]));
}

/**
 * Runs `change(lease)` holding `systemKey`. `lease.tombstone` is what a retire or purge left
 * (null if none); `lease.closing(tombstone?)` is the SQL that leaves a tombstone (if given) and
 * ends the lease, for the change to send in the same D1 call as its index row and audit event,
 * then `lease.ended()`. A change that fails before that ends the lease on its own.
 */
export async function withChangeLease(db, systemKey, change) {
  const holder = `cli-${crypto.randomUUID()}`;
  const now = Date.now();
  const taken = await db.query(`${fillSql(TAKE_LEASE_SQL, [systemKey, holder, now + CHANGE_LEASE_MS, now])};`);
  if (taken.length === 0) throw new SystemError(`another change to ${systemKey} is in progress (over the API or from another CLI); nothing was changed, try again in a minute`);
  let open = true;
  const release = `${fillSql(RELEASE_LEASE_SQL, [systemKey, holder])};`;
  const lease = {
    tombstone: taken[0].tombstone ?? null,
    closing: (tombstone) => `${tombstone ? `${fillSql(TOMBSTONE_SQL, [tombstone, systemKey, holder])};\n` : ""}${release}`,
    ended: () => (open = false),
  };
  try {
    return await change(lease);
  } finally {
    // Not ended with the change's own D1 call (it failed, or there was nothing to record): end it here; else it lapses on its own.
    if (open) await db.query(release).catch(() => {});
  }
}

/** Refuses a change to a system a retire or purge over the API left a tombstone on (its KV record may not show it yet). */
export function refuseTombstoned(systemKey, lease) {
  if (lease.tombstone) throw new SystemError(`${systemKey} was ${lease.tombstone === "purged" ? "purged" : "deleted"} over the API; a deleted system cannot be changed`);
}
