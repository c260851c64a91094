// Byte-exact copies of a backup, each verified by R2 against the recorded SHA-256: to another
// system prefix (a move), into the recovery window and back out of it. A split backup is read
// through its blob and written whole. The R2 calls are store.ts's.

import { StorageUnavailableError } from "../errors";
import { backupTime, isSplitBackup } from "./backup-object";
import { blobKeyOf } from "./keys";
import { getObject, headObject, isLockRefusal, putObject } from "./store";

/**
 * Copies a committed backup to another key, byte-exact, with its content type and custom
 * metadata. R2 verifies the bytes it receives against the recorded SHA-256 and refuses a
 * mismatch, so a copy is either exact or absent. A split backup is copied whole (its blob's
 * bytes under the new key). Returns the new object.
 */
export async function copyBackupObject(bucket: R2Bucket, source: R2Object, toKey: string): Promise<R2Object> {
  const opened = await openBackup(bucket, source.key);
  if (!opened) throw new StorageUnavailableError("copy", new Error(`${source.key} vanished during the copy`));
  return putCopy(bucket, opened, toKey, wholeMetadata(opened.entry));
}

/** A backup to copy: its entry (metadata) and a stream of its bytes (a split backup's from its blob). */
interface OpenedBackup {
  entry: R2Object;
  body: ReadableStream;
  size: number;
}

/**
 * Opens a backup for a copy; null when it is gone. A split backup whose blob is missing is a
 * failure (503), never "gone": its entry must not be dropped as if the backup had been moved.
 */
async function openBackup(bucket: R2Bucket, key: string): Promise<OpenedBackup | null> {
  const entry = await getObject(bucket, key);
  if (!entry || !isSplitBackup(entry)) return entry && { entry, body: entry.body, size: entry.size };
  await entry.body.cancel();
  const blob = await getObject(bucket, blobKeyOf(key));
  if (!blob) throw new StorageUnavailableError("get", new Error(`the blob of ${key} is missing`));
  return { entry, body: blob.body, size: blob.size };
}

/** A backup's custom metadata as a whole (not split) copy carries it. */
function wholeMetadata(entry: R2Object): Record<string, string> {
  const { blob_size: _split, ...custom } = entry.customMetadata ?? {};
  return custom;
}

/** Why and when a backup left its system, and when the recovery window ends (RFC 3339 times). */
export interface Removal {
  removed_at: string;
  removed_by: string;
  reason: "deleted" | "pruned" | "purged";
  erase_after: string;
}

/**
 * Copies a backup into the recovery prefix, byte-exact (R2 checks the recorded SHA-256), its
 * commit time kept in `uploaded_at` and its removal in the copy's custom metadata. Null when the
 * backup is gone. Under a bucket lock an earlier copy of the same bytes cannot be overwritten:
 * that copy is kept (10069 is "already there", when its digest is the same).
 */
export async function copyToRecovery(bucket: R2Bucket, fromKey: string, toKey: string, removal: Removal): Promise<R2Object | null> {
  const source = await openBackup(bucket, fromKey);
  if (!source) return null;
  // The commit time to the millisecond, so that a restored backup sorts where it did.
  const custom: Record<string, string> = { ...wholeMetadata(source.entry), uploaded_at: new Date(backupTime(source.entry)).toISOString(), ...removal };
  try {
    await putCopy(bucket, source, toKey, custom);
  } catch (err) {
    if (!isLockRefusal(err) || (await headObject(bucket, toKey))?.customMetadata?.sha256 !== custom.sha256) throw err;
  }
  return source.entry;
}

/** Copies a recovery copy back to its backup key, byte-exact, without the removal's metadata (same id, digest and commit time). Null when the copy is gone. */
export async function copyFromRecovery(bucket: R2Bucket, fromKey: string, toKey: string): Promise<R2Object | null> {
  const source = await openBackup(bucket, fromKey);
  if (!source) return null;
  const { removed_at: _a, removed_by: _b, reason: _c, erase_after: _d, ...custom } = wholeMetadata(source.entry);
  return putCopy(bucket, source, toKey, custom);
}

function putCopy(bucket: R2Bucket, source: OpenedBackup, toKey: string, customMetadata: Record<string, string>): Promise<R2Object> {
  const sha256 = customMetadata.sha256;
  if (!sha256) throw new StorageUnavailableError("copy", new Error(`${source.entry.key} has no recorded digest`));
  return putObject(bucket, toKey, source.body, { sha256, httpMetadata: source.entry.httpMetadata, customMetadata }, source.size);
}
