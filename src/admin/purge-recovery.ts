// A purge inside the recovery window (docs/recovery.md), as use cases callable without HTTP:
// moving a purged system's backups into the window instead of deleting them, and undoing the
// purge while the window runs (the backups back, byte-exact, and a new secret).

import { writeSystemRecord } from "../auth/credentials";
import { generateSecret, type SystemRecord } from "../auth/secret";
import { purgedSystemKey, systemBlobPrefix, systemPrefix, type SystemScope } from "../backups/keys";
import { clearPrefix, eraseObjects, listObjects, putDocument, readDocument } from "../backups/store";
import type { Limits } from "../config";
import { ApiError, UnavailableError } from "../errors";
import { liftPurge, recordPurge, removePurgedBackups, restoreBackups } from "../ledger/recovery-client";
import type { OrgLedger } from "../ledger/org-ledger";
import { auditStatement } from "../operator/audit";
import { d1 } from "../operator/d1";
import { liftPurgeTombstoneStatement } from "../operator/system-changes";
import { upsertSystemStatement } from "../operator/system-index";
import { withSystemChange } from "./system-change";
import type { Actor, RecordStores } from "./system-records";

/** Everything a purge inside the window touches. */
export interface PurgeRecoveryStores extends RecordStores {
  bucket: R2Bucket;
  ledger: DurableObjectNamespace<OrgLedger>;
  limits: Pick<Limits, "maxSizePerOrg" | "recoveryDays">;
}

/** A purged system's record as kept for an undo: never its secret (an undo issues a new one). */
export type PurgedRecord = Omit<SystemRecord, "secret_public" | "secret_sha256">;

/** What is kept of a purged system while its window runs. */
export interface PurgedSystem {
  record: PurgedRecord;
  removed_at: string;
  removed_by: string;
  erase_after: string;
}

/**
 * Moves every backup of the system into the recovery window (reason `purged`), after keeping its
 * record (no secret) for an undo, then deletes the blobs failed uploads left (no backup's bytes).
 * Checks that no backup is left under the system's prefix (else 503; every step is safe to repeat). Returns
 * how many objects left the system and when the window ends.
 */
export async function moveSystemToRecovery(stores: PurgeRecoveryStores, actor: Actor, scope: SystemScope, record: SystemRecord, home = true): Promise<{ moved: number; eraseAfter: string }> {
  const limits = stores.limits as Limits;
  const purge = await recordPurge(stores.ledger, scope, actor.name, limits);
  const { secret_public: _p, secret_sha256: _s, ...kept } = record;
  const marker: PurgedSystem = { record: kept, removed_at: purge.removed_at, removed_by: actor.name, erase_after: purge.erase_after };
  // The record is kept once, for its own organisation (a move in progress may name another).
  if (home) await putDocument(stores.bucket, purgedSystemKey(scope.systemKey), marker, { organization_id: scope.organizationId, erase_after: purge.erase_after });
  const prefix = systemPrefix(scope);
  const ids = (await listObjects(stores.bucket, prefix)).map((o) => o.key.slice(prefix.length));
  if (ids.length > 0) await removePurgedBackups(stores.ledger, scope, ids, actor.name, Date.parse(purge.erase_after), limits);
  // A move or delete whose answer was lost, or an upload that landed meanwhile: fail closed.
  if ((await listObjects(stores.bucket, prefix)).length > 0) throw new UnavailableError("backup storage unavailable: some backups could not be moved");
  // With every backup in the window, a blob left is no backup's (a failed upload's): it goes now.
  const leftovers = await clearPrefix(stores.bucket, systemBlobPrefix(scope));
  return { moved: ids.length + leftovers, eraseAfter: purge.erase_after };
}

/** The purged system kept under this key while its window runs, or null. */
export async function readPurgedSystem(bucket: R2Bucket, systemKey: string): Promise<PurgedSystem | null> {
  return (await readDocument<PurgedSystem>(bucket, purgedSystemKey(systemKey)))?.document ?? null;
}

/**
 * Undoes a purge within its window, holding the system (system-change.ts): every backup the purge
 * removed goes back (413 when the quota no longer allows them, nothing restored then), then the
 * system's index row, audit event and the lifted purge tombstone in one D1 batch, then its record
 * with a new secret (returned, to be shown once). Each step is safe to repeat: until the record
 * is written, a retry runs them again. 409 when the system is not purged.
 */
export async function undoPurge(stores: PurgeRecoveryStores, actor: Actor, systemKey: string, purged: PurgedSystem) {
  return withSystemChange(stores, systemKey, async (held) => {
    if (held.record && !held.record.deleted_at && held.tombstone !== "purged") throw new ApiError(409, "the system is not purged");
    const scope = { organizationId: purged.record.organization_id, systemKey };
    const restored = await restoreBackups(stores.ledger, scope, "purged", stores.limits as Limits);
    await liftPurge(stores.ledger, scope);
    await held.renew();
    const { systemSecret, secretPublic, secretSha256 } = await generateSecret();
    const { purged_at: _purged, ...base } = purged.record as SystemRecord;
    const record: SystemRecord = { ...base, secret_public: secretPublic, secret_sha256: secretSha256, deleted_at: null };
    const outcome = `ok: ${restored.length} backups restored, new secret issued`;
    await d1("restore system", () =>
      stores.db.batch([
        upsertSystemStatement(stores.db, systemKey, record),
        auditStatement(stores.db, { organizationId: scope.organizationId, actor: actor.name, action: "system.restore", target: systemKey, outcome, clientIp: actor.clientIp }),
        liftPurgeTombstoneStatement(stores.db, systemKey, held.holder),
      ]),
    );
    await writeSystemRecord(stores.kv, systemKey, record);
    // Under a bucket lock the record's copy stays until its window ends; the cron erases it then.
    await eraseObjects(stores.bucket, [purgedSystemKey(systemKey)]).catch(() => undefined);
    return { systemSecret, record, restored: restored.length };
  });
}
