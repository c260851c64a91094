// Erasure of a system (DELETE /api/admin/systems/{key}?purge=true), as a use case callable
// without HTTP. Holding the system (system-change.ts): retire the record and leave the retire
// tombstone, seal the system in every ledger it may upload to and wait for its uploads in
// flight, empty every prefix (its organisation's, and both that a move's journal names), forget
// it in those ledgers, and last write the index, audit and purge tombstone and turn the record
// into a tombstone record. Any failure is a 503 (audited) with the record kept; a repeat
// finishes whatever an earlier attempt left.

import { writeSystemRecord } from "../auth/credentials";
import type { SystemRecord } from "../auth/secret";
import { systemPrefix, systemStagingPrefix, type SystemScope } from "../backups/keys";
import { deleteObjects, listObjects } from "../backups/store";
import { ApiError, UnavailableError } from "../errors";
import { forgetSystem } from "../ledger/client";
import type { OrgLedger } from "../ledger/org-ledger";
import { recordAuditQuietly } from "../operator/audit";
import { d1 } from "../operator/d1";
import { finishMoveStatement, readMoveInProgress } from "../operator/move-journal";
import { tombstoneStatement } from "../operator/system-changes";
import { rfc3339 } from "../platform/time";
import { sealAndDrain } from "./seal";
import { withSystemChange, type HeldSystem } from "./system-change";
import { buryPurgedRecord, type Actor, type RecordStores } from "./system-records";

/** Everything an erasure touches. */
export interface PurgeStores extends RecordStores {
  bucket: R2Bucket;
  ledger: DurableObjectNamespace<OrgLedger>;
}

/**
 * Erases a system: every object under its prefixes, its ledger rows, its index row; its record
 * stays as a tombstone. `guard` checks the record read under the hold (the caller's scope).
 * Returns how many objects were deleted.
 */
export async function purgeSystem(stores: PurgeStores, actor: Actor, systemKey: string, guard: (record: SystemRecord) => void = () => {}): Promise<{ deleted: number }> {
  return withSystemChange(stores, systemKey, async (held) => {
    if (!held.record) throw new ApiError(404, "system not found");
    guard(held.record);
    try {
      return await purgeHeld(stores, actor, held, held.record);
    } catch (err) {
      // A refusal (409, 413) is audited as denied by the operator plane; here, what failed.
      if (err instanceof ApiError && err.status < 500) throw err;
      const reason = err instanceof ApiError ? err.publicMessage : "storage unavailable";
      await recordAuditQuietly(stores.db, [
        { organizationId: held.record.organization_id, actor: actor.name, action: "system.purge", target: systemKey, outcome: `failed: ${reason}, record kept`, clientIp: actor.clientIp },
      ]);
      if (err instanceof ApiError) err.audited = true;
      throw err;
    }
  });
}

async function purgeHeld(stores: PurgeStores, actor: Actor, held: HeldSystem, record: SystemRecord): Promise<{ deleted: number }> {
  const { systemKey } = held;
  const journal = await readMoveInProgress(stores.db, systemKey);
  const organizations = new Set([record.organization_id, journal?.from_org, journal?.to_org].filter((o): o is string => !!o));
  const scopes = [...organizations].map((organizationId) => ({ organizationId, systemKey }));
  const retired = record.deleted_at ? record : { ...record, deleted_at: rfc3339() };
  if (retired !== record) await writeSystemRecord(stores.kv, systemKey, retired);
  if (held.tombstone === null) await d1("retire before purge", () => tombstoneStatement(stores.db, systemKey, held.holder, "retired").run());
  await sealAndDrain(stores.ledger, scopes, "purge");
  await held.renew();
  const deleted = await emptySystemObjects(stores.bucket, scopes);
  for (const scope of scopes) await forgetSystem(stores.ledger, scope);
  await buryPurgedRecord(stores, actor, held, retired, `ok: ${deleted} objects deleted`, journal ? [finishMoveStatement(stores.db, systemKey)] : []);
  return { deleted };
}

/**
 * Empties a purged system's objects: everything under its prefix and staging prefix in each
 * scope, then checks that none is left (fail closed). One call, so that another way of emptying
 * (keeping the bytes recoverable for a while) replaces this step alone. Returns how many objects went.
 */
export async function emptySystemObjects(bucket: R2Bucket, scopes: SystemScope[]): Promise<number> {
  const prefixes = scopes.flatMap((scope) => [systemPrefix(scope), systemStagingPrefix(scope)]);
  let deleted = 0;
  for (const prefix of prefixes) {
    const keys = (await listObjects(bucket, prefix)).map((o) => o.key);
    for (let i = 0; i < keys.length; i += 1000) await deleteObjects(bucket, keys.slice(i, i + 1000));
    deleted += keys.length;
  }
  for (const prefix of prefixes) {
    // A delete whose answer was lost: fail closed (no upload can land: the system is sealed and drained).
    if ((await listObjects(bucket, prefix)).length > 0) throw new UnavailableError("backup storage unavailable: some backups could not be deleted");
  }
  return deleted;
}
