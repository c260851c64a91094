// Streaming ingest: the body flows from the client to R2 without being held in memory, its
// length checked against Content-Length, its pace against the minimum (body-pace.ts) and its
// SHA-256 (and MD5, to check what R2 stored) computed as it passes.

import { BodyLengthError, BodyTimeoutError, ChecksumMismatchError, StorageUnavailableError } from "../errors";
import { bytesToHex } from "../platform/codec";
import { log } from "../platform/log";
import { BodyPace, pacedRead } from "./body-pace";
import { type StoredCustomMetadata } from "./backup-object";
import { deleteObjects, isChecksumMismatch, putObject } from "./store";

export interface IngestRequest {
  body: ReadableStream<Uint8Array>;
  /** The declared Content-Length. */
  length: number;
  /** Final object key (visible to listings once written). */
  key: string;
  /** Where the bytes go when the client sent no digest (a split backup, backup-object.ts). */
  blobKey: string;
  /** Hex SHA-256 the client declared (Content-Digest / X-Checksum-SHA256), or null. */
  clientSha256: string | null;
  contentType: string;
  metadata: Omit<StoredCustomMetadata, "sha256" | "uploaded_at" | "blob_size">;
  /** The system's newest backup, when it has the declared length: a body with its digest stores nothing. */
  newest: NewestBackup | null;
}

/** The system's newest backup as an upload compares itself with it (docs/appliance-plane.md, "Retries are idempotent"). */
export interface NewestBackup {
  sha256: string;
  /** Asks the ledger whether it still is the newest; if so the upload is settled as a repeat of it. */
  confirm(): Promise<boolean>;
}

/** True when bytes with this digest are the system's newest backup, confirmed by the ledger. */
export async function isNewestBackup(newest: NewestBackup | null, sha256: string): Promise<boolean> {
  return newest !== null && newest.sha256 === sha256 && (await newest.confirm());
}

/**
 * Stores an upload so that it is never visible without its digest.
 * With a client digest: one write to the final key, R2 verifying the digest.
 * Without (or when the declared digest is the newest backup's): one write of the bytes, as they
 * arrive, to the backup's blob key, hashed on the way (SHA-256 to record, MD5 to compare with
 * the MD5 R2 computes of what it stored); then, under the final key, an entry of no bytes that
 * records the digest and the size (a split backup, backup-object.ts). Only that entry is listed, so the
 * backup appears whole, with its digest, or not at all. Returns null, leaving nothing, when the
 * body is the newest backup. A failure before the entry's write removes the blob; a failed
 * entry write leaves it to the caller, who takes back the entry only (that write may still
 * land, and its entry must then find its bytes; the daily reconciliation removes a blob no
 * backup records).
 * A body slower than the minimum pace fails with 408 (BodyTimeoutError); each write's deadline
 * starts when its body is complete and grows with the size.
 */
export async function ingestBackup(bucket: R2Bucket, req: IngestRequest): Promise<R2Object | null> {
  const direct = req.clientSha256 !== null && req.clientSha256 !== req.newest?.sha256;
  const metered = meterBody(req.body, req.length, !direct);
  const httpMetadata = { contentType: req.contentType };
  if (direct && req.clientSha256 !== null) {
    const sha256 = req.clientSha256;
    const customMetadata = { ...req.metadata, sha256 } satisfies StoredCustomMetadata;
    return await writeChecked(bucket, req.key, metered, req.length, { sha256, customMetadata, httpMetadata }, true);
  }
  let entryWritten = false;
  try {
    const blob = await writeChecked(bucket, req.blobKey, metered, req.length, { customMetadata: req.metadata, httpMetadata }, false);
    const { sha256, md5 } = await metered.digests;
    // R2 computed the MD5 of what it received: the bytes hashed here are the bytes stored.
    const stored = blob.checksums.md5;
    if (!stored || bytesToHex(new Uint8Array(stored)) !== md5) throw new StorageUnavailableError("put", new Error("R2 stored other bytes than it was sent"));
    if (req.clientSha256 !== null && req.clientSha256 !== sha256) throw new ChecksumMismatchError();
    if (await isNewestBackup(req.newest, sha256)) return null;
    const customMetadata = { ...req.metadata, sha256, blob_size: String(req.length) } satisfies StoredCustomMetadata;
    entryWritten = true; // from here a failed write may still land: its bytes stay (the caller takes back the entry only)
    return await putObject(bucket, req.key, new Uint8Array(0), { customMetadata, httpMetadata });
  } finally {
    // Bytes no entry can record are nobody's: they go. (If this removal fails too, the daily
    // reconciliation removes the blob a day on, or a purge or a move of the system at once.)
    if (!entryWritten) await deleteObjects(bucket, req.blobKey).catch((err) => log.error("removal of an unrecorded blob failed", { key: req.blobKey, error: err }));
  }
}

async function writeChecked(
  bucket: R2Bucket,
  key: string,
  metered: MeteredBody,
  length: number,
  options: R2PutOptions,
  clientDigest: boolean,
): Promise<R2Object> {
  try {
    return await putObject(bucket, key, metered.stream, options, length, metered.complete);
  } catch (err) {
    // A broken or lying body surfaces here as an R2 error: report the body's fault first.
    const bodyFault = metered.fault();
    metered.stop(err); // R2 may have failed without reading the body to its end
    if (bodyFault) throw bodyFault;
    if (clientDigest && isChecksumMismatch(err)) throw new ChecksumMismatchError();
    throw err;
  }
}

interface MeteredBody {
  /** A stream of exactly the declared length (R2 needs a known length). */
  stream: ReadableStream<Uint8Array>;
  /** Hex SHA-256 and MD5 of the bytes, once the stream has ended (empty strings when not hashed). */
  digests: Promise<{ sha256: string; md5: string }>;
  /** Settles once the whole body has been handed to R2 (or has failed). */
  complete: Promise<void>;
  /** The body's own failure, if it had one. */
  fault(): BodyLengthError | BodyTimeoutError | null;
  /** Stops reading the body (after R2 gave up on it). */
  stop(reason: unknown): void;
}

// workerd hands request bodies over in 4 KiB chunks; moving each one through JavaScript cost
// more than the bytes (a 64 MiB upload ran at a third of a bare R2 put, `npm run bench`).
// Reading up to 1 MiB at a time keeps that work off the hot path, and reusing the buffers
// keeps a large upload from leaving its size in garbage behind it.
const READ_BYTES = 1024 * 1024;

/**
 * Wraps the body: counts bytes against the declared length and hashes them as they flow.
 * One chunk is read while the previous one is being written, so at most two buffers are held.
 */
function meterBody(body: ReadableStream<Uint8Array>, length: number, hash: boolean): MeteredBody {
  const hashes = hash ? [new crypto.DigestStream("SHA-256"), new crypto.DigestStream("MD5")] : [];
  const hashWriters = hashes.map((h) => h.getWriter());
  const fixed = new FixedLengthStream(length);
  const writer = fixed.writable.getWriter();
  const source = largeChunks(body);
  const pace = new BodyPace();
  let fault: BodyLengthError | BodyTimeoutError | null = null;
  let stopped = false;
  const stop = (reason: unknown) => {
    if (stopped) return;
    stopped = true;
    writer.abort(reason).catch(() => {});
    for (const w of hashWriters) w.abort(reason).catch(() => {});
    source.cancel(reason);
  };
  const fail = (kind: BodyLengthError["kind"] | "slow") => {
    fault = kind === "slow" ? new BodyTimeoutError() : new BodyLengthError(kind);
    stop(fault); // its failure reaches R2 through the readable side
  };
  const pump = async () => {
    let seen = 0;
    let writing: Promise<void> = Promise.resolve();
    let written: Uint8Array | null = null;
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array> | "too slow";
      try {
        // Ask for one byte past the declared end, so that a longer body shows itself; wait for
        // no more than completes the pace's slice, so that its clock sees every slice end.
        const max = Math.min(READ_BYTES, length - seen + 1);
        chunk = await pacedRead(pace, () => source.read(Math.min(max, pace.missingBytes()), max), (c) => c.value?.byteLength ?? 0);
      } catch {
        return fail("aborted");
      }
      if (stopped) return;
      if (chunk === "too slow") return fail("slow");
      if (chunk.value && chunk.value.byteLength > 0) {
        seen += chunk.value.byteLength;
        if (seen > length) return fail("long");
        for (const w of hashWriters) await w.write(chunk.value);
        await writing;
        if (written) source.recycle(written); // its write has completed: the buffer is free again
        written = chunk.value;
        writing = writer.write(chunk.value);
        writing.catch(() => {}); // awaited on the next turn, or moot once the body has failed
      }
      if (chunk.done) break;
    }
    if (seen < length) return fail("short");
    await writing;
    for (const w of hashWriters) await w.close();
    await writer.close();
  };
  // A rejection here is R2 no longer reading (its own error reaches the caller through put).
  const complete = pump().catch((err) => stop(err));
  const hex = (h: DigestStream) => h.digest.then((d) => bytesToHex(new Uint8Array(d)));
  const digests = hash ? Promise.all(hashes.map(hex)).then(([sha256, md5]) => ({ sha256, md5 })) : Promise.resolve({ sha256: "", md5: "" });
  digests.catch(() => {}); // observed through fault() when the body fails
  return { stream: fixed.readable, digests, complete, fault: () => fault, stop };
}

/**
 * Reads a body in chunks of up to READ_BYTES into reusable buffers (BYOB), or as it comes for
 * a stream built in JavaScript.
 */
function largeChunks(body: ReadableStream<Uint8Array>) {
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream (a body constructed in JavaScript): its own chunk sizes it is.
  }
  const plain = byob ? null : body.getReader();
  const spare: ArrayBuffer[] = [];
  return {
    /** At least `min` bytes (unless the body ends first), at most `max`. */
    read(min: number, max: number): Promise<ReadableStreamReadResult<Uint8Array>> {
      if (!byob) return plain!.read();
      return byob.readAtLeast(min, new Uint8Array(spare.pop() ?? new ArrayBuffer(max), 0, max));
    },
    /** Takes back the buffer of a chunk that nothing holds any more. */
    recycle(chunk: Uint8Array): void {
      if (byob && chunk.byteOffset === 0 && chunk.buffer.byteLength === READ_BYTES) spare.push(chunk.buffer as ArrayBuffer);
    },
    cancel(reason: unknown): void {
      (byob ?? plain)!.cancel(reason).catch(() => {});
    },
  };
}
