// The upload use case: reserve → ingest → commit, and the undo of each step in the right order.
// Callable without HTTP: it takes the bindings and an already-parsed request.

import type { AuthenticatedSystem } from "../auth/credentials";
import { ingestBufferedBackup } from "../backups/buffered-ingest";
import { mimeTypeFor, newBackupId, sanitiseFilename } from "../backups/ids";
import { ingestBackup, type NewestBackup } from "../backups/ingest";
import { backupKey, backupKeys, blobKey, systemPrefix } from "../backups/keys";
import { toBackupMetadata, type BackupMetadata } from "../backups/backup-object";
import { deleteObjects, readBackupMetadata } from "../backups/store";
import type { Limits } from "../config";
import { ApiError, StorageUnavailableError } from "../errors";
import { commitUpload, forgetBackup, releaseUpload, reserveUpload, settleRepeat } from "../ledger/client";
import type { NewestBackup as LedgerNewest, OrgLedger } from "../ledger/org-ledger";
import { log } from "../platform/log";

/** The bindings an upload needs. */
export interface UploadBindings {
  bucket: R2Bucket;
  ledger: DurableObjectNamespace<OrgLedger>;
  limits: Limits;
  /** The invocation's `ctx.waitUntil`: keeps the upload's work running if the client hangs up (HTTP callers must pass it). */
  waitUntil?(promise: Promise<unknown>): void;
}

/** An upload as the route parsed it. */
export interface UploadRequest {
  system: AuthenticatedSystem;
  body: ReadableStream<Uint8Array>;
  /** The declared Content-Length (> 0). */
  length: number;
  /** `X-Filename` as received (sanitised here), or null. */
  filename: string | null;
  /** Hex SHA-256 the client declared, or null. */
  clientSha256: string | null;
  /** The client address, kept with the object for audit. */
  clientAddress: string;
  /** The older protocol's `{type}` (`enterprise` or `community`), recorded with the object; absent for the appliance API. */
  legacyType?: string;
  /** The older protocol's promise: the rate limit never refuses the system's first upload of a UTC day. */
  firstOfDayExempt?: boolean;
}

/** What an upload left: a new backup (201), or the system's newest one when the bytes were already stored (200). */
export interface UploadOutcome {
  created: boolean;
  backup: BackupMetadata;
}

/**
 * Stores one backup: refuses sizes over the limits (413) before anything else, reserves quota
 * and a rate slot, ingests the body (read whole up to BACKUP_BUFFERED_UPLOAD_MAX, else
 * streamed), commits it to the ledger (which applies retention). Bytes equal to the system's
 * newest backup store nothing and answer with that backup (a retry whose 201 was lost).
 * On failure nothing stays: an unacknowledged object is taken back, the ledger forgets it and
 * the reservation is released. All of it runs under `waitUntil`: a client that hangs up after
 * its last byte cannot cut the entry's write, the commit, a cleanup or the release short.
 */
export function storeUpload(bindings: UploadBindings, req: UploadRequest): Promise<UploadOutcome> {
  const storing = store(bindings, req);
  bindings.waitUntil?.(storing.catch(() => {})); // its outcome is the caller's; here it only has to finish
  return storing;
}

async function store(bindings: UploadBindings, req: UploadRequest): Promise<UploadOutcome> {
  const { bucket, ledger, limits } = bindings;
  const { system } = req;
  checkUploadSize(req.length, limits);
  const filename = sanitiseFilename(req.filename);
  const id = newBackupId(filename);
  const { token, newest } = await reserveUpload(ledger, system, req.length, limits, req.firstOfDayExempt === true);
  // Bytes equal to the newest backup (same size, then same digest) are settled, not stored.
  let repeated: BackupMetadata | null = null;
  const candidate: NewestBackup | null =
    newest && newest.size === req.length
      ? { sha256: newest.sha256, confirm: async () => (repeated = await settleAsRepeat(bindings, system, token, newest)) !== null }
      : null;
  const ingest = req.length <= limits.bufferedUploadMax ? ingestBufferedBackup : ingestBackup;
  let stored: R2Object | null;
  try {
    stored = await ingest(bucket, {
      body: req.body,
      length: req.length,
      key: backupKey(system, id),
      blobKey: blobKey(system, id),
      clientSha256: req.clientSha256,
      contentType: mimeTypeFor(id),
      metadata: { filename, uploader_ip: req.clientAddress, system_id: system.systemId, ...(req.legacyType ? { legacy_type: req.legacyType } : {}) },
      newest: candidate,
    });
  } catch (err) {
    // R2 may have stored the object and then lost its answer: never acknowledged, it must not stay.
    // Only the object under the backup key: a split backup's entry write may still land after
    // this, and must then find its bytes; a blob no entry records goes with the daily reconciliation.
    if (err instanceof StorageUnavailableError) await takeBack(bucket, system, id, [backupKey(system, id)]);
    await releaseUpload(ledger, system, token);
    throw err;
  }
  if (stored === null) return { created: false, backup: repeated! };
  const backup = toBackupMetadata(stored, systemPrefix(system))!;
  let committed: Awaited<ReturnType<typeof commitUpload>>;
  try {
    committed = await commitUpload(ledger, system, token, backup, limits);
  } catch (err) {
    // Unrecorded in the ledger, the object would escape quota and retention: take it back.
    await takeBack(bucket, system, id);
    await forgetBackup(ledger, system, id).catch((e) => log.error("rollback of uncommitted backup failed", { system: system.systemKey, id, error: e }));
    await releaseUpload(ledger, system, token);
    throw err;
  }
  if (committed.stored) return { created: true, backup };
  // A concurrent identical upload committed first: this copy goes, the answer is that backup.
  await takeBack(bucket, system, id);
  return { created: false, backup: await existingBackup(bucket, system, committed.newest) };
}

/** Refuses (413) a declared size over the upload limit or the per-system limit, before anything is read or reserved. */
export function checkUploadSize(length: number, limits: Limits): void {
  if (length > limits.maxUploadSize) throw new ApiError(413, "backup exceeds the maximum upload size");
  if (length > limits.maxSizePerSystem) throw new ApiError(413, "backup exceeds the per-system storage limit");
}

/**
 * Settles an upload whose bytes are the newest backup's: that backup's metadata (one R2 head)
 * when it is still in R2 and still the newest, the reservation dropped; else null, and the upload
 * is stored. A ledger row whose object is gone (a delete whose ledger update was lost) is dropped.
 */
async function settleAsRepeat(bindings: UploadBindings, system: AuthenticatedSystem, token: string, newest: LedgerNewest): Promise<BackupMetadata | null> {
  const backup = await readBackupMetadata(bindings.bucket, system, newest.id);
  if (!backup) {
    await forgetBackup(bindings.ledger, system, newest.id);
    return null;
  }
  return (await settleRepeat(bindings.ledger, system, token, newest.id)) ? backup : null;
}

/** The metadata of a backup the ledger holds (one R2 head); 503 if it vanished meanwhile, so the client retries. */
async function existingBackup(bucket: R2Bucket, system: AuthenticatedSystem, id: string): Promise<BackupMetadata> {
  const backup = await readBackupMetadata(bucket, system, id);
  if (!backup) throw new StorageUnavailableError("head", new Error(`the newest backup ${id} vanished`));
  return backup;
}

/** Deletes a backup the client was never told about, by default entry and blob (best effort; the ledger's reconciliation catches a miss). */
async function takeBack(bucket: R2Bucket, system: AuthenticatedSystem, id: string, keys = backupKeys(system, id)): Promise<void> {
  await deleteObjects(bucket, keys).catch((e) =>
    log.error("removal of an unacknowledged backup failed", { system: system.systemKey, id, error: e }),
  );
}
