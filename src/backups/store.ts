// Every R2 call of the service: each with its deadline, and each failure turned into
// StorageUnavailableError (503). Takes the bucket as a parameter and knows nothing of HTTP.

import { finalWriteDeadlineMs, TIMINGS } from "../config";
import { StorageUnavailableError } from "../errors";
import { withDeadline } from "../platform/deadline";
import { backupSize, backupTime, isSplitBackup, toBackupMetadata, type BackupMetadata } from "./backup-object";
import { backupKey, blobKeyOf, systemPrefix, type SystemScope } from "./keys";
import type { ByteRange } from "./request-headers";

/**
 * Runs one R2 call with a deadline, turning its failure into StorageUnavailableError.
 * Pass `Infinity` for calls that stream a body, whose duration grows with its size.
 */
async function r2<T>(operation: string, call: () => Promise<T>, deadlineMs: number = TIMINGS.r2DeadlineMs, from?: Promise<unknown>): Promise<T> {
  try {
    return Number.isFinite(deadlineMs) ? await withDeadline(`R2 ${operation}`, deadlineMs, call, from) : await call();
  } catch (err) {
    throw new StorageUnavailableError(operation, err);
  }
}

/** True when R2 refused a write because the bytes did not match its `sha256` option (error 10037). */
export function isChecksumMismatch(err: unknown): boolean {
  const cause = err instanceof StorageUnavailableError ? err.cause : err;
  return /\b10037\b|checksum/i.test(String(cause));
}

/**
 * Writes an object (a stream of known length, or bytes); R2 verifies `options.sha256` when given.
 * A streamed body's duration grows with its size, so the write's deadline (which grows with it
 * too, `finalWriteDeadlineMs`) starts only once `bodyComplete` has settled: the client's pace
 * is the ingest's to police. A streamed body passes its `size`.
 */
export function putObject(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream | ArrayBuffer | ArrayBufferView,
  options: R2PutOptions = {},
  size: number = body instanceof ReadableStream ? 0 : body.byteLength,
  bodyComplete: Promise<unknown> = Promise.resolve(),
): Promise<R2Object> {
  return r2("put", () => bucket.put(key, body, options), finalWriteDeadlineMs(size), bodyComplete);
}

/** An object with its body, or null when there is none. */
export function getObject(bucket: R2Bucket, key: string): Promise<R2ObjectBody | null> {
  return r2("get", () => bucket.get(key));
}

/** An object's metadata, or null when there is none. */
export function headObject(bucket: R2Bucket, key: string): Promise<R2Object | null> {
  return r2("head", () => bucket.head(key));
}

/** True when R2 refused to change an object under a bucket lock (error 10069): "not yet", never a failure. */
export function isLockRefusal(err: unknown): boolean {
  const cause = err instanceof StorageUnavailableError ? err.cause : err;
  return /\b10069\b/.test(String(cause));
}

/** Deletes objects by key (at most 1000 a call); a missing key is not an error. */
export function deleteObjects(bucket: R2Bucket, keys: string | string[]): Promise<void> {
  return r2("delete", () => bucket.delete(keys));
}

/** A range that starts past the end of the object: 416 needs its size (and a precondition, its ETag). */
export interface RangeNotSatisfiable {
  unsatisfiable: true;
  object: R2Object;
}

/**
 * A backup's bytes (all, or a range), null when there is none, or the size when the range starts
 * past its end. A split backup's entry leads to its blob: two gets.
 */
export async function getBackupBody(bucket: R2Bucket, key: string, range?: ByteRange): Promise<R2ObjectBody | RangeNotSatisfiable | null> {
  const got = await getRange(bucket, key, range);
  const entry = got && ("unsatisfiable" in got ? got.object : got);
  if (!entry || !isSplitBackup(entry)) return got;
  if ("body" in got!) await got.body.cancel();
  return getRange(bucket, blobKeyOf(key), range);
}

async function getRange(bucket: R2Bucket, key: string, range?: ByteRange): Promise<R2ObjectBody | RangeNotSatisfiable | null> {
  let failure: unknown;
  try {
    return (await withDeadline("R2 get", TIMINGS.r2DeadlineMs, () => bucket.get(key, range ? { range } : {}))) as R2ObjectBody | null;
  } catch (err) {
    // R2 refuses a range that starts past the end (10039; the local simulator may fail otherwise): the size tells.
    if (!range) throw new StorageUnavailableError("get", err);
    failure = err;
  }
  const head = await headObject(bucket, key);
  if (!head) return null;
  // A split backup's entry holds no bytes, so any range is past its end: the caller goes on to its blob.
  if (isSplitBackup(head) || ("offset" in range && range.offset >= head.size)) return { unsatisfiable: true, object: head };
  throw new StorageUnavailableError("get", failure);
}

/** A backup's metadata as a download answers it (a split backup's blob: its size and ETag), or null when there is none. */
export async function headBackup(bucket: R2Bucket, key: string): Promise<R2Object | null> {
  const entry = await headObject(bucket, key);
  return entry && isSplitBackup(entry) ? headObject(bucket, blobKeyOf(key)) : entry;
}

/** Every backup under a prefix, newest commit first, following every page of the listing. */
export async function listSystemBackups(bucket: R2Bucket, prefix: string): Promise<BackupMetadata[]> {
  const backups: { metadata: BackupMetadata; committedAt: number }[] = [];
  let cursor: string | undefined;
  do {
    // With `include`, a page can hold fewer objects than asked for (100 locally): follow the cursor.
    const page = await r2("list", () => bucket.list({ prefix, cursor, include: ["customMetadata", "httpMetadata"] }));
    for (const object of page.objects) {
      const metadata = toBackupMetadata(object, prefix);
      if (metadata) backups.push({ metadata, committedAt: backupTime(object) });
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  const byId = (a: string, b: string) => (a < b ? 1 : a > b ? -1 : 0);
  return backups.sort((a, b) => b.committedAt - a.committedAt || byId(a.metadata.id, b.metadata.id)).map((b) => b.metadata);
}

/** The published metadata of one backup of the system, or null when there is none (one R2 head). */
export async function readBackupMetadata(bucket: R2Bucket, system: SystemScope, id: string): Promise<BackupMetadata | null> {
  const object = await headObject(bucket, backupKey(system, id));
  return object ? toBackupMetadata(object, systemPrefix(system)) : null;
}

/** One object of an organisation-wide listing page, as the ledger needs it. */
export interface ListedObject {
  key: string;
  size: number;
  committedAt: number;
  /** The stored SHA-256, null when the object carries none. */
  sha256: string | null;
}

/** One page (at most `limit` objects, key order) of every object under a prefix, and the cursor of the next, if any. */
export async function listObjectPage(bucket: R2Bucket, prefix: string, cursor: string | undefined, limit: number): Promise<{ objects: ListedObject[]; cursor: string | null }> {
  const page = await r2("list", () => bucket.list({ prefix, cursor, limit, include: ["customMetadata"] }));
  return {
    objects: page.objects.map((o) => ({ key: o.key, size: backupSize(o), committedAt: backupTime(o), sha256: o.customMetadata?.sha256 ?? null })),
    cursor: page.truncated ? page.cursor : null,
  };
}

/** Every object under a prefix with its metadata (all pages): what a move copies and a purge deletes. */
export async function listObjects(bucket: R2Bucket, prefix: string): Promise<R2Object[]> {
  const out: R2Object[] = [];
  let cursor: string | undefined;
  do {
    const page = await r2("list", () => bucket.list({ prefix, cursor, include: ["customMetadata", "httpMetadata"] }));
    out.push(...page.objects);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out;
}

/** Deletes any number of keys, 1,000 a call (R2's limit). */
export async function deleteKeys(bucket: R2Bucket, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) await deleteObjects(bucket, keys.slice(i, i + 1000));
}

/** Deletes every object under a prefix (all pages); returns how many there were. */
export async function clearPrefix(bucket: R2Bucket, prefix: string): Promise<number> {
  const keys = (await listObjects(bucket, prefix)).map((o) => o.key);
  await deleteKeys(bucket, keys);
  return keys.length;
}

/** Erases objects (at most 1000 keys); returns the keys R2 refused under a bucket lock (10069), to erase later. */
export async function eraseObjects(bucket: R2Bucket, keys: string[]): Promise<string[]> {
  if (keys.length === 0) return [];
  try {
    await deleteObjects(bucket, keys);
    return [];
  } catch (err) {
    if (!isLockRefusal(err)) throw err;
  }
  const locked: string[] = [];
  for (const key of keys) await deleteObjects(bucket, key).catch((err) => (isLockRefusal(err) ? locked.push(key) : Promise.reject(err)));
  return locked;
}

/** Writes a small JSON document with string metadata (a purged system's record); an existing one under a bucket lock is kept. */
export async function putDocument(bucket: R2Bucket, key: string, document: object, customMetadata: Record<string, string>): Promise<void> {
  await putObject(bucket, key, new TextEncoder().encode(JSON.stringify(document)), { customMetadata }).catch(async (err) => {
    if (!isLockRefusal(err) || !(await headObject(bucket, key))) throw err;
  });
}

/** A small JSON document written by putDocument, with its metadata; null when there is none. */
export async function readDocument<T>(bucket: R2Bucket, key: string): Promise<{ document: T; metadata: Record<string, string> } | null> {
  const object = await getObject(bucket, key);
  if (!object) return null;
  const document = await r2("get", () => object.json<T>());
  return { document, metadata: object.customMetadata ?? {} };
}
