// Erasure of a system (DELETE /api/admin/systems/{key}?purge=true), as a use case callable
// without HTTP. Order: retire the record (the appliance is refused from then on), delete every
// object (backups and staged uploads), verify nothing is left, forget the system in its
// ledger, write the index and audit, and only then remove the record. Any failure is a 503
// with the record kept; every step is safe to repeat.

import { writeSystemRecord } from "../auth/credentials";
import type { SystemRecord } from "../auth/secret";
import { systemPrefix, systemStagingPrefix, type SystemScope } from "../backups/keys";
import { deleteObjects, listObjectSizes } from "../backups/store";
import { UnavailableError } from "../errors";
import { forgetSystem } from "../ledger/client";
import type { OrgLedger } from "../ledger/org-ledger";
import { recordAuditQuietly } from "../operator/audit";
import { rfc3339 } from "../platform/time";
import { eraseSystemRecord, type Actor, type RecordStores } from "./system-records";

/** Everything an erasure touches. */
export interface PurgeStores extends RecordStores {
  bucket: R2Bucket;
  ledger: DurableObjectNamespace<OrgLedger>;
}

/** Erases a system: every object under its prefixes, its ledger rows, its index row, then its record. Returns how many objects were deleted. */
export async function purgeSystem(stores: PurgeStores, actor: Actor, systemKey: string, record: SystemRecord): Promise<{ deleted: number }> {
  const scope: SystemScope = { organizationId: record.organization_id, systemKey };
  try {
    const retired = record.deleted_at ? record : { ...record, deleted_at: rfc3339() };
    if (retired !== record) await writeSystemRecord(stores.kv, systemKey, retired);
    const deleted = await deleteEverything(stores.bucket, scope);
    await forgetSystem(stores.ledger, scope);
    await eraseSystemRecord(stores, actor, systemKey, retired, `ok: ${deleted} objects deleted`);
    return { deleted };
  } catch (err) {
    await recordAuditQuietly(stores.db, [
      { organizationId: record.organization_id, actor: actor.name, action: "system.purge", target: systemKey, outcome: "failed: storage unavailable, record kept", clientIp: actor.clientIp },
    ]);
    throw err;
  }
}

/** Deletes every object under the system's prefix and staging prefix, then checks that none is left. */
async function deleteEverything(bucket: R2Bucket, scope: SystemScope): Promise<number> {
  const prefixes = [systemPrefix(scope), systemStagingPrefix(scope)];
  let deleted = 0;
  for (const prefix of prefixes) {
    const keys = (await listObjectSizes(bucket, prefix)).map((o) => o.key);
    for (let i = 0; i < keys.length; i += 1000) await deleteObjects(bucket, keys.slice(i, i + 1000));
    deleted += keys.length;
  }
  for (const prefix of prefixes) {
    // A delete whose answer was lost, or an upload that landed meanwhile: fail closed.
    if ((await listObjectSizes(bucket, prefix)).length > 0) throw new UnavailableError("backup storage unavailable: some backups could not be deleted");
  }
  return deleted;
}
