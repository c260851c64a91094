// GET and HEAD /api/downloads/{token}: a signed link, usable without any other credential.

import type { Context } from "hono";
import { readSystemRecord } from "../auth/credentials";
import { verifyDownloadLink } from "../auth/download-link";
import { systemStatus } from "../auth/secret";
import { serveBackup } from "../backups/download";
import { isBackupId } from "../backups/ids";
import { backupKey } from "../backups/keys";
import { downloadLinkSecret } from "../config";
import { ApiError } from "../errors";
import { systemVersion } from "../operator/system-changes";

/**
 * Serves the backup a link names, exactly as the appliance download does (Range, HEAD, 304).
 * A link that is not ours (tampered, truncated, signed with a former secret, or claiming more than
 * the longest lifetime) is 404 before any storage call; a genuine expired one is 410; a deleted
 * backup, or a system changed since (suspended, rotated, retired, purged, moved), is 404.
 */
export async function downloadByLink(c: Context<{ Bindings: Env }>): Promise<Response> {
  const secret = downloadLinkSecret(c.env);
  const verdict = await verifyDownloadLink(secret, c.req.param("token") ?? "", Math.floor(Date.now() / 1000));
  if (!verdict.ok) throw verdict.reason === "expired" ? new ApiError(410, "link expired") : new ApiError(404, "link not found");
  const { organizationId, systemKey, backupId, generation } = verdict.claims;
  if (!isBackupId(backupId)) throw new ApiError(404, "link not found");
  // A link lives only as long as the system is unchanged and active where the link says it is.
  const record = await readSystemRecord(c.env.SYSTEMS, systemKey);
  if (!record || systemStatus(record) !== "active" || record.organization_id !== organizationId) throw new ApiError(404, "link not found");
  if ((await systemVersion(c.env.OPERATOR_DB, systemKey)) !== generation) throw new ApiError(404, "link not found");
  return serveBackup(c.req.raw, c.env.BACKUPS, backupKey({ organizationId, systemKey }, backupId));
}
