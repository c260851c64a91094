// Operator endpoints on a system's backups: list (the published shape plus usage), delete,
// and a signed download link. The key is always built from the system's KV record.

import type { Context } from "hono";
import { LINK_TTL_DEFAULT_SECONDS, parseLinkTtl, signDownloadLink } from "../auth/download-link";
import { backupNotFound } from "../backups/download";
import { backupKey, systemPrefix } from "../backups/keys";
import { headObject, listSystemBackups } from "../backups/store";
import { downloadLinkSecret, limitsOf } from "../config";
import { ApiError } from "../errors";
import { envelope } from "../http/envelope";
import { removeBackup } from "../ledger/recovery-client";
import { recordAudit, recordAuditQuietly } from "../operator/audit";
import { systemVersion } from "../operator/system-changes";
import { rfc3339 } from "../platform/time";
import { actor, backupIdParam, requireRole, scopedSystem } from "./access";
import type { AdminEnv } from "./app-env";

type Ctx = Context<AdminEnv>;

/** GET /api/admin/systems/{key}/backups: every backup, newest first, with bytes and slots used (of the rotating tier's limit). */
export async function listBackupsAdmin(c: Ctx): Promise<Response> {
  const { systemKey, record } = await scopedSystem(c);
  const backups = await listSystemBackups(c.env.BACKUPS, systemPrefix({ organizationId: record.organization_id, systemKey }));
  const bytesUsed = backups.reduce((sum, b) => sum + b.size, 0);
  return envelope(200, "backups listed", { backups, bytes_used: bytesUsed, slots_used: backups.length, slots_limit: limitsOf(c.env).maxPerSystem });
}

/** DELETE /api/admin/systems/{key}/backups/{id}: also for append-only systems (that guards the appliance's credential); recoverable for RECOVERY_DAYS. */
export async function deleteBackupAdmin(c: Ctx): Promise<Response> {
  const { systemKey, record } = await scopedSystem(c);
  const id = backupIdParam(c);
  requireRole(c, "manager");
  const scope = { organizationId: record.organization_id, systemKey };
  const who = actor(c);
  const until = await removeBackup(c.env.ORG_LEDGER, scope, id, who.name, limitsOf(c.env));
  await recordAuditQuietly(c.env.OPERATOR_DB, [
    { organizationId: scope.organizationId, actor: who.name, action: "backup.delete", target: `${systemKey}/${id}`, outcome: `ok: recoverable until ${until}`, clientIp: who.clientIp },
  ]);
  return envelope(200, "backup deleted", { id });
}

/**
 * POST /api/admin/systems/{key}/backups/{id}/link: a signed link to the backup, valid `?ttl=`
 * seconds (default 300, at most 900). It is recorded in the audit trail before it is given out.
 */
export async function createDownloadLink(c: Ctx): Promise<Response> {
  const { systemKey, record } = await scopedSystem(c);
  const id = backupIdParam(c);
  const ttl = parseLinkTtl(c.req.query("ttl"));
  if (ttl === null) throw new ApiError(400, `ttl must be an integer from 1 to 900 (default ${LINK_TTL_DEFAULT_SECONDS})`);
  const secret = downloadLinkSecret(c.env);
  const scope = { organizationId: record.organization_id, systemKey };
  if (!(await headObject(c.env.BACKUPS, backupKey(scope, id)))) throw backupNotFound();
  const expiresAt = Math.floor(Date.now() / 1000) + ttl;
  // Bound to the system's change count: a suspend, rotate, retire, purge or move ends the link.
  const token = await signDownloadLink(secret, { ...scope, backupId: id, expiresAt, generation: await systemVersion(c.env.OPERATOR_DB, systemKey) });
  const who = actor(c);
  await recordAudit(c.env.OPERATOR_DB, [
    { organizationId: scope.organizationId, actor: who.name, action: "backup.link", target: `${systemKey}/${id}`, outcome: `ok: expires ${rfc3339(expiresAt * 1000)}`, clientIp: who.clientIp },
  ]);
  const origin = new URL(c.req.url).origin;
  return envelope(200, "download link created", { download_url: `${origin}/api/downloads/${token}`, expires_at: rfc3339(expiresAt * 1000), expires_in_seconds: ttl });
}
