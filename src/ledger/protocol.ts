// The ledger's RPC protocol: what the worker sends to an organisation's ledger and what it
// answers (the Durable Object is org-ledger.ts, the worker's side client.ts).

import type { RetentionPolicy } from "../backups/retention";
import type { NewestBackup } from "./backup-rows";
import type { RemovalReason } from "./recovery-rows";

export type { NewestBackup };
export type { MovedBackup, OrganizationUsage, SystemUsage } from "./system-rows";
export type { RecoverableBackup, RemovalReason } from "./recovery-rows";

export interface ReserveRequest {
  organizationId: string;
  systemKey: string;
  size: number;
  /** 0 disables each of these. */
  quota: number;
  perMinute: number;
  perHour: number;
  /** When set, a full rate window does not refuse the system's first upload of the UTC day (the older protocol's promise). */
  firstOfDayExempt?: boolean;
}

export type ReserveResult =
  | { ok: true; token: string; newest: NewestBackup | null }
  | { ok: false; reason: "rate"; retryAfterSeconds: number }
  | { ok: false; reason: "quota" | "unknown" | "sealed" };

export interface CommitRequest {
  organizationId: string;
  token: string;
  systemKey: string;
  id: string;
  size: number;
  sha256: string;
  policy: RetentionPolicy;
  /** Re-checked when the reservation has expired (0: no quota); also the recoverable bytes' bound. */
  quota: number;
  /** How long what this commit prunes stays recoverable. */
  recoveryDays: number;
}

/**
 * A commit's outcome: recorded (and the ids its retention pruned); not recorded because its bytes
 * already are the system's newest backup (a concurrent identical upload committed first); or
 * refused (its reservation had expired and the quota is full, unknown during a rebuild, or the
 * system sealed by a purge or move while its body arrived).
 */
export type CommitResult = { stored: true; pruned: string[] } | { stored: false; newest: string } | { refused: "quota" | "unknown" | "sealed" };

/** An upload whose bytes turned out to be backup `id`'s, the newest at reservation, to settle without storing it. */
export interface RepeatRequest {
  organizationId: string;
  systemKey: string;
  token: string;
  id: string;
}

/** Backups to take out of a system into the recovery window (docs/recovery.md). */
export interface RemovalRequest {
  organizationId: string;
  systemKey: string;
  ids: string[];
  removedBy: string;
  reason: RemovalReason;
  /** When the window ends (epoch ms). */
  eraseAfter: number;
  /** The organisation's quota: the recoverable bytes' bound (0: unbounded). */
  bound: number;
}

/** Recoverable backups to put back: the ids given, or every backup a purge removed. */
export interface RestoreRequest {
  organizationId: string;
  systemKey: string;
  ids: string[] | "purged";
  /** 0: no quota. */
  quota: number;
}

/** A restore's outcome: done (the ids restored), nothing to restore, refused by the quota, or a storage fault (the alarm finishes it). */
export type RestoreResult = { restored: string[] } | { refused: "missing" | "quota" | "unavailable" };

/** A removal's outcome: the ids moved and those that were not there, or a storage fault (the alarm finishes the move). */
export type RemovalResult = { removed: string[]; missing: string[] } | { unavailable: true };
