// Moving a system to another organisation (POST /api/admin/systems/{key}/move), as a use case
// callable without HTTP. Every backup is copied byte-exact with its metadata (R2 checks each
// copy against its recorded SHA-256) and recorded in the new organisation's ledger; then the
// record switches organisation; then the old copies are deleted and forgotten; last, the
// index, the audit trail and the end of the journal are written in one batch. A journal row
// in D1 makes a failed move resume from where it stopped, towards the same organisation.

import { writeSystemRecord } from "../auth/credentials";
import type { SystemRecord } from "../auth/secret";
import { systemPrefix, type SystemScope } from "../backups/keys";
import { copyBackupObject, deleteObjects, listObjects } from "../backups/store";
import type { Limits } from "../config";
import { ApiError, UnavailableError } from "../errors";
import { adoptBackups, forgetSystem, organizationUsage, systemBackupRows } from "../ledger/client";
import { auditStatement } from "../operator/audit";
import { d1 } from "../operator/d1";
import { finishMoveStatement, readMoveInProgress, startMove } from "../operator/move-journal";
import { upsertSystemStatement } from "../operator/system-index";
import type { PurgeStores } from "./purge";
import type { Actor } from "./system-records";

/** Everything a move touches. */
export interface MoveStores extends PurgeStores {
  limits: Pick<Limits, "maxSizePerOrg" | "recoveryDays">;
}

/** Moves a system's backups and record to `toOrg`; returns the new record and how many backups it holds there. */
export async function moveSystem(stores: MoveStores, actor: Actor, systemKey: string, record: SystemRecord, toOrg: string) {
  const journal = await readMoveInProgress(stores.db, systemKey);
  if (journal && journal.to_org !== toOrg) throw new ApiError(409, `a move of this system to ${journal.to_org} is in progress: repeat that move to finish it`);
  const from: SystemScope = { organizationId: journal?.from_org ?? record.organization_id, systemKey };
  const to: SystemScope = { organizationId: toOrg, systemKey };
  // Already there with nothing in progress: a repeat of a move that finished (its answer may have been lost).
  if (!journal && record.organization_id === toOrg) return { record, backups: (await systemBackupRows(stores.ledger, to)).length };
  if (!journal) {
    await checkDestinationQuota(stores, from, toOrg);
    await startMove(stores.db, systemKey, { from_org: from.organizationId, to_org: toOrg });
  }
  let current = record;
  if (record.organization_id !== toOrg) {
    await copyMissing(stores, from, to);
    current = { ...record, organization_id: toOrg };
    await writeSystemRecord(stores.kv, systemKey, current);
  }
  // Once the record names the new organisation, the old prefix only holds copies (and any
  // upload that landed before the switch reached every location: copied here too).
  const atDestination = await copyMissing(stores, from, to);
  const fromPrefix = systemPrefix(from);
  // Only sources whose exact copy is at the destination are deleted: nothing is lost to a race.
  const copied = (await listObjects(stores.bucket, fromPrefix)).filter((o) => sameBackup(o, atDestination.get(o.key.slice(fromPrefix.length))));
  for (let i = 0; i < copied.length; i += 1000) await deleteObjects(stores.bucket, copied.slice(i, i + 1000).map((o) => o.key));
  if ((await listObjects(stores.bucket, fromPrefix)).length > 0) throw new UnavailableError("backup storage unavailable: the move is not finished, repeat it");
  await forgetSystem(stores.ledger, from);
  // Each organisation's trail names the system, never the other organisation (it may be outside a reader's scope).
  const event = { actor: actor.name, action: "system.move" as const, target: systemKey, clientIp: actor.clientIp };
  await d1("finish move", () =>
    stores.db.batch([
      upsertSystemStatement(stores.db, systemKey, current),
      auditStatement(stores.db, { ...event, organizationId: from.organizationId, outcome: "ok: moved out to another organization" }),
      auditStatement(stores.db, { ...event, organizationId: toOrg, outcome: "ok: moved in from another organization" }),
      finishMoveStatement(stores.db, systemKey),
    ]),
  );
  return { record: current, backups: atDestination.size };
}

/** 413 when the destination's quota cannot take the system's bytes (checked before anything is copied). */
async function checkDestinationQuota(stores: MoveStores, from: SystemScope, toOrg: string): Promise<void> {
  if (stores.limits.maxSizePerOrg === 0) return;
  const [source, destination] = await Promise.all([
    organizationUsage(stores.ledger, from.organizationId, [from.systemKey]),
    organizationUsage(stores.ledger, toOrg, []),
  ]);
  const bytes = source.systems[from.systemKey]?.bytes ?? 0;
  if (destination.bytes + bytes > stores.limits.maxSizePerOrg) throw new ApiError(413, "organization storage quota exceeded");
}

/**
 * Copies every committed backup under `from` that `to` does not hold yet (same key, same
 * SHA-256 and size), records all of them in the destination ledger, and returns what `to` holds.
 */
async function copyMissing(stores: MoveStores, from: SystemScope, to: SystemScope): Promise<Map<string, R2Object>> {
  const fromPrefix = systemPrefix(from);
  const toPrefix = systemPrefix(to);
  const present = new Map<string, R2Object>();
  for (const o of await listObjects(stores.bucket, toPrefix)) if (o.customMetadata?.sha256) present.set(o.key.slice(toPrefix.length), o);
  for (const source of await listObjects(stores.bucket, fromPrefix)) {
    if (!source.customMetadata?.sha256) continue; // never committed: not a backup
    const id = source.key.slice(fromPrefix.length);
    if (sameBackup(source, present.get(id))) continue;
    present.set(id, await copyBackupObject(stores.bucket, source, toPrefix + id));
  }
  // Each backup keeps its age: its commit time travels in its `uploaded_at`, its digest beside it.
  await adoptBackups(stores.ledger, to, [...present].map(([id, o]) => ({ id, size: o.size, committedAt: commitTimeOf(o), sha256: o.customMetadata?.sha256 ?? null })));
  return present;
}

/** The commit time a copied object carries in its metadata (null when it has none). */
function commitTimeOf(object: R2Object): number | null {
  const at = Date.parse(object.customMetadata?.uploaded_at ?? "");
  return Number.isNaN(at) ? null : at;
}

function sameBackup(a: R2Object, b: R2Object | undefined): boolean {
  return b !== undefined && a.size === b.size && !!a.customMetadata?.sha256 && a.customMetadata.sha256 === b.customMetadata?.sha256;
}
