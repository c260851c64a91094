// The only place object keys are built. Every key derives from the authenticated record
// (organisation and system key, both allowlisted when the record was read) and, for a single
// backup, from an id that passed the allowlist: nothing else from the request reaches a key.

/** Whose objects a key belongs to: the organisation and system key of an authenticated record. */
export interface SystemScope {
  organizationId: string;
  systemKey: string;
}

/** `{organization_id}/{system_key}/`: the system's own prefix. */
export function systemPrefix(system: SystemScope): string {
  return `${system.organizationId}/${system.systemKey}/`;
}

/** `{organization_id}/`: every system of an organisation (used to rebuild the quota ledger). */
export function organizationPrefix(organizationId: string): string {
  return `${organizationId}/`;
}

/** The object key of one backup of the system. */
export function backupKey(system: SystemScope, id: string): string {
  return systemPrefix(system) + id;
}

/**
 * Where the bytes of a large backup stored without a client digest live: the object under its
 * backup key is then an entry of no bytes that carries its metadata (digest and size), written
 * once the bytes are stored and hashed. Outside every system prefix, so never listed.
 */
export const BLOB_PREFIX = ".blobs/";

/** The key of the bytes of the backup stored under `key` when it is split (see BLOB_PREFIX). */
export function blobKeyOf(key: string): string {
  return BLOB_PREFIX + key;
}

/** Every key one backup of the system may occupy (its object, and its blob when split): what a removal deletes, in one call. */
export function backupKeys(system: SystemScope, id: string): string[] {
  const key = backupKey(system, id);
  return [key, blobKeyOf(key)];
}

/** The blob key of one backup of the system. */
export function blobKey(system: SystemScope, id: string): string {
  return blobKeyOf(backupKey(system, id));
}

/** Where a system's split backups keep their bytes (a purge or a move clears what is left there). */
export function systemBlobPrefix(system: SystemScope): string {
  return BLOB_PREFIX + systemPrefix(system);
}

/** Where removed backups wait out the recovery window; outside every system prefix (docs/recovery.md). */
export const RECOVERY_PREFIX = ".recovery/";

/** The recovery key of one removed backup of the system: `.recovery/{organization_id}/{system_key}/{id}`. */
export function recoveryKey(system: SystemScope, id: string): string {
  return RECOVERY_PREFIX + backupKey(system, id);
}

/**
 * The record of a purged system (no secret), keyed by the system key alone so that an undo can
 * find its organisation: `.recovery/.systems/{system_key}` (no organisation id starts with `.`).
 */
export function purgedSystemKey(systemKey: string): string {
  return `${RECOVERY_PREFIX}.systems/${systemKey}`;
}
