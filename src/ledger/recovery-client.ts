// The worker's side of the recovery window (docs/recovery.md): the delete use case every door
// calls (the appliance's DELETE on either protocol, the operator's delete), the recoverable
// listing, restores, purges' bookkeeping, and the hourly erasure. Failures are fail-closed 503s.

import { backupNotFound } from "../backups/download";
import type { SystemScope } from "../backups/keys";
import { eraseAfter, type Limits } from "../config";
import { ApiError, UnavailableError } from "../errors";
import { dueOrganizations } from "../operator/recovery-due";
import { log } from "../platform/log";
import { rfc3339 } from "../platform/time";
import { call, callTwice, ledgerOf } from "./client";
import type { OrgLedger, RecoverableBackup, RemovalReason, RemovalResult, RestoreResult } from "./org-ledger";

type Ledger = DurableObjectNamespace<OrgLedger>;

/** Organisations the cron visits per run; each visit erases at most one page (1,000 backups). */
const ORGANIZATIONS_PER_RUN = 50;

/**
 * Deletes one backup of the system the only way the API can: it leaves the listing and the
 * quota at once and stays recoverable for RECOVERY_DAYS. 404 when there is no such backup.
 * Returns when the window ends (RFC 3339).
 */
export async function removeBackup(ns: Ledger, system: SystemScope, id: string, removedBy: string, limits: Limits, reason: RemovalReason = "deleted"): Promise<string> {
  const until = eraseAfter(Date.now(), limits);
  const result = await call<RemovalResult>("remove", () =>
    ledgerOf(ns, system.organizationId).removeBackups({ ...system, ids: [id], removedBy, reason, eraseAfter: until, bound: limits.maxSizePerOrg }) as Promise<RemovalResult>,
  );
  if (!removed(result).includes(id)) throw backupNotFound();
  return rfc3339(until);
}

/** Moves backups of a purged system into the window (idempotent); returns how many were moved. */
export async function removePurgedBackups(ns: Ledger, system: SystemScope, ids: string[], removedBy: string, eraseAfterMs: number, limits: Limits): Promise<number> {
  const result = await callTwice<RemovalResult>("remove", () =>
    ledgerOf(ns, system.organizationId).removeBackups({ ...system, ids, removedBy, reason: "purged", eraseAfter: eraseAfterMs, bound: limits.maxSizePerOrg }) as Promise<RemovalResult>,
  );
  return removed(result).length;
}

/** The ids a removal moved; 503 when storage failed (the ledger's alarm finishes what it journaled). */
function removed(result: RemovalResult): string[] {
  if ("unavailable" in result) throw new UnavailableError("backup storage unavailable", new Error("recovery move failed, will be finished by the ledger"));
  return result.removed;
}

/** The system's recoverable backups, most recently removed first. */
export async function recoverableBackups(ns: Ledger, system: SystemScope): Promise<RecoverableBackup[]> {
  return callTwice("recoverable", () => ledgerOf(ns, system.organizationId).recoverable(system.organizationId, system.systemKey));
}

/**
 * Puts recoverable backups back (the ids, or every backup the system's purge removed), byte-exact
 * with the same ids and digests. 404 when none of them is recoverable, 413 when the quota no
 * longer allows them (nothing restored then).
 */
export async function restoreBackups(ns: Ledger, system: SystemScope, ids: string[] | "purged", limits: Limits): Promise<string[]> {
  const result = await callTwice<RestoreResult>("restore", () =>
    ledgerOf(ns, system.organizationId).restoreBackups({ ...system, ids, quota: limits.maxSizePerOrg }),
  );
  if ("refused" in result) {
    if (result.refused === "quota") throw new ApiError(413, "organization storage quota exceeded");
    if (result.refused === "unavailable") throw new UnavailableError("backup storage unavailable", new Error("restore failed, will be finished by the ledger"));
    throw new ApiError(404, "recoverable backup not found");
  }
  return result.restored;
}

/** Records a purge and its window in the organisation's ledger (idempotent: a repeat keeps the first). */
export async function recordPurge(ns: Ledger, system: SystemScope, removedBy: string, limits: Limits): Promise<{ removed_at: string; erase_after: string }> {
  const until = eraseAfter(Date.now(), limits);
  return callTwice("purge", () => ledgerOf(ns, system.organizationId).recordPurge(system.organizationId, system.systemKey, removedBy, until));
}

/** Ends a purge that was undone: the cron no longer erases the system at its window's end. */
export async function liftPurge(ns: Ledger, system: SystemScope): Promise<void> {
  await callTwice("lift purge", () => ledgerOf(ns, system.organizationId).liftPurge(system.organizationId, system.systemKey));
}

/** Bytes an organisation holds in the recovery window (not counted in its quota): one ledger call. */
export async function recoverableBytes(ns: Ledger, organizationId: string): Promise<number> {
  return callTwice("recoverable bytes", () => ledgerOf(ns, organizationId).recoverableBytes(organizationId));
}

/**
 * The hourly cron's erasure: every organisation whose window has ended by `now` (the trigger's
 * scheduled time, never the wall clock) erases one page. An organisation that fails is logged
 * and visited again by the next run.
 */
export async function eraseEndedWindows(env: Env, now: number): Promise<{ organizations: number; erased: number; systems: number; locked: number }> {
  const totals = { organizations: 0, erased: 0, systems: 0, locked: 0 };
  for (const organizationId of await dueOrganizations(env.OPERATOR_DB, now, ORGANIZATIONS_PER_RUN)) {
    try {
      const done = await call("erase", () => ledgerOf(env.ORG_LEDGER, organizationId).eraseDue(organizationId, now));
      totals.organizations++;
      totals.erased += done.erased;
      totals.systems += done.systems;
      totals.locked += done.locked;
    } catch (err) {
      log.error("erasure failed, will retry", { organizationId, error: err });
    }
  }
  return totals;
}
