// The appliance endpoints, thin: each parses the request, calls the store or a use case with
// the authenticated system, and shapes the answer. Errors are thrown and answered by the one
// error path.

import type { Context, MiddlewareHandler } from "hono";
import { backupNotFound, serveBackup } from "../backups/download";
import { isBackupId } from "../backups/ids";
import { backupKey, systemPrefix } from "../backups/keys";
import { parseClientDigest, parseContentLength } from "../backups/request-headers";
import { deleteBackupObject, listSystemBackups } from "../backups/store";
import { limitsOf } from "../config";
import { ApiError } from "../errors";
import { clientAddress } from "../http/client-address";
import { envelope } from "../http/envelope";
import { requestFields } from "../http/error-response";
import { forgetBackup } from "../ledger/client";
import { noteBackup, noteRefusal, refusalReason } from "../operator/appliance-signs";
import { recordAuditQuietly } from "../operator/audit";
import { log } from "../platform/log";
import type { AppEnv } from "./app-env";
import { checkUploadSize, storeUpload } from "./upload";

type Ctx = Context<AppEnv>;

/** Rejects an id outside the allowlist with 400 before authentication or any storage call. */
export const requireBackupId: MiddlewareHandler<AppEnv> = async (c, next) => {
  const id = c.req.param("id") ?? "";
  if (!isBackupId(id)) throw new ApiError(400, "invalid backup id");
  c.set("backupId", id);
  await next();
};

/** GET /api/systems/backups: every backup of the system, newest first, in one R2 listing per page. */
export async function listBackups(c: Ctx): Promise<Response> {
  const backups = await listSystemBackups(c.env.BACKUPS, systemPrefix(c.get("system")));
  return envelope(200, "backups listed", { backups });
}

/** POST /api/systems/backups: checks the headers, then stores the body through the upload use case (201, or 200 for a repeat). */
export async function uploadBackup(c: Ctx): Promise<Response> {
  const request = c.req.raw;
  const length = parseContentLength(request.headers.get("Content-Length"));
  if (length === null || request.headers.has("Transfer-Encoding")) throw new ApiError(411, "Content-Length required");
  if (length === "invalid") throw new ApiError(400, "invalid Content-Length");
  if (length === 0 || !request.body) throw new ApiError(400, "empty body");
  const limits = limitsOf(c.env);
  const system = c.get("system");
  const db = c.env.OPERATOR_DB;
  let outcome: Awaited<ReturnType<typeof storeUpload>>;
  try {
    checkUploadSize(length, limits);
    const clientSha256 = parseClientDigest(request.headers);
    if (clientSha256 === "invalid") throw new ApiError(400, "invalid Content-Digest or X-Checksum-SHA256");
    outcome = await storeUpload(
      { bucket: c.env.BACKUPS, ledger: c.env.ORG_LEDGER, limits, waitUntil: (p) => c.executionCtx.waitUntil(p) },
      { system, body: request.body, length, filename: request.headers.get("X-Filename"), clientSha256, clientAddress: clientAddress(request) },
    );
  } catch (err) {
    // A refused upload (413, 429) is what fleet health calls `refused`: recorded in the background.
    const reason = err instanceof ApiError ? refusalReason(err.status, err.message) : null;
    if (reason) c.executionCtx.waitUntil(noteRefusal(db, system, reason));
    throw err;
  }
  const { created, backup } = outcome;
  if (created) c.executionCtx.waitUntil(noteBackup(db, system));
  // A retry of the newest backup stores nothing: 200 with that backup (CONTRACT: retries are idempotent).
  return created ? envelope(201, "backup stored", backup) : envelope(200, "backup already stored", backup);
}

/** GET and HEAD /api/systems/backups/{id}: the stored bytes, streamed, with Range and ETag support. */
export async function downloadBackup(c: Ctx): Promise<Response> {
  return serveBackup(c.req.raw, c.env.BACKUPS, backupKey(c.get("system"), c.get("backupId")));
}

/** DELETE /api/systems/backups/{id}: removes the backup and frees its quota at once. */
export async function deleteBackup(c: Ctx): Promise<Response> {
  const system = c.get("system");
  if (system.appendOnly) throw new ApiError(403, "system is append-only: backups cannot be deleted");
  const id = c.get("backupId");
  if (!(await deleteBackupObject(c.env.BACKUPS, backupKey(system, id)))) throw backupNotFound();
  await forgetBackup(c.env.ORG_LEDGER, system, id).catch((err) => {
    // The backup is gone; the ledger rebuilds or corrects its count (docs/limits-and-retention.md).
    log.error("ledger forget failed after delete", { ...requestFields(c), error: err });
  });
  const event = { organizationId: system.organizationId, actor: system.systemKey, action: "backup.delete" as const, target: `${system.systemKey}/${id}` };
  c.executionCtx.waitUntil(recordAuditQuietly(c.env.OPERATOR_DB, [{ ...event, outcome: "ok", clientIp: clientAddress(c.req.raw) }]));
  return envelope(200, "backup deleted", { id });
}

