// Moving a system to another organisation (POST /api/admin/systems/{key}/move), as a use case
// callable without HTTP. Holding the system (system-change.ts): seal it in its source ledger and
// wait for its uploads in flight; reserve its bytes in the destination in the step that checks
// the quota; copy every backup byte-exact with its metadata (R2 checks each copy against its
// recorded SHA-256) and record them in the destination ledger; switch the record; delete the old
// copies and forget them; last, the index, the audit trail and the end of the journal in one
// batch. A journal row in D1 makes a failed move resume, towards the same organisation; a
// failed attempt is audited.

import { writeSystemRecord } from "../auth/credentials";
import type { SystemRecord } from "../auth/secret";
import { BLOB_PREFIX, blobKeyOf, systemBlobPrefix, systemPrefix, type SystemScope } from "../backups/keys";
import { backupSize } from "../backups/backup-object";
import { copyBackupObject } from "../backups/copies";
import { deleteKeys, listObjects } from "../backups/store";
import type { Limits } from "../config";
import { ApiError, UnavailableError } from "../errors";
import { adoptBackups, forgetSystem, reserveMoveIn, sealSystem, systemBackupRows } from "../ledger/client";
import { auditStatement, recordAuditQuietly } from "../operator/audit";
import { d1 } from "../operator/d1";
import { finishMoveStatement, readMoveInProgress, startMove } from "../operator/move-journal";
import { upsertSystemStatement } from "../operator/system-index";
import type { PurgeStores } from "./purge";
import { sealAndDrain } from "./seal";
import { withSystemChange, type HeldSystem } from "./system-change";
import type { Actor } from "./system-records";

/** Copies between two renewals of the hold on the system. */
const RENEW_EVERY = 50;

/** Everything a move touches. */
export interface MoveStores extends PurgeStores {
  limits: Pick<Limits, "maxSizePerOrg" | "recoveryDays">;
}

/** What the caller may see: `guard` checks the record read under the hold, `mayName` whether an organisation may be named to it. */
export interface MoveCaller {
  guard?(record: SystemRecord): void;
  mayName?(organizationId: string): boolean;
}

/** Moves a system's backups and record to `toOrg`; returns the new record and how many backups it holds there. */
export async function moveSystem(stores: MoveStores, actor: Actor, systemKey: string, toOrg: string, caller: MoveCaller = {}) {
  return withSystemChange(stores, systemKey, async (held) => {
    const record = held.record;
    if (!record || record.purged_at) throw new ApiError(404, "system not found");
    caller.guard?.(record);
    if (record.deleted_at) throw new ApiError(409, "the system is retired: it can only be purged");
    const journal = await readMoveInProgress(stores.db, systemKey);
    if (journal && journal.to_org !== toOrg) {
      const where = caller.mayName?.(journal.to_org) === false ? "another organization" : journal.to_org;
      throw new ApiError(409, `a move of this system to ${where} is in progress: repeat that move to finish it`);
    }
    // Already there with nothing in progress: a repeat of a move that finished (its answer may have been lost).
    if (!journal && record.organization_id === toOrg) {
      await recordAuditQuietly(stores.db, [{ organizationId: toOrg, actor: actor.name, action: "system.move", target: systemKey, outcome: "ok: already in this organization", clientIp: actor.clientIp }]);
      return { record, backups: (await systemBackupRows(stores.ledger, { organizationId: toOrg, systemKey })).length };
    }
    const from: SystemScope = { organizationId: journal?.from_org ?? record.organization_id, systemKey };
    try {
      return await moveHeld(stores, actor, held, record, from, toOrg, journal === null);
    } catch (err) {
      // A refusal (409, 413) is audited as denied by the operator plane; here, what failed.
      if (err instanceof ApiError && err.status < 500) throw err;
      const reason = err instanceof ApiError ? err.publicMessage : "storage unavailable";
      await recordAuditQuietly(stores.db, [
        { organizationId: from.organizationId, actor: actor.name, action: "system.move", target: systemKey, outcome: `failed: ${reason}`, clientIp: actor.clientIp },
      ]);
      if (err instanceof ApiError) err.audited = true;
      throw err;
    }
  });
}

async function moveHeld(stores: MoveStores, actor: Actor, held: HeldSystem, record: SystemRecord, from: SystemScope, toOrg: string, starting: boolean) {
  const { systemKey } = held;
  const to: SystemScope = { organizationId: toOrg, systemKey };
  const fromPrefix = systemPrefix(from);
  let sources: R2Object[];
  try {
    await sealAndDrain(stores.ledger, [from], "move");
    sources = (await listObjects(stores.bucket, fromPrefix)).filter((o) => o.customMetadata?.sha256); // uncommitted: not a backup
    if (record.organization_id !== toOrg) {
      await reserveMoveIn(stores.ledger, to, sources.reduce((sum, o) => sum + backupSize(o), 0), stores.limits.maxSizePerOrg);
      if (starting) await startMove(stores.db, systemKey, { from_org: from.organizationId, to_org: toOrg });
    }
  } catch (err) {
    // Refused before it began (uploads still open, 413, no journal): the system goes on uploading where it is.
    if (starting) await sealSystem(stores.ledger, from, null).catch(() => {});
    throw err;
  }
  const atDestination = await copyMissing(stores, sources, from, to, held.renew);
  await held.renew();
  const moved = { ...record, organization_id: toOrg };
  if (record.organization_id !== toOrg) await writeSystemRecord(stores.kv, systemKey, moved);
  // Only sources whose exact copy is at the destination are deleted: nothing is lost to a race.
  const copied = sources.filter((o) => sameBackup(o, atDestination.get(o.key.slice(fromPrefix.length))));
  // A blob whose entry is not among the sources is no backup's (a failed upload's; the system is drained): it goes too.
  const sourceKeys = new Set(sources.map((o) => o.key));
  const orphans = (await listObjects(stores.bucket, systemBlobPrefix(from))).map((o) => o.key).filter((k) => !sourceKeys.has(k.slice(BLOB_PREFIX.length)));
  const doomed = [...copied.flatMap((o) => [o.key, blobKeyOf(o.key)]), ...orphans];
  await deleteKeys(stores.bucket, doomed);
  if ((await listObjects(stores.bucket, fromPrefix)).length > 0) throw new UnavailableError("backup storage unavailable: the move is not finished, repeat it");
  await forgetSystem(stores.ledger, from);
  await sealSystem(stores.ledger, from, "moved"); // a stale credential cache cannot upload into the old prefix
  // Each organisation's trail names the system, never the other organisation (it may be outside a reader's scope).
  const event = { actor: actor.name, action: "system.move" as const, target: systemKey, clientIp: actor.clientIp };
  await d1("finish move", () =>
    stores.db.batch([
      upsertSystemStatement(stores.db, systemKey, moved),
      auditStatement(stores.db, { ...event, organizationId: from.organizationId, outcome: "ok: moved out to another organization" }),
      auditStatement(stores.db, { ...event, organizationId: toOrg, outcome: "ok: moved in from another organization" }),
      finishMoveStatement(stores.db, systemKey),
    ]),
  );
  return { record: moved, backups: atDestination.size };
}

/**
 * Copies every committed backup of `sources` that `to` does not hold yet (same key, same
 * SHA-256 and size), records all of them in the destination ledger (which ends the move's
 * reservation there in the same step), and returns what `to` holds.
 */
async function copyMissing(stores: MoveStores, sources: R2Object[], from: SystemScope, to: SystemScope, renew: () => Promise<void>): Promise<Map<string, R2Object>> {
  const fromPrefix = systemPrefix(from);
  const toPrefix = systemPrefix(to);
  const present = new Map<string, R2Object>();
  for (const o of await listObjects(stores.bucket, toPrefix)) if (o.customMetadata?.sha256) present.set(o.key.slice(toPrefix.length), o);
  let copies = 0;
  for (const source of sources) {
    const id = source.key.slice(fromPrefix.length);
    if (sameBackup(source, present.get(id))) continue;
    present.set(id, await copyBackupObject(stores.bucket, source, toPrefix + id));
    if (++copies % RENEW_EVERY === 0) await renew();
  }
  // Each backup keeps its age: its commit time travels in its `uploaded_at`, its digest beside it.
  await adoptBackups(stores.ledger, to, [...present].map(([id, o]) => ({ id, size: backupSize(o), committedAt: commitTimeOf(o), sha256: o.customMetadata?.sha256 ?? null })));
  return present;
}

/** The commit time a copied object carries in its metadata (null when it has none). */
function commitTimeOf(object: R2Object): number | null {
  const at = Date.parse(object.customMetadata?.uploaded_at ?? "");
  return Number.isNaN(at) ? null : at;
}

function sameBackup(a: R2Object, b: R2Object | undefined): boolean {
  return b !== undefined && backupSize(a) === backupSize(b) && !!a.customMetadata?.sha256 && a.customMetadata.sha256 === b.customMetadata?.sha256;
}
