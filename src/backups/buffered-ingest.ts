// Buffered ingest: a small body (up to BACKUP_BUFFERED_UPLOAD_MAX) is read whole into memory,
// hashed, and written once with its digest: one R2 write, where the streaming path needs a
// blob write and an entry write. What the fleet sends is mostly this size.

import { BodyLengthError, BodyTimeoutError, ChecksumMismatchError } from "../errors";
import { bytesToHex } from "../platform/codec";
import { BodyPace, pacedRead } from "./body-pace";
import { isNewestBackup, type IngestRequest } from "./ingest";
import { type StoredCustomMetadata } from "./backup-object";
import { putObject } from "./store";

/**
 * Stores a small upload with one write: reads the body (its length checked against
 * Content-Length), hashes it, and puts it under its final key with the digest in its custom
 * metadata and as R2's `sha256` option, so R2 verifies what it received. Returns null, writing
 * nothing, when the bytes are the system's newest backup. A body at fault writes nothing.
 */
export async function ingestBufferedBackup(bucket: R2Bucket, req: IngestRequest): Promise<R2Object | null> {
  const bytes = await readWholeBody(req.body, req.length);
  const sha256 = bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
  if (req.clientSha256 !== null && req.clientSha256 !== sha256) throw new ChecksumMismatchError();
  if (await isNewestBackup(req.newest, sha256)) return null;
  const customMetadata = { ...req.metadata, sha256 } satisfies StoredCustomMetadata;
  return await putObject(bucket, req.key, bytes, { sha256, customMetadata, httpMetadata: { contentType: req.contentType } });
}

/**
 * Reads a body of exactly `length` bytes into one buffer of that size. Throws BodyLengthError
 * when it ends early, runs past `length` (detected on the first byte beyond it) or breaks off,
 * and BodyTimeoutError (408) when it falls below the minimum pace (body-pace.ts).
 */
async function readWholeBody(body: ReadableStream<Uint8Array>, length: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  const reader = body.getReader();
  const pace = new BodyPace();
  let filled = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array> | "too slow";
    try {
      chunk = await pacedRead(pace, () => reader.read(), (c) => c.value?.byteLength ?? 0);
    } catch {
      throw new BodyLengthError("aborted");
    }
    if (chunk === "too slow") {
      reader.cancel().catch(() => {});
      throw new BodyTimeoutError();
    }
    if (chunk.done) break;
    if (filled + chunk.value.byteLength > length) {
      reader.cancel().catch(() => {});
      throw new BodyLengthError("long");
    }
    bytes.set(chunk.value, filled);
    filled += chunk.value.byteLength;
  }
  if (filled < length) throw new BodyLengthError("short");
  return bytes;
}
