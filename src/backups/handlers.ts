// The backup endpoints. Each handler reads the authenticated system from the context, builds
// keys only through ./keys, and throws typed errors that the one error path turns into envelopes.

import type { Context, MiddlewareHandler } from "hono";
import { clientAddress } from "../auth/throttle";
import { limitsOf } from "../config";
import { withDeadline } from "../deadline";
import { commitUpload, forgetBackup, releaseUpload, reserveUpload } from "../coordination/ledger";
import type { AppEnv } from "../http/app-env";
import { envelope } from "../http/envelope";
import { ApiError, logError } from "../http/errors";
import { isBackupId, mimeTypeFor, newBackupId, sanitiseFilename } from "./ids";
import { ingestBackup } from "./ingest";
import { backupKey, stagingKey, systemPrefix } from "./keys";
import { etagMatches, parseClientDigest, parseContentLength, parseRange } from "./request-headers";
import { listSystemBackups, r2, R2_DEADLINE_MS, StorageUnavailableError, toBackupMetadata } from "./store";

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

/** POST /api/systems/backups: streams the body into R2 with its SHA-256, then applies retention. */
export async function uploadBackup(c: Ctx): Promise<Response> {
  const system = c.get("system");
  const limits = limitsOf(c.env);
  const request = c.req.raw;
  const length = parseContentLength(request.headers.get("Content-Length"));
  if (length === null || request.headers.has("Transfer-Encoding")) throw new ApiError(411, "Content-Length required");
  if (length === "invalid") throw new ApiError(400, "invalid Content-Length");
  if (length === 0 || !request.body) throw new ApiError(400, "empty body");
  if (length > limits.maxUploadSize) throw new ApiError(413, "backup exceeds the maximum upload size");
  if (length > limits.maxSizePerSystem) throw new ApiError(413, "backup exceeds the per-system storage limit");
  const clientSha256 = parseClientDigest(request.headers);
  if (clientSha256 === "invalid") throw new ApiError(400, "invalid Content-Digest or X-Checksum-SHA256");

  const filename = sanitiseFilename(request.headers.get("X-Filename"));
  const id = newBackupId(filename);
  const token = await reserveUpload(c.env.ORG_LEDGER, system, length, limits);
  let stored: R2Object;
  try {
    stored = await ingestBackup(c.env.BACKUPS, {
      body: request.body,
      length,
      key: backupKey(system, id),
      stagingKey: stagingKey(system, id),
      clientSha256,
      contentType: mimeTypeFor(id),
      metadata: { filename, uploader_ip: clientAddress(request), system_id: system.systemId },
    });
  } catch (err) {
    // R2 may have stored the object and then lost its answer: never acknowledged, it must not stay.
    if (err instanceof StorageUnavailableError) await takeBack(c, id);
    await releaseUpload(c.env.ORG_LEDGER, system, token);
    throw err;
  }
  try {
    await commitUpload(c.env.ORG_LEDGER, system, token, id, stored.size, limits);
  } catch (err) {
    // Unrecorded in the ledger, the object would escape quota and retention: take it back.
    await takeBack(c, id);
    await forgetBackup(c.env.ORG_LEDGER, system, id).catch((e) => logError(c, "rollback of uncommitted backup failed", e.cause ?? e));
    await releaseUpload(c.env.ORG_LEDGER, system, token);
    throw err;
  }
  return envelope(201, "backup stored", toBackupMetadata(stored, systemPrefix(system)));
}

/** GET and HEAD /api/systems/backups/{id}: the stored bytes, streamed, with Range and ETag support. */
export async function downloadBackup(c: Ctx): Promise<Response> {
  const bucket = c.env.BACKUPS;
  const key = backupKey(c.get("system"), c.get("backupId"));
  if (c.req.method === "HEAD") {
    const head = await r2("head", () => bucket.head(key));
    if (!head) throw notFound();
    if (etagMatches(c.req.header("If-None-Match") ?? null, head.httpEtag)) return notModified(head);
    return new Response(null, { status: 200, headers: downloadHeaders(head, head.size) });
  }
  const range = parseRange(c.req.header("Range") ?? null);
  if (range === "unsatisfiable") return unsatisfiable(await r2("head", () => bucket.head(key)));
  let object: R2ObjectBody | null;
  try {
    object = (await withDeadline("R2 get", R2_DEADLINE_MS, () => bucket.get(key, range ? { range } : {}))) as R2ObjectBody | null;
  } catch (err) {
    // R2 answers 10039 for a range that starts past the end: 416 needs the size.
    if (range && /\b10039\b/.test(String(err))) return unsatisfiable(await r2("head", () => bucket.head(key)));
    return r2("get", () => Promise.reject(err));
  }
  if (!object) throw notFound();
  if (etagMatches(c.req.header("If-None-Match") ?? null, object.httpEtag)) {
    await object.body.cancel();
    return notModified(object);
  }
  if (!range) return new Response(object.body, { status: 200, headers: downloadHeaders(object, object.size) });
  const { offset = 0, length = object.size - offset } = (object.range ?? {}) as { offset?: number; length?: number };
  const headers = downloadHeaders(object, length);
  headers.set("Content-Range", `bytes ${offset}-${offset + length - 1}/${object.size}`);
  return new Response(object.body, { status: 206, headers });
}

/** DELETE /api/systems/backups/{id}: removes the backup and frees its quota at once. */
export async function deleteBackup(c: Ctx): Promise<Response> {
  const system = c.get("system");
  if (system.appendOnly) throw new ApiError(403, "system is append-only: backups cannot be deleted");
  const id = c.get("backupId");
  const key = backupKey(system, id);
  const head = await r2("head", () => c.env.BACKUPS.head(key));
  if (!head) throw notFound();
  try {
    await withDeadline("R2 delete", R2_DEADLINE_MS, () => c.env.BACKUPS.delete(key));
  } catch (err) {
    // The delete may have happened and only its answer been lost: a backup still there is the failure.
    if (await r2("head", () => c.env.BACKUPS.head(key))) throw new StorageUnavailableError("delete", err);
  }
  await forgetBackup(c.env.ORG_LEDGER, system, id).catch((err) => {
    // The backup is gone; the ledger rebuilds or corrects its count (README, "Limits").
    logError(c, "ledger forget failed after delete", err.cause ?? err);
  });
  return envelope(200, "backup deleted", { id });
}

/** Deletes a backup the client was never told about (best effort; the ledger's reconciliation catches a miss). */
async function takeBack(c: Ctx, id: string): Promise<void> {
  await r2("delete", () => c.env.BACKUPS.delete(backupKey(c.get("system"), id))).catch((e) =>
    logError(c, "removal of an unacknowledged backup failed", e.cause ?? e),
  );
}

function notFound(): ApiError {
  return new ApiError(404, "backup not found");
}

/** Download headers: never the uploaded type, never sniffable, always an attachment. */
function downloadHeaders(object: R2Object, contentLength: number): Headers {
  const filename = (object.customMetadata?.filename ?? "backup.bin").replace(/[^A-Za-z0-9._-]/g, "_");
  return new Headers({
    "Content-Type": "application/octet-stream",
    "X-Content-Type-Options": "nosniff",
    "Content-Disposition": `attachment; filename="${filename}"`,
    "Content-Length": String(contentLength),
    ETag: object.httpEtag,
    "Last-Modified": object.uploaded.toUTCString(),
    "Accept-Ranges": "bytes",
    "Cache-Control": "no-store",
  });
}

function notModified(object: R2Object): Response {
  return new Response(null, { status: 304, headers: { ETag: object.httpEtag, "Cache-Control": "no-store" } });
}

function unsatisfiable(head: R2Object | null): Response {
  if (!head) throw notFound();
  return envelope(416, "range not satisfiable", null, { "Content-Range": `bytes */${head.size}` });
}
