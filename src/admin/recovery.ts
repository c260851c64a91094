// Operator endpoints of the recovery window (docs/recovery.md): list a system's recoverable
// backups, restore one, undo a purge. Thin: scope (404) before role (403), then a use case.

import type { Context } from "hono";
import { inScope } from "../auth/operator-token";
import { readSystemRecord } from "../auth/credentials";
import { SYSTEM_KEY_PATTERN, type SystemRecord } from "../auth/secret";
import { readBackupMetadata } from "../backups/store";
import { limitsOf } from "../config";
import { ApiError } from "../errors";
import { envelope } from "../http/envelope";
import { recoverableBackups, restoreBackups } from "../ledger/recovery-client";
import { recordAuditQuietly } from "../operator/audit";
import { actor, backupIdParam, requireRole, stores } from "./access";
import type { AdminEnv } from "./app-env";
import { readPurgedSystem, undoPurge, type PurgedSystem } from "./purge-recovery";

type Ctx = Context<AdminEnv>;

/**
 * The system in the path: its KV record (null once purged), or what its purge kept while the
 * window runs, when its organisation is in scope; else 404, exactly as for a system that never
 * existed (after `system.erase` too).
 */
async function scopedSystemOrPurged(c: Ctx): Promise<{ systemKey: string; organizationId: string; record: SystemRecord | null; purged: PurgedSystem | null }> {
  const systemKey = c.req.param("key") ?? "";
  if (!SYSTEM_KEY_PATTERN.test(systemKey)) throw new ApiError(400, "invalid system key");
  const stored = await readSystemRecord(c.env.SYSTEMS, systemKey);
  // A purge leaves a tombstone record (`purged_at`, a secret nobody knows): that is no system.
  // Only the purge's kept copy answers for it, until the cron erases it at the window's end.
  const record = stored && !stored.purged_at ? stored : null;
  const purged = record && !record.deleted_at ? null : await readPurgedSystem(c.env.BACKUPS, systemKey);
  const organizationId = record?.organization_id ?? purged?.record.organization_id;
  if (!organizationId || !inScope(c.get("operator"), organizationId)) throw new ApiError(404, "system not found");
  return { systemKey, organizationId, record, purged };
}

/** GET /api/admin/systems/{key}/recoverable (reader): what was deleted, pruned or purged, and when each is erased. */
export async function listRecoverableAdmin(c: Ctx): Promise<Response> {
  const { systemKey, organizationId } = await scopedSystemOrPurged(c);
  const backups = await recoverableBackups(c.env.ORG_LEDGER, { organizationId, systemKey });
  return envelope(200, "recoverable backups listed", { backups, recoverable_bytes: backups.reduce((sum, b) => sum + b.size, 0) });
}

/** POST /api/admin/systems/{key}/recoverable/{id}/restore (manager): the backup back, byte-exact, same id and digest; 413 when the quota no longer allows it. */
export async function restoreBackupAdmin(c: Ctx): Promise<Response> {
  const { systemKey, organizationId, record } = await scopedSystemOrPurged(c);
  const id = backupIdParam(c);
  requireRole(c, "manager");
  if (!record) throw new ApiError(409, "the system is purged: restore the system first");
  const scope = { organizationId, systemKey };
  const who = actor(c);
  const event = { organizationId, actor: who.name, action: "backup.restore" as const, target: `${systemKey}/${id}`, clientIp: who.clientIp };
  try {
    await restoreBackups(c.env.ORG_LEDGER, scope, [id], limitsOf(c.env));
  } catch (err) {
    if (err instanceof ApiError && err.status === 413) await recordAuditQuietly(c.env.OPERATOR_DB, [{ ...event, outcome: "failed: organization storage quota exceeded" }]);
    throw err;
  }
  await recordAuditQuietly(c.env.OPERATOR_DB, [{ ...event, outcome: "ok" }]);
  const backup = await readBackupMetadata(c.env.BACKUPS, scope, id);
  if (!backup) throw new ApiError(404, "recoverable backup not found");
  return envelope(200, "backup restored", backup);
}

/** POST /api/admin/systems/{key}/restore (admin): undoes a purge within its window; the new secret is shown only in this answer. */
export async function restoreSystemAdmin(c: Ctx): Promise<Response> {
  const { systemKey, record, purged } = await scopedSystemOrPurged(c);
  requireRole(c, "admin");
  if (!purged || (record && !record.deleted_at)) throw new ApiError(409, "the system is not purged");
  const { systemSecret, record: restored, restored: count } = await undoPurge(stores(c), actor(c), systemKey, purged);
  return envelope(200, "system restored", {
    system_key: systemKey,
    system_secret: systemSecret,
    system_id: restored.system_id,
    organization_id: restored.organization_id,
    backups_restored: count,
  });
}
