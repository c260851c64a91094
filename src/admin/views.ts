// The shapes the operator API answers with (docs/api/operator.md), built from a record or index row
// and the ledger's usage. Never the secret hash.

import { systemStatus, type SystemRecord } from "../auth/secret";
import { backupIdTime } from "../backups/ids";
import type { SystemUsage } from "../ledger/org-ledger";
import type { IndexedSystem } from "../operator/system-index";
import type { SystemActivity } from "../operator/system-activity";
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
  /** The appliance's last authenticated call (to the hour), and its last refused upload (operator/system-activity.ts). */
  last_seen_at: string | null;
  last_refused_at: string | null;
  last_refused_reason: string | null;
}

const NO_ACTIVITY: SystemActivity = { last_seen_at: null, last_refused_at: null, last_refused_reason: null };

/** The view of a system from its KV record or its index row, with its usage from the ledger and its activity. */
export function systemView(systemKey: string, source: SystemRecord | IndexedSystem, usage: SystemUsage | undefined, activity: SystemActivity = NO_ACTIVITY): SystemView {
  return {
    system_key: systemKey,
    system_id: source.system_id,
    organization_id: source.organization_id,
    status: systemStatus(source),
    append_only: source.append_only === true,
    registered_at: source.registered_at ?? null,
    backups: usage?.backups ?? 0,
    bytes_used: usage?.bytes ?? 0,
    // The newest backup's commit time (rows from before commit times: the time in its UUIDv7 id).
    last_backup_at: usage?.newest ? rfc3339(usage.newest_at ?? backupIdTime(usage.newest)) : null,
    last_seen_at: activity.last_seen_at,
    last_refused_at: activity.last_refused_at,
    last_refused_reason: activity.last_refused_reason,
  };
}
