// The delete use case of an appliance's own backup, whatever the protocol that asked (the
// appliance API, the older service's): one place decides what a delete means. No API call
// destroys a backup at once: it leaves the listing and the quota and stays recoverable for
// RECOVERY_DAYS (docs/recovery.md).

import type { Context } from "hono";
import type { AuthenticatedSystem } from "../auth/credentials";
import { limitsOf, type Limits } from "../config";
import { ApiError } from "../errors";
import type { OrgLedger } from "../ledger/org-ledger";
import { removeBackup } from "../ledger/recovery-client";
import { recordAuditQuietly } from "../operator/audit";
import type { AppEnv } from "./app-env";

/** The bindings a delete needs. */
export interface DeleteBindings {
  ledger: DurableObjectNamespace<OrgLedger>;
  db: D1Database;
  limits: Limits;
  waitUntil(promise: Promise<unknown>): void;
}

/** The delete use case's bindings for a request. */
export function deleteBindings(c: Context<AppEnv>): DeleteBindings {
  return { ledger: c.env.ORG_LEDGER, db: c.env.OPERATOR_DB, limits: limitsOf(c.env), waitUntil: (p) => c.executionCtx.waitUntil(p) };
}

/**
 * Deletes one backup of the system (an id already in the allowlist) into the recovery window;
 * audited `backup.delete` with the window's end. 403 for an append-only system, 404 when there is
 * no such backup. Returns when the window ends (RFC 3339).
 */
export async function deleteSystemBackup(bindings: DeleteBindings, system: AuthenticatedSystem, id: string, clientIp: string): Promise<string> {
  if (system.appendOnly) throw new ApiError(403, "system is append-only: backups cannot be deleted");
  const until = await removeBackup(bindings.ledger, system, id, system.systemKey, bindings.limits);
  const event = { organizationId: system.organizationId, actor: system.systemKey, action: "backup.delete" as const, target: `${system.systemKey}/${id}` };
  bindings.waitUntil(recordAuditQuietly(bindings.db, [{ ...event, outcome: `ok: recoverable until ${until}`, clientIp }]));
  return until;
}
