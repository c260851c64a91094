// The shapes the operator API answers with (docs/api/operator.md), built from a record or index row
// and the ledger's usage. Never the secret hash.

import { systemStatus, type SystemRecord } from "../auth/secret";
import { backupIdTime } from "../backups/ids";
import type { SystemUsage } from "../ledger/org-ledger";
import type { IndexedSystem } from "../operator/system-index";
import { rfc3339 } from "../platform/time";

/** A system as the operator API shows it. */
export interface SystemView {
  system_key: string;
  system_id: string;
  organization_id: string;
  status: string;
  append_only: boolean;
  registered_at: string | null;
  backups: number;
  bytes_used: number;
  last_backup_at: string | null;
}

/** The view of a system from its KV record or its index row, with its usage from the ledger. */
export function systemView(systemKey: string, source: SystemRecord | IndexedSystem, usage: SystemUsage | undefined): SystemView {
  return {
    system_key: systemKey,
    system_id: source.system_id,
    organization_id: source.organization_id,
    status: systemStatus(source),
    append_only: source.append_only === true,
    registered_at: source.registered_at ?? null,
    backups: usage?.backups ?? 0,
    bytes_used: usage?.bytes ?? 0,
    // Ids are UUIDv7: the newest id carries the time its upload began.
    last_backup_at: usage?.newest ? rfc3339(backupIdTime(usage.newest)) : null,
  };
}
