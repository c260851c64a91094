// Buffered ingest: a small body (up to BACKUP_BUFFERED_UPLOAD_MAX) is read whole into memory,
// hashed, and written once with its digest: one R2 write, where the streaming path needs a
// staging write, a read back and a second write. What the fleet sends is mostly this size.

import { BodyLengthError, ChecksumMismatchError } from "../errors";
import { bytesToHex } from "../platform/codec";
import { rfc3339 } from "../platform/time";
import { isNewestBackup, type IngestRequest } from "./ingest";
import { putObject, type StoredCustomMetadata } from "./store";

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
  const customMetadata = { ...req.metadata, sha256, uploaded_at: rfc3339(Date.now()) } satisfies StoredCustomMetadata;
  return await putObject(bucket, req.key, bytes, { sha256, customMetadata, httpMetadata: { contentType: req.contentType } });
}

/**
 * Reads a body of exactly `length` bytes into one buffer of that size. Throws BodyLengthError
 * when it ends early, runs past `length` (detected on the first byte beyond it) or breaks off.
 */
async function readWholeBody(body: ReadableStream<Uint8Array>, length: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  const reader = body.getReader();
  let filled = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch {
      throw new BodyLengthError("aborted");
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
