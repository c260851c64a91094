// One change to a system at a time (docs/consistency.md): a change takes the system's lease in
// D1, waits briefly for one already running or answers 409, reads the record afresh from KV
// (never through the authentication cache) once it holds the lease, and ends the lease however
// it ends. Nothing writes back a record it read before it held the system.

import { readSystemRecord } from "../auth/credentials";
import type { SystemRecord } from "../auth/secret";
import { ApiError } from "../errors";
import { CHANGE_LEASE_MS } from "../operator/change-lease-sql";
import { extendChangeLease, releaseChangeLease, takeChangeLease, type Tombstone } from "../operator/system-changes";
import { log } from "../platform/log";
import { rfc3339 } from "../platform/time";
import type { RecordStores } from "./system-records";

/** How long a change waits for one already running before it answers 409. */
export const CHANGE_WAIT_MS = 2_000;
const POLL_MS = 100;

/** A system held by a change: its record as KV holds it now (null when there is none) and its tombstone. */
export interface HeldSystem {
  systemKey: string;
  record: SystemRecord | null;
  tombstone: Tombstone | null;
  /** The lease's holder id (a tombstone is written only by the holder). */
  holder: string;
  /** Renews the lease; a change that lost it (it ran past its lease and another took it) stops with 409. */
  renew(): Promise<void>;
}

/** The 409 of a change that finds another one running. */
export function changeInProgress(): ApiError {
  return new ApiError(409, "another change to this system is in progress");
}

/**
 * Runs `change` holding the system. The record it gets reflects the tombstone: a retired system
 * reads as retired even if KV's answer is older than the retire.
 */
export async function withSystemChange<T>(stores: RecordStores, systemKey: string, change: (held: HeldSystem) => Promise<T>, waitMs = CHANGE_WAIT_MS): Promise<T> {
  const holder = crypto.randomUUID();
  const lease = await takeLease(stores.db, systemKey, holder, waitMs);
  try {
    const stored = await readSystemRecord(stores.kv, systemKey, { fresh: true });
    const record = stored && lease.tombstone && !stored.deleted_at ? { ...stored, deleted_at: rfc3339() } : stored;
    const renew = async () => {
      if (!(await extendChangeLease(stores.db, systemKey, holder, Date.now() + CHANGE_LEASE_MS))) throw changeInProgress();
    };
    return await change({ systemKey, record, tombstone: lease.tombstone, holder, renew });
  } finally {
    await release(stores.db, systemKey, holder);
  }
}

/** Ends the lease, asked twice; a lease that still cannot be ended lapses on its own. */
async function release(db: D1Database, systemKey: string, holder: string): Promise<void> {
  await releaseChangeLease(db, systemKey, holder)
    .catch(() => releaseChangeLease(db, systemKey, holder))
    .catch((err) => log.error("change lease release failed", { system: systemKey, error: err }));
}

async function takeLease(db: D1Database, systemKey: string, holder: string, waitMs: number) {
  const giveUpAt = Date.now() + waitMs;
  for (;;) {
    const now = Date.now();
    let lease: Awaited<ReturnType<typeof takeChangeLease>>;
    try {
      lease = await takeChangeLease(db, systemKey, holder, now, now + CHANGE_LEASE_MS);
    } catch (err) {
      await release(db, systemKey, holder); // the take may have happened and only its answer was lost
      throw err;
    }
    if (lease) return lease;
    if (now + POLL_MS > giveUpAt) throw changeInProgress();
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
