// R2 access for backups. Takes the bucket as a parameter and knows nothing of HTTP.

import { withDeadline } from "../deadline";

/** What a listing returns for each backup (the published metadata shape). */
export interface BackupMetadata {
  id: string;
  filename: string;
  size: number;
  sha256: string;
  mimetype: string;
  uploaded_at: string;
}

/** Custom metadata stored with every committed backup object. */
export interface StoredCustomMetadata {
  filename: string;
  sha256: string;
  uploaded_at: string;
  /** Client address from CF-Connecting-IP, for audit; never returned by the API. */
  uploader_ip: string;
  system_id: string;
}

/** R2 failed (or timed out): the caller answers 503. */
export class StorageUnavailableError extends Error {
  override name = "StorageUnavailableError";
  constructor(readonly operation: string, override readonly cause: unknown) {
    super(`R2 ${operation} failed`);
  }
}

/** The request body did not match its Content-Length (or broke off). Nothing was kept. */
export class BodyLengthError extends Error {
  override name = "BodyLengthError";
  constructor(readonly kind: "short" | "long" | "aborted") {
    super(`request body ${kind === "aborted" ? "was interrupted" : `is ${kind}er than its Content-Length`}`);
  }
}

/** The digest the client declared does not match the bytes R2 received. Nothing was kept. */
export class ChecksumMismatchError extends Error {
  override name = "ChecksumMismatchError";
  constructor() {
    super("body does not match the declared SHA-256 digest");
  }
}

/** How long an R2 metadata call (list, head, get until its headers, delete) may take. */
export const R2_DEADLINE_MS = 15_000;

/**
 * Runs one R2 call with a deadline, turning its failure into StorageUnavailableError.
 * Pass `Infinity` for calls that stream a body, whose duration grows with its size.
 */
export async function r2<T>(operation: string, call: () => Promise<T>, deadlineMs = R2_DEADLINE_MS): Promise<T> {
  try {
    return Number.isFinite(deadlineMs) ? await withDeadline(`R2 ${operation}`, deadlineMs, call) : await call();
  } catch (err) {
    throw new StorageUnavailableError(operation, err);
  }
}

/** Every backup under a prefix, newest first, following every page of the listing. */
export async function listSystemBackups(bucket: R2Bucket, prefix: string): Promise<BackupMetadata[]> {
  const backups: BackupMetadata[] = [];
  let cursor: string | undefined;
  do {
    // With `include`, a page can hold fewer objects than asked for (100 locally): follow the cursor.
    const page = await r2("list", () => bucket.list({ prefix, cursor, include: ["customMetadata", "httpMetadata"] }));
    for (const object of page.objects) {
      const metadata = toBackupMetadata(object, prefix);
      if (metadata) backups.push(metadata);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return backups.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/** Metadata of a committed backup object; null for anything without a digest (never listed). */
export function toBackupMetadata(object: R2Object, prefix: string): BackupMetadata | null {
  const custom = (object.customMetadata ?? {}) as Partial<StoredCustomMetadata>;
  if (!custom.sha256) return null;
  const id = object.key.slice(prefix.length);
  return {
    id,
    filename: custom.filename ?? id,
    size: object.size,
    sha256: custom.sha256,
    mimetype: object.httpMetadata?.contentType ?? "application/octet-stream",
    uploaded_at: custom.uploaded_at ?? rfc3339(object.uploaded),
  };
}

/** Key, size and id-time of every backup under a prefix (all systems of an organisation). */
export async function listObjectSizes(bucket: R2Bucket, prefix: string): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  let cursor: string | undefined;
  do {
    const page = await r2("list", () => bucket.list({ prefix, cursor, limit: 1000 }));
    for (const o of page.objects) out.push({ key: o.key, size: o.size });
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out;
}

/** A time in RFC 3339 UTC with second precision, as the published example shows. */
export function rfc3339(date: Date | number): string {
  return new Date(date).toISOString().replace(/\.\d{3}Z$/, "Z");
}
