// The worker's side of the organisation ledger: one stub per organisation, bounded waits,
// and every failure turned into a fail-closed 503.

import type { AuthenticatedSystem } from "../auth/credentials";
import type { SystemScope } from "../backups/keys";
import { TIMINGS, type Limits } from "../config";
import { ApiError, UnavailableError } from "../errors";
import { withDeadline } from "../platform/deadline";
import type { RetentionOverrides } from "../operator/org-settings";
import { log } from "../platform/log";
import type { SealReason } from "./seals";
import type { CommitResult, MovedBackup, NewestBackup, OrganizationUsage, OrgLedger, ReserveResult } from "./org-ledger";

export function ledgerOf(ns: DurableObjectNamespace<OrgLedger>, organizationId: string) {
  return ns.get(ns.idFromName(organizationId));
}

/** Runs one ledger call with a deadline; any failure means the quota cannot be vouched for (503). */
export async function call<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await withDeadline(`ledger ${operation}`, TIMINGS.ledgerDeadlineMs, run);
  } catch (err) {
    throw new UnavailableError("backup storage unavailable", err);
  }
}

/**
 * Runs an idempotent ledger call, once more if it fails: its first answer may be what was lost
 * (a commit that already pruned for its backup, a forget that already freed its bytes).
 */
export async function callTwice<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await call(operation, run);
  } catch {
    return await call(operation, run);
  }
}

/**
 * Admits an upload of `size` bytes for the system, or throws: 429 with Retry-After when its
 * rate window is full (unless `firstOfDayExempt` and the system has no backup committed this UTC day), 413 when the organisation quota would be exceeded, 503 when unknown
 * (the ledger unreachable, or rebuilding its usage from R2).
 * Returns the reservation token to commit or release, and the system's newest backup.
 */
export async function reserveUpload(
  ns: DurableObjectNamespace<OrgLedger>,
  system: AuthenticatedSystem,
  size: number,
  limits: Limits,
  firstOfDayExempt = false,
): Promise<{ token: string; newest: NewestBackup | null }> {
  const result = await call<ReserveResult>("reserve", async () =>
    ledgerOf(ns, system.organizationId).reserve({
      organizationId: system.organizationId,
      systemKey: system.systemKey,
      size,
      quota: limits.maxSizePerOrg,
      perMinute: limits.rateLimitPerMinute,
      perHour: limits.rateLimitPerHour,
      ...(firstOfDayExempt ? { firstOfDayExempt } : {}),
    }) as Promise<ReserveResult>,
  );
  if (result.ok) return { token: result.token, newest: result.newest };
  if (result.reason === "rate") {
    throw new ApiError(429, "upload rate limit exceeded", {
      headers: { "Retry-After": String(result.retryAfterSeconds) },
      data: { retry_after: result.retryAfterSeconds },
    });
  }
  throw refusal(result.reason);
}

/** 413 for a full quota (never echoing the quota itself), 503 while usage is unknown or the system is sealed. */
function refusal(reason: "quota" | "unknown" | "sealed"): ApiError {
  // A purge or move sealed the system: refused with Retry-After, never a 201 into a prefix being emptied.
  if (reason === "sealed") return new UnavailableError("the system is being changed: retry later", new Error("system sealed in its ledger"));
  if (reason === "unknown") return new UnavailableError("backup storage unavailable", new Error("ledger rebuilding its usage from R2"));
  return new ApiError(413, "organization storage quota exceeded");
}

/**
 * Records a stored backup and prunes under the retention policy (idempotent, asked twice), unless
 * its bytes are already the system's newest backup. Throws 413 when its reservation had expired
 * and the quota is now full.
 */
export async function commitUpload(
  ns: DurableObjectNamespace<OrgLedger>,
  system: AuthenticatedSystem,
  token: string,
  backup: { id: string; size: number; sha256: string },
  limits: Limits,
): Promise<Exclude<CommitResult, { refused: unknown }>> {
  const { organizationId, systemKey } = system;
  const result = await callTwice<CommitResult>("commit", () =>
    ledgerOf(ns, organizationId).commit({ organizationId, token, systemKey, ...backup, policy: limits, quota: limits.maxSizePerOrg, recoveryDays: limits.recoveryDays }) as Promise<CommitResult>,
  );
  if ("refused" in result) throw refusal(result.refused);
  return result;
}

/**
 * Settles an upload whose bytes are backup `id`'s: true when that still is the system's newest
 * backup (the reservation is dropped), else false (idempotent, asked twice).
 */
export async function settleRepeat(ns: DurableObjectNamespace<OrgLedger>, system: AuthenticatedSystem, token: string, id: string): Promise<boolean> {
  const { organizationId, systemKey } = system;
  return callTwice("settle", () => ledgerOf(ns, organizationId).settleRepeat({ organizationId, systemKey, token, id }));
}

/** Releases a reservation after a failed upload (best effort: it expires anyway). */
export async function releaseUpload(ns: DurableObjectNamespace<OrgLedger>, system: AuthenticatedSystem, token: string): Promise<void> {
  await call("release", () => ledgerOf(ns, system.organizationId).release(token)).catch((err) => {
    log.error("reservation release failed", { system: system.systemKey, error: err });
  });
}

/** Frees a deleted backup's bytes at once (idempotent, asked twice). */
export async function forgetBackup(ns: DurableObjectNamespace<OrgLedger>, system: SystemScope, id: string): Promise<void> {
  await callTwice("forget", () => ledgerOf(ns, system.organizationId).forget(system.organizationId, system.systemKey, id));
}

/** Committed backups and bytes of an organisation, per system too (for the given keys, or all): one call. */
export async function organizationUsage(ns: DurableObjectNamespace<OrgLedger>, organizationId: string, systemKeys: string[] | null): Promise<OrganizationUsage> {
  return callTwice("usage", () => ledgerOf(ns, organizationId).systemsUsage(organizationId, systemKeys));
}

/** The ledger rows (id, size, commit time, digest) of one system. */
export async function systemBackupRows(ns: DurableObjectNamespace<OrgLedger>, system: SystemScope): Promise<MovedBackup[]> {
  return callTwice("system backups", () => ledgerOf(ns, system.organizationId).systemBackups(system.organizationId, system.systemKey));
}

/** Records backups that a move brought into the system's (new) organisation (idempotent, asked twice). */
export async function adoptBackups(ns: DurableObjectNamespace<OrgLedger>, system: SystemScope, backups: MovedBackup[]): Promise<void> {
  await callTwice("adopt", () => ledgerOf(ns, system.organizationId).adoptBackups(system.organizationId, system.systemKey, backups));
}

/** Forgets every backup of a system in its organisation's ledger (idempotent, asked twice). */
export async function forgetSystem(ns: DurableObjectNamespace<OrgLedger>, system: SystemScope): Promise<void> {
  await callTwice("forget system", () => ledgerOf(ns, system.organizationId).forgetSystem(system.organizationId, system.systemKey));
}

/** Gives an organisation's ledger its retention overrides (idempotent, asked twice). */
export async function setRetentionOverrides(ns: DurableObjectNamespace<OrgLedger>, organizationId: string, overrides: RetentionOverrides): Promise<void> {
  const { keep_last, daily, weekly, monthly } = overrides;
  await callTwice("retention", () => ledgerOf(ns, organizationId).setRetention({ keep_last, daily, weekly, monthly }));
}

/** Seals a system against uploads in its organisation's ledger (null: lifts a move's seal); returns how many of its reservations are open (idempotent). */
export async function sealSystem(ns: DurableObjectNamespace<OrgLedger>, system: SystemScope, reason: SealReason | null): Promise<number> {
  return callTwice("seal", () => ledgerOf(ns, system.organizationId).seal(system.organizationId, system.systemKey, reason));
}

/** Reserves a moving system's bytes in its destination, checked against the quota in the same step: 413 when they do not fit. */
export async function reserveMoveIn(ns: DurableObjectNamespace<OrgLedger>, to: SystemScope, bytes: number, quota: number): Promise<void> {
  const result = await callTwice("reserve move", () => ledgerOf(ns, to.organizationId).reserveMove(to.organizationId, to.systemKey, bytes, quota));
  if (result === "quota") throw new ApiError(413, "organization storage quota exceeded");
  if (result === "unknown") throw refusal("unknown");
  if (result === "purged") throw new ApiError(409, "the system was purged");
}
