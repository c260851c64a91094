// The ledger's RPC protocol: what the worker sends to an organisation's ledger and what it
// answers (the Durable Object is org-ledger.ts, the worker's side client.ts).

import type { RetentionPolicy } from "../backups/retention";
import type { NewestBackup } from "./backup-rows";

export type { NewestBackup };
export type { MovedBackup, OrganizationUsage, SystemUsage } from "./system-rows";

export interface ReserveRequest {
  organizationId: string;
  systemKey: string;
  size: number;
  /** 0 disables each of these. */
  quota: number;
  perMinute: number;
  perHour: number;
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
  /** Re-checked when the reservation has expired (0: no quota). */
  quota: number;
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
