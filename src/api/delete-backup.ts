// The delete use case of an appliance's own backup, whatever the protocol that asked (the
// appliance API, the older service's): one place decides what a delete means.

import type { Context } from "hono";
import type { AuthenticatedSystem } from "../auth/credentials";
import { backupNotFound } from "../backups/download";
import { backupKey } from "../backups/keys";
import { deleteBackupObject } from "../backups/store";
import { ApiError } from "../errors";
import { forgetBackup } from "../ledger/client";
import type { OrgLedger } from "../ledger/org-ledger";
import { recordAuditQuietly } from "../operator/audit";
import { log } from "../platform/log";
import type { AppEnv } from "./app-env";

/** The bindings a delete needs. */
export interface DeleteBindings {
  bucket: R2Bucket;
  ledger: DurableObjectNamespace<OrgLedger>;
  db: D1Database;
  waitUntil(promise: Promise<unknown>): void;
}

/** The delete use case's bindings for a request. */
export function deleteBindings(c: Context<AppEnv>): DeleteBindings {
  return { bucket: c.env.BACKUPS, ledger: c.env.ORG_LEDGER, db: c.env.OPERATOR_DB, waitUntil: (p) => c.executionCtx.waitUntil(p) };
}

/**
 * Deletes one backup of the system (an id already in the allowlist) and frees its quota at once;
 * audited `backup.delete`. 403 for an append-only system, 404 when there is no such backup.
 */
export async function deleteSystemBackup(bindings: DeleteBindings, system: AuthenticatedSystem, id: string, clientIp: string): Promise<void> {
  if (system.appendOnly) throw new ApiError(403, "system is append-only: backups cannot be deleted");
  if (!(await deleteBackupObject(bindings.bucket, backupKey(system, id)))) throw backupNotFound();
  await forgetBackup(bindings.ledger, system, id).catch((err) => {
    // The backup is gone; the ledger rebuilds or corrects its count (docs/limits-and-retention.md).
    log.error("ledger forget failed after delete", { system: system.systemKey, id, error: err });
  });
  const event = { organizationId: system.organizationId, actor: system.systemKey, action: "backup.delete" as const, target: `${system.systemKey}/${id}` };
  bindings.waitUntil(recordAuditQuietly(bindings.db, [{ ...event, outcome: "ok", clientIp }]));
}
