// What a stored backup is, read from its R2 object: the published metadata, the custom metadata
// every committed backup carries, and the split form (an entry of no bytes plus its blob).
// No R2 call here: store.ts makes them.

import { rfc3339 } from "../platform/time";

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
  /**
   * Only on objects imported from the existing backend (their original upload time). Objects
   * this service writes carry none: R2's own `uploaded`, stamped when the write completed, is
   * their commit time.
   */
  uploaded_at?: string;
  /** Client address from CF-Connecting-IP, for audit; never returned by the API. */
  uploader_ip: string;
  system_id: string;
  /** Only on uploads through the older protocol: its `{type}` (`enterprise` or `community`). */
  legacy_type?: string;
  /**
   * Only on the entry of a split backup (a large upload without a client digest): the size of
   * its bytes, which live under `blobKeyOf(key)` while the entry itself holds none. Its digest
   * is known only once the bytes are stored, so it is recorded in this entry, written after them.
   */
  blob_size?: string;
}

/** True for the entry of a split backup: its bytes live under `blobKeyOf(object.key)`. */
export function isSplitBackup(object: R2Object): boolean {
  return typeof object.customMetadata?.blob_size === "string";
}

/** The size of a backup's bytes: its entry's `blob_size` when it is split, else the object's own. */
export function backupSize(object: R2Object): number {
  return isSplitBackup(object) ? Number(object.customMetadata!.blob_size) : object.size;
}

/** A backup object's commit time (ms): an imported object's original `uploaded_at`, else when R2 stored it. */
export function backupTime(object: R2Object): number {
  const imported = Date.parse((object.customMetadata as Partial<StoredCustomMetadata> | undefined)?.uploaded_at ?? "");
  return Number.isNaN(imported) ? object.uploaded.getTime() : imported;
}

/** Metadata of a committed backup object; null for anything without a digest (never listed). */
export function toBackupMetadata(object: R2Object, prefix: string): BackupMetadata | null {
  const custom = (object.customMetadata ?? {}) as Partial<StoredCustomMetadata>;
  if (!custom.sha256) return null;
  const id = object.key.slice(prefix.length);
  return {
    id,
    filename: custom.filename ?? id,
    size: backupSize(object),
    sha256: custom.sha256,
    mimetype: object.httpMetadata?.contentType ?? "application/octet-stream",
    uploaded_at: rfc3339(backupTime(object)),
  };
}
