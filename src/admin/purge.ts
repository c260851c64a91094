// Purge of a system (DELETE /api/admin/systems/{key}?purge=true), as a use case callable
// without HTTP. Order: retire the record (the appliance is refused from then on), move every
// backup into the recovery window and delete staged uploads (purge-recovery.ts: the bytes stay
// recoverable for RECOVERY_DAYS, docs/recovery.md), verify nothing is left, forget the system
// in its ledger, write the index and audit, and only then remove the record. Any failure is a
// 503 with the record kept; every step is safe to repeat.

import { writeSystemRecord } from "../auth/credentials";
import type { SystemRecord } from "../auth/secret";
import type { SystemScope } from "../backups/keys";
import { forgetSystem } from "../ledger/client";
import type { OrgLedger } from "../ledger/org-ledger";
import { recordAuditQuietly } from "../operator/audit";
import { rfc3339 } from "../platform/time";
import { moveSystemToRecovery, type PurgeRecoveryStores } from "./purge-recovery";
import { eraseSystemRecord, type Actor } from "./system-records";

/** Everything a purge touches. */
export interface PurgeStores extends PurgeRecoveryStores {
  ledger: DurableObjectNamespace<OrgLedger>;
}

/** Purges a system: every backup into the recovery window, its ledger rows, its index row, then its record. Returns how many objects left the system, and when the window ends. */
export async function purgeSystem(stores: PurgeStores, actor: Actor, systemKey: string, record: SystemRecord): Promise<{ deleted: number; eraseAfter: string }> {
  const scope: SystemScope = { organizationId: record.organization_id, systemKey };
  try {
    const retired = record.deleted_at ? record : { ...record, deleted_at: rfc3339() };
    if (retired !== record) await writeSystemRecord(stores.kv, systemKey, retired);
    const { moved: deleted, eraseAfter } = await moveSystemToRecovery(stores, actor, scope, retired);
    await forgetSystem(stores.ledger, scope);
    await eraseSystemRecord(stores, actor, systemKey, retired, `ok: ${deleted} objects moved, recoverable until ${eraseAfter}`);
    return { deleted, eraseAfter };
  } catch (err) {
    await recordAuditQuietly(stores.db, [
      { organizationId: record.organization_id, actor: actor.name, action: "system.purge", target: systemKey, outcome: "failed: storage unavailable, record kept", clientIp: actor.clientIp },
    ]);
    throw err;
  }
}
