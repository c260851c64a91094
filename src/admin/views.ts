// The shapes the operator API answers with (docs/api/operator.md), built from a record or index row
// and the ledger's usage. Never the secret hash.

import { systemStatus, type SystemRecord } from "../auth/secret";
import { backupIdTime } from "../backups/ids";
import type { SystemUsage } from "../ledger/org-ledger";
import type { FleetRow } from "../operator/fleet-query";
import { systemHealth, type Health } from "../operator/health";
import type { IndexedSystem } from "../operator/system-index";
import { rfc3339 } from "../platform/time";

/** A system as the operator API shows it. */
export interface SystemView {
  system_key: string;
  system_id: string;
  organization_id: string;
  name: string | null;
  notes: string | null;
  status: string;
  health: Health;
  append_only: boolean;
  registered_at: string | null;
  backups: number;
  bytes_used: number;
  last_backup_at: string | null;
  last_seen_at: string | null;
  last_refused_at: string | null;
  last_refused_reason: string | null;
}

/** What D1 knows of a system's health beside its record (null: nothing recorded yet). */
export type FleetFacts = Pick<FleetRow, "name" | "notes" | "last_backup_at" | "last_seen_at" | "last_refused_at" | "last_refused_reason"> | null;

/**
 * The view of a system from its KV record or its index row, its usage from the ledger and its
 * health facts from D1, judged at `now` with the organisation's `staleAfterDays`.
 */
export function systemView(
  systemKey: string,
  source: SystemRecord | IndexedSystem,
  usage: SystemUsage | undefined,
  facts: FleetFacts,
  now: number,
  staleAfterDays: number,
): SystemView {
  // The newest backup's commit time (rows from before commit times: the time in its UUIDv7 id).
  const ledgerNewest = usage?.newest ? rfc3339(usage.newest_at ?? backupIdTime(usage.newest)) : null;
  const lastBackupAt = newer(ledgerNewest, facts?.last_backup_at ?? null);
  const inputs = {
    registered_at: source.registered_at ?? null,
    suspended_at: source.suspended_at ?? null,
    deleted_at: source.deleted_at ?? null,
    last_backup_at: lastBackupAt,
    last_seen_at: facts?.last_seen_at ?? null,
    last_refused_at: facts?.last_refused_at ?? null,
  };
  return {
    system_key: systemKey,
    system_id: source.system_id,
    organization_id: source.organization_id,
    name: facts?.name ?? null,
    notes: facts?.notes ?? null,
    status: systemStatus(source),
    health: systemHealth(inputs, now, staleAfterDays),
    append_only: source.append_only === true,
    registered_at: source.registered_at ?? null,
    backups: usage?.backups ?? 0,
    bytes_used: usage?.bytes ?? 0,
    last_backup_at: lastBackupAt,
    last_seen_at: inputs.last_seen_at,
    last_refused_at: inputs.last_refused_at,
    last_refused_reason: facts?.last_refused_reason ?? null,
  };
}

/** The later of two RFC 3339 times (either may be null). */
export function newer(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return a > b ? a : b;
}
