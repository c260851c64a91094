// Changing systems' credential records for the operator plane: KV (the truth for credentials),
// the operator index row and the audit event, in an order that leaves nothing half-done.

import { writeSystemRecord } from "../auth/credentials";
import { generateSecret, generateSystemCredentials, type SystemRecord } from "../auth/secret";
import { auditStatement, recordAuditQuietly, type AuditAction } from "../operator/audit";
import { d1 } from "../operator/d1";
import { removeSystemStatement, upsertSystemStatement } from "../operator/system-index";
import { tombstoneStatement, type Tombstone } from "../operator/system-changes";
import { forgetProfileStatements } from "../operator/system-profile";
import { log } from "../platform/log";
import { rfc3339 } from "../platform/time";
import type { HeldSystem } from "./system-change";

/** The stores a record change touches. */
export interface RecordStores {
  kv: KVNamespace;
  db: D1Database;
}

/** Who asked, for the audit trail. */
export interface Actor {
  name: string;
  clientIp: string | null;
}

/**
 * Applies `change` (null: nothing to change) to the record of a system the caller holds
 * (system-change.ts): KV first, then the index row, the audit event and any tombstone in one
 * atomic D1 batch. A D1 failure answers 503; a retry is harmless (the change is already in KV,
 * the batch is written again).
 */
export async function changeSystemRecord(
  stores: RecordStores,
  actor: Actor,
  action: AuditAction,
  held: Pick<HeldSystem, "systemKey" | "holder"> & { record: SystemRecord },
  change: (record: SystemRecord) => SystemRecord | null,
  tombstone?: Tombstone,
): Promise<SystemRecord> {
  const { systemKey, record } = held;
  const changed = change(record);
  if (changed) await writeSystemRecord(stores.kv, systemKey, changed);
  const next = changed ?? record;
  await d1("record change", () =>
    stores.db.batch([
      upsertSystemStatement(stores.db, systemKey, next),
      auditStatement(stores.db, { organizationId: next.organization_id, actor: actor.name, action, target: systemKey, outcome: "ok", clientIp: actor.clientIp }),
      ...(tombstone ? [tombstoneStatement(stores.db, systemKey, held.holder, tombstone)] : []),
    ]),
  );
  return next;
}

/** What a new system may carry beyond its organisation: a legacy identity, and the audit action that records it. */
export interface NewSystemOptions {
  /** The legacy `system_id` (else a fresh UUID). */
  systemId?: string;
  /** The imported legacy secret's salted hash. */
  legacySecretSha256?: string;
  /** `system.enrol` for a system enrolled on first contact through the older protocol. */
  action?: "system.create" | "system.enrol";
}

/**
 * Creates a system: its index row and audit event first, then its KV record, so that a system
 * whose secret was never shown cannot exist; if KV fails, the row is taken back (503).
 */
export async function createSystemRecord(stores: RecordStores, actor: Actor, organizationId: string, appendOnly: boolean, options: NewSystemOptions = {}) {
  const { systemKey, systemSecret, record } = await generateSystemCredentials(organizationId);
  record.append_only = appendOnly;
  if (options.systemId !== undefined) record.system_id = options.systemId;
  if (options.legacySecretSha256 !== undefined) record.legacy_secret_sha256 = options.legacySecretSha256;
  const event = { organizationId, actor: actor.name, action: options.action ?? ("system.create" as const), target: systemKey, clientIp: actor.clientIp };
  await d1("create system", () => stores.db.batch([upsertSystemStatement(stores.db, systemKey, record), auditStatement(stores.db, { ...event, outcome: "ok" })]));
  try {
    await writeSystemRecord(stores.kv, systemKey, record);
  } catch (err) {
    await stores.db.batch([removeSystemStatement(stores.db, systemKey)]).catch((e) => log.error("index rollback failed", { system: systemKey, error: e }));
    await recordAuditQuietly(stores.db, [{ ...event, outcome: "failed: credential storage unavailable" }]);
    throw err;
  }
  return { systemKey, systemSecret, record };
}

/**
 * Replaces the secret of a system the caller holds. The new secret is returned even when the
 * audit write fails afterwards (logged): once KV holds its hash, withholding it would lock the system out.
 */
export async function rotateSystemSecret(stores: RecordStores, actor: Actor, systemKey: string, record: SystemRecord) {
  const { systemSecret, secretPublic, secretSha256 } = await generateSecret();
  const rotated: SystemRecord = { ...record, secret_public: secretPublic, secret_sha256: secretSha256 };
  await writeSystemRecord(stores.kv, systemKey, rotated);
  await recordAuditQuietly(stores.db, [
    { organizationId: record.organization_id, actor: actor.name, action: "system.rotate", target: systemKey, outcome: "ok", clientIp: actor.clientIp },
  ]);
  return { systemSecret, record: rotated };
}

/**
 * A purge's last step, once nothing of the system is left: the index row goes, the audit event
 * and the purge tombstone are written (and the journal of a move it finished ends) in one D1
 * batch; then the KV record becomes a tombstone record: retired, `purged_at` set, its secret hash
 * replaced by one of a secret nobody knows. The key is never reused and the old secret never
 * verifies again; the record survives for the undo of a purge, which issues a new secret.
 */
export async function buryPurgedRecord(stores: RecordStores, actor: Actor, held: Pick<HeldSystem, "systemKey" | "holder">, record: SystemRecord, outcome: string, extra: D1PreparedStatement[]): Promise<void> {
  const { systemKey } = held;
  await d1("erase system", () =>
    stores.db.batch([
      removeSystemStatement(stores.db, systemKey),
      ...forgetProfileStatements(stores.db, systemKey),
      auditStatement(stores.db, { organizationId: record.organization_id, actor: actor.name, action: "system.purge", target: systemKey, outcome, clientIp: actor.clientIp }),
      tombstoneStatement(stores.db, systemKey, held.holder, "purged"),
      ...extra,
    ]),
  );
  if (record.purged_at) return;
  const { secretPublic, secretSha256 } = await generateSecret(); // the clear secret is dropped at once
  const now = rfc3339();
  await writeSystemRecord(stores.kv, systemKey, { ...record, deleted_at: record.deleted_at ?? now, purged_at: now, secret_public: secretPublic, secret_sha256: secretSha256 });
}
