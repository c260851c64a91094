// Purge of a system (DELETE /api/admin/systems/{key}?purge=true), as a use case callable
// without HTTP. Holding the system (system-change.ts): retire the record and leave the retire
// tombstone, seal the system in every ledger it may upload to and wait for its uploads in
// flight, empty every prefix (its organisation's, and both that a move's journal names) into
// the recovery window (purge-recovery.ts: the bytes stay recoverable for RECOVERY_DAYS,
// docs/recovery.md), forget it in those ledgers, and last write the index, audit and purge
// tombstone and turn the record into a tombstone record. Any failure is a 503 (audited) with
// the record kept; a repeat finishes whatever an earlier attempt left.

import { writeSystemRecord } from "../auth/credentials";
import type { SystemRecord } from "../auth/secret";
import type { SystemScope } from "../backups/keys";
import { ApiError } from "../errors";
import { forgetSystem } from "../ledger/client";
import type { OrgLedger } from "../ledger/org-ledger";
import { recordAuditQuietly } from "../operator/audit";
import { d1 } from "../operator/d1";
import { finishMoveStatement, readMoveInProgress } from "../operator/move-journal";
import { tombstoneStatement } from "../operator/system-changes";
import { rfc3339 } from "../platform/time";
import { moveSystemToRecovery, type PurgeRecoveryStores } from "./purge-recovery";
import { sealAndDrain } from "./seal";
import { withSystemChange, type HeldSystem } from "./system-change";
import { buryPurgedRecord, type Actor } from "./system-records";

/** Everything a purge touches. */
export interface PurgeStores extends PurgeRecoveryStores {
  ledger: DurableObjectNamespace<OrgLedger>;
}

/**
 * Purges a system: every object under its prefixes into the recovery window, its ledger rows,
 * its index row; its record stays as a tombstone. `guard` checks the record read under the hold
 * (the caller's scope). Returns how many objects left the system and when the window ends.
 */
export async function purgeSystem(stores: PurgeStores, actor: Actor, systemKey: string, guard: (record: SystemRecord) => void = () => {}): Promise<{ deleted: number; eraseAfter: string }> {
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

async function purgeHeld(stores: PurgeStores, actor: Actor, held: HeldSystem, record: SystemRecord): Promise<{ deleted: number; eraseAfter: string }> {
  const { systemKey } = held;
  const journal = await readMoveInProgress(stores.db, systemKey);
  const organizations = new Set([record.organization_id, journal?.from_org, journal?.to_org].filter((o): o is string => !!o));
  const scopes = [...organizations].map((organizationId) => ({ organizationId, systemKey }));
  const retired = record.deleted_at ? record : { ...record, deleted_at: rfc3339() };
  if (retired !== record) await writeSystemRecord(stores.kv, systemKey, retired);
  if (held.tombstone === null) await d1("retire before purge", () => tombstoneStatement(stores.db, systemKey, held.holder, "retired").run());
  await sealAndDrain(stores.ledger, scopes, "purge");
  await held.renew();
  const { deleted, eraseAfter } = await emptySystemObjects(stores, actor, scopes, retired);
  for (const scope of scopes) await forgetSystem(stores.ledger, scope);
  await buryPurgedRecord(stores, actor, held, retired, `ok: ${deleted} objects moved, recoverable until ${eraseAfter}`, journal ? [finishMoveStatement(stores.db, systemKey)] : []);
  return { deleted, eraseAfter };
}

/**
 * Empties a purged system's objects in each scope into the recovery window (purge-recovery.ts:
 * backups moved, failed uploads' blobs deleted, nothing left or 503). Returns how many objects went and
 * when the window of the system's own organisation ends.
 */
async function emptySystemObjects(stores: PurgeStores, actor: Actor, scopes: SystemScope[], record: SystemRecord): Promise<{ deleted: number; eraseAfter: string }> {
  let deleted = 0;
  let eraseAfter = "";
  for (const scope of scopes) {
    const home = scope.organizationId === record.organization_id;
    const moved = await moveSystemToRecovery(stores, actor, scope, record, home);
    deleted += moved.moved;
    if (home) eraseAfter = moved.eraseAfter;
  }
  return { deleted, eraseAfter };
}
