// The appliance endpoints, thin: each parses the request, calls the store or a use case with
// the authenticated system, and shapes the answer. Errors are thrown and answered by the one
// error path.

import type { Context, MiddlewareHandler } from "hono";
import { serveBackup } from "../backups/download";
import { isBackupId } from "../backups/ids";
import { backupKey, systemPrefix } from "../backups/keys";
import { parseClientDigest, parseContentLength } from "../backups/request-headers";
import { listSystemBackups } from "../backups/store";
import { limitsOf } from "../config";
import { ApiError } from "../errors";
import { clientAddress } from "../http/client-address";
import { envelope } from "../http/envelope";
import { noteBackup, noteRefusal, refusalReason } from "../operator/appliance-signs";
import type { AppEnv } from "./app-env";
import { deleteBindings, deleteSystemBackup } from "./delete-backup";
import { checkUploadSize, storeUpload, type UploadBindings, type UploadOutcome, type UploadRequest } from "./upload";

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
  const { created, backup } = await uploadWithSigns(c, () => parseUpload(c, c.req.header("X-Filename") ?? null));
  // A retry of the newest backup stores nothing: 200 with that backup (CONTRACT: retries are idempotent).
  return created ? envelope(201, "backup stored", backup) : envelope(200, "backup already stored", backup);
}

/**
 * Runs the upload use case for a request (`parse` checks its headers first) and leaves its signs
 * for fleet health in the background: a new backup's time, or a refusal with its reason
 * (`reasonOf`: null when the failure is no refusal; by default the appliance API's 413 and 429).
 */
export async function uploadWithSigns(c: Ctx, parse: () => UploadRequest, reasonOf: (err: unknown) => string | null = applianceRefusal): Promise<UploadOutcome> {
  const db = c.env.OPERATOR_DB;
  const system = c.get("system");
  let outcome: UploadOutcome;
  try {
    outcome = await storeUpload(uploadBindings(c), parse());
  } catch (err) {
    const reason = reasonOf(err);
    if (reason) c.executionCtx.waitUntil(noteRefusal(db, system, reason));
    throw err;
  }
  if (outcome.created) c.executionCtx.waitUntil(noteBackup(db, system));
  return outcome;
}

function applianceRefusal(err: unknown): string | null {
  return err instanceof ApiError ? refusalReason(err.status, err.message) : null;
}

/** The upload use case's bindings for a request (its limits, and the invocation's waitUntil). */
export function uploadBindings(c: Context<AppEnv>): UploadBindings {
  return { bucket: c.env.BACKUPS, ledger: c.env.ORG_LEDGER, limits: limitsOf(c.env), waitUntil: (p) => c.executionCtx.waitUntil(p) };
}

/**
 * An upload request of the authenticated system, its headers checked before anything is read:
 * 411 without Content-Length, 400 for a bad length, an empty body or a bad digest, 413 over the limits.
 */
export function parseUpload(c: Context<AppEnv>, filename: string | null): UploadRequest {
  const request = c.req.raw;
  const length = parseContentLength(request.headers.get("Content-Length"));
  if (length === null || request.headers.has("Transfer-Encoding")) throw new ApiError(411, "Content-Length required");
  if (length === "invalid") throw new ApiError(400, "invalid Content-Length");
  if (length === 0 || !request.body) throw new ApiError(400, "empty body");
  checkUploadSize(length, limitsOf(c.env));
  const clientSha256 = parseClientDigest(request.headers);
  if (clientSha256 === "invalid") throw new ApiError(400, "invalid Content-Digest or X-Checksum-SHA256");
  return { system: c.get("system"), body: request.body, length, filename, clientSha256, clientAddress: clientAddress(request) };
}

/** GET and HEAD /api/systems/backups/{id}: the stored bytes, streamed, with Range and ETag support. */
export async function downloadBackup(c: Ctx): Promise<Response> {
  return serveBackup(c.req.raw, c.env.BACKUPS, backupKey(c.get("system"), c.get("backupId")));
}

/**
 * DELETE /api/systems/backups/{id}: the backup leaves the listing and the quota at once and stays
 * recoverable by an operator for RECOVERY_DAYS (docs/recovery.md).
 */
export async function deleteBackup(c: Ctx): Promise<Response> {
  const id = c.get("backupId");
  await deleteSystemBackup(deleteBindings(c), c.get("system"), id, clientAddress(c.req.raw));
  return envelope(200, "backup deleted", { id });
}
