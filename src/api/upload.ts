// The upload use case: reserve → ingest → commit, and the undo of each step in the right order.
// Callable without HTTP: it takes the bindings and an already-parsed request.

import type { AuthenticatedSystem } from "../auth/credentials";
import { mimeTypeFor, newBackupId, sanitiseFilename } from "../backups/ids";
import { ingestBackup } from "../backups/ingest";
import { backupKey, stagingKey, systemPrefix } from "../backups/keys";
import { deleteObjects, toBackupMetadata, type BackupMetadata } from "../backups/store";
import type { Limits } from "../config";
import { ApiError, StorageUnavailableError } from "../errors";
import { commitUpload, forgetBackup, releaseUpload, reserveUpload } from "../ledger/client";
import type { OrgLedger } from "../ledger/org-ledger";
import { log } from "../platform/log";

/** The bindings an upload needs. */
export interface UploadBindings {
  bucket: R2Bucket;
  ledger: DurableObjectNamespace<OrgLedger>;
  limits: Limits;
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
}

/**
 * Stores one backup: refuses sizes over the limits (413) before anything else, reserves quota
 * and a rate slot, ingests the body, commits it to the ledger (which applies retention).
 * On failure nothing stays: an unacknowledged object is taken back, the ledger forgets it and
 * the reservation is released.
 */
export async function storeUpload(bindings: UploadBindings, req: UploadRequest): Promise<BackupMetadata> {
  const { bucket, ledger, limits } = bindings;
  const { system } = req;
  checkUploadSize(req.length, limits);
  const filename = sanitiseFilename(req.filename);
  const id = newBackupId(filename);
  const token = await reserveUpload(ledger, system, req.length, limits);
  let stored: R2Object;
  try {
    stored = await ingestBackup(bucket, {
      body: req.body,
      length: req.length,
      key: backupKey(system, id),
      stagingKey: stagingKey(system, id),
      clientSha256: req.clientSha256,
      contentType: mimeTypeFor(id),
      metadata: { filename, uploader_ip: req.clientAddress, system_id: system.systemId },
    });
  } catch (err) {
    // R2 may have stored the object and then lost its answer: never acknowledged, it must not stay.
    if (err instanceof StorageUnavailableError) await takeBack(bucket, system, id);
    await releaseUpload(ledger, system, token);
    throw err;
  }
  try {
    await commitUpload(ledger, system, token, id, stored.size, limits);
  } catch (err) {
    // Unrecorded in the ledger, the object would escape quota and retention: take it back.
    await takeBack(bucket, system, id);
    await forgetBackup(ledger, system, id).catch((e) => log.error("rollback of uncommitted backup failed", { system: system.systemKey, id, error: e }));
    await releaseUpload(ledger, system, token);
    throw err;
  }
  return toBackupMetadata(stored, systemPrefix(system))!;
}

/** Refuses (413) a declared size over the upload limit or the per-system limit, before anything is read or reserved. */
export function checkUploadSize(length: number, limits: Limits): void {
  if (length > limits.maxUploadSize) throw new ApiError(413, "backup exceeds the maximum upload size");
  if (length > limits.maxSizePerSystem) throw new ApiError(413, "backup exceeds the per-system storage limit");
}

/** Deletes a backup the client was never told about (best effort; the ledger's reconciliation catches a miss). */
async function takeBack(bucket: R2Bucket, system: AuthenticatedSystem, id: string): Promise<void> {
  await deleteObjects(bucket, backupKey(system, id)).catch((e) =>
    log.error("removal of an unacknowledged backup failed", { system: system.systemKey, id, error: e }),
  );
}
