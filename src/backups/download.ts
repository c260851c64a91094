// Serving a stored backup over HTTP: for appliance downloads and download links alike.

import { ApiError } from "../errors";
import { envelope } from "../http/envelope";
import { etagMatches, parseRange } from "./request-headers";
import { getBackupBody, headBackup } from "./store";

/**
 * Answers GET or HEAD for one backup object: 200, 206 for a Range, 304 for a matching
 * If-None-Match, 416 for a range past the end, 404 (thrown) when there is none.
 * RFC 9110 §13.2.2: preconditions are evaluated before Range, so a matching If-None-Match is a
 * 304 even when the range could not be satisfied.
 */
export async function serveBackup(request: Request, bucket: R2Bucket, key: string): Promise<Response> {
  const ifNoneMatch = request.headers.get("If-None-Match");
  if (request.method === "HEAD") {
    const head = await headBackup(bucket, key);
    if (!head) throw notFound();
    if (etagMatches(ifNoneMatch, head.httpEtag)) return notModified(head);
    return new Response(null, { status: 200, headers: downloadHeaders(head, head.size) });
  }
  const range = parseRange(request.headers.get("Range"));
  if (range === "unsatisfiable") {
    const head = await headBackup(bucket, key);
    if (!head) throw notFound();
    return etagMatches(ifNoneMatch, head.httpEtag) ? notModified(head) : unsatisfiable(head.size);
  }
  const object = await getBackupBody(bucket, key, range);
  if (!object) throw notFound();
  if ("unsatisfiable" in object) return etagMatches(ifNoneMatch, object.object.httpEtag) ? notModified(object.object) : unsatisfiable(object.object.size);
  if (etagMatches(ifNoneMatch, object.httpEtag)) {
    await object.body.cancel();
    return notModified(object);
  }
  if (!range) return new Response(object.body, { status: 200, headers: downloadHeaders(object, object.size) });
  const { offset = 0, length = object.size - offset } = (object.range ?? {}) as { offset?: number; length?: number };
  const headers = downloadHeaders(object, length);
  headers.set("Content-Range", `bytes ${offset}-${offset + length - 1}/${object.size}`);
  return new Response(object.body, { status: 206, headers });
}

/** The 404 for a backup that is not there (or not the caller's). */
export function backupNotFound(): ApiError {
  return new ApiError(404, "backup not found");
}
const notFound = backupNotFound;

/** Download headers: never the uploaded type, never sniffable, always an attachment with a sanitised name. */
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

function unsatisfiable(size: number): Response {
  return envelope(416, "range not satisfiable", null, { "Content-Range": `bytes */${size}` });
}
