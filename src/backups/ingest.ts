// Streaming ingest: the body flows from the client to R2 without being held in memory, its
// length checked against Content-Length and its SHA-256 computed as it passes.

import { bytesToHex } from "../auth/secret";
import { BodyLengthError, ChecksumMismatchError, r2, rfc3339, StorageUnavailableError, type StoredCustomMetadata } from "./store";

export interface IngestRequest {
  body: ReadableStream<Uint8Array>;
  /** The declared Content-Length. */
  length: number;
  /** Final object key (visible to listings once written). */
  key: string;
  /** Where the bytes go first when the client sent no digest. */
  stagingKey: string;
  /** Hex SHA-256 the client declared (Content-Digest / X-Checksum-SHA256), or null. */
  clientSha256: string | null;
  contentType: string;
  metadata: Omit<StoredCustomMetadata, "sha256" | "uploaded_at">;
}

/**
 * Stores an upload so that it is never visible without its digest.
 * With a client digest: one write to the final key, R2 verifying the digest.
 * Without: write to a staging key while hashing, then copy to the final key with the digest
 * (R2 verifies the copy against it), then drop the staging object.
 * On any failure nothing is left under the final key and the staging object is removed.
 */
export async function ingestBackup(bucket: R2Bucket, req: IngestRequest): Promise<R2Object> {
  const metered = meterBody(req.body, req.length, req.clientSha256 === null);
  const httpMetadata = { contentType: req.contentType };
  if (req.clientSha256 !== null) {
    const sha256 = req.clientSha256;
    const customMetadata = { ...req.metadata, sha256, uploaded_at: rfc3339(Date.now()) } satisfies StoredCustomMetadata;
    return await writeChecked(bucket, req.key, metered, { sha256, customMetadata, httpMetadata }, true);
  }
  try {
    await writeChecked(bucket, req.stagingKey, metered, {}, false);
    const sha256 = await metered.digest;
    const staged = await r2("get staging", () => bucket.get(req.stagingKey));
    if (!staged) throw new StorageUnavailableError("get staging", new Error("staging object vanished"));
    const customMetadata = { ...req.metadata, sha256, uploaded_at: rfc3339(Date.now()) } satisfies StoredCustomMetadata;
    // R2 recomputes the SHA-256 of what it receives and refuses the write on a mismatch.
    return await r2("put", () => bucket.put(req.key, staged.body, { sha256, customMetadata, httpMetadata }));
  } finally {
    await bucket.delete(req.stagingKey).catch((err) => {
      // The bucket's lifecycle rule on `.staging/` removes it within a day (README).
      console.error(JSON.stringify({ level: "error", event: "staging cleanup failed", key: req.stagingKey, error: String(err) }));
    });
  }
}

async function writeChecked(
  bucket: R2Bucket,
  key: string,
  metered: MeteredBody,
  options: R2PutOptions,
  clientDigest: boolean,
): Promise<R2Object> {
  try {
    return await bucket.put(key, metered.stream, options);
  } catch (err) {
    // A broken or lying body surfaces here as an R2 error: report the body's fault first.
    const bodyFault = metered.fault();
    if (bodyFault) throw bodyFault;
    if (clientDigest && /\b10037\b|checksum/i.test(String(err))) throw new ChecksumMismatchError();
    throw new StorageUnavailableError("put", err);
  }
}

interface MeteredBody {
  /** A stream of exactly the declared length (R2 needs a known length). */
  stream: ReadableStream<Uint8Array>;
  /** Hex SHA-256 of the bytes, once the stream has ended. */
  digest: Promise<string>;
  /** The body's own failure, if it had one. */
  fault(): BodyLengthError | null;
}

/** Wraps the body: counts bytes against the declared length and hashes them as they flow. */
function meterBody(body: ReadableStream<Uint8Array>, length: number, hash: boolean): MeteredBody {
  const digestStream = hash ? new crypto.DigestStream("SHA-256") : null;
  const digestWriter = digestStream?.getWriter();
  const reader = body.getReader();
  let seen = 0;
  let fault: BodyLengthError | null = null;
  const fail = (kind: BodyLengthError["kind"], controller: ReadableStreamDefaultController<Uint8Array>) => {
    fault = new BodyLengthError(kind);
    controller.error(fault);
    digestWriter?.abort(fault).catch(() => {});
    reader.cancel(fault).catch(() => {});
  };
  const counted = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch {
          return fail("aborted", controller);
        }
        if (chunk.done) {
          if (seen < length) return fail("short", controller);
          await digestWriter?.close();
          return controller.close();
        }
        seen += chunk.value.byteLength;
        if (seen > length) return fail("long", controller);
        if (digestWriter) await digestWriter.write(chunk.value);
        controller.enqueue(chunk.value);
      },
      cancel(reason) {
        digestWriter?.abort(reason).catch(() => {});
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  const fixed = new FixedLengthStream(length);
  counted.pipeTo(fixed.writable).catch(() => {}); // its failure reaches R2 through the readable side
  const stream = fixed.readable;
  const digest = digestStream ? digestStream.digest.then((d) => bytesToHex(new Uint8Array(d))) : Promise.resolve("");
  digest.catch(() => {}); // observed through fault() when the body fails
  return { stream, digest, fault: () => fault };
}
