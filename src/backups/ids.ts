// Backup ids, file names and content types.

/** The extensions an id can carry, longest first so that `.tar.gz` wins over a bare suffix. */
export const BACKUP_EXTENSIONS = [".tar.gz", ".tar.xz", ".tar.bz2", ".tar.zst", ".gpg", ".bin"] as const;
export type BackupExtension = (typeof BACKUP_EXTENSIONS)[number];

/** A lowercase UUIDv7 plus one allowed extension: the only ids that ever reach storage. */
export const BACKUP_ID_PATTERN =
  /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.(?:tar\.gz|tar\.xz|tar\.bz2|tar\.zst|gpg|bin)$/;

const MIME_TYPES: Record<BackupExtension, string> = {
  ".tar.gz": "application/gzip",
  ".tar.xz": "application/x-xz",
  ".tar.bz2": "application/x-bzip2",
  ".tar.zst": "application/zstd",
  ".gpg": "application/pgp-encrypted",
  ".bin": "application/octet-stream",
};

let lastMillis = 0;
let sequence = 0;

/**
 * A new lowercase UUIDv7 (RFC 9562): 48-bit millisecond time, then a 12-bit counter that keeps
 * ids minted in the same millisecond by this isolate in order, then random bits. A time in the
 * past (or a counter exhausted within one millisecond) gets random counter bits.
 */
export function uuidv7(now = Date.now()): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let counter = ((bytes[6] & 0x0f) << 8) | bytes[7];
  if (now > lastMillis) {
    lastMillis = now;
    sequence = counter & 0x3ff; // start low, leaving headroom for the counter
    counter = sequence;
  } else if (now === lastMillis && sequence < 0xfff) {
    counter = ++sequence;
  }
  const ms = now;
  bytes[0] = Math.floor(ms / 2 ** 40) & 0xff;
  bytes[1] = Math.floor(ms / 2 ** 32) & 0xff;
  bytes[2] = (ms >>> 24) & 0xff;
  bytes[3] = (ms >>> 16) & 0xff;
  bytes[4] = (ms >>> 8) & 0xff;
  bytes[5] = ms & 0xff;
  bytes[6] = 0x70 | (counter >>> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The creation time (ms since the epoch) carried by a UUIDv7-based backup id. */
export function backupIdTime(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/** True when the id is in the allowlist (checked before any storage call). */
export function isBackupId(id: string): boolean {
  return id.length <= 64 && BACKUP_ID_PATTERN.test(id);
}

/**
 * Sanitises the appliance's `X-Filename`: path components stripped, every character outside
 * `A-Z a-z 0-9 . - _` replaced by `_`, cut to 255; a missing name becomes `backup-<uuid>`.
 */
export function sanitiseFilename(raw: string | null | undefined): string {
  const base = (raw ?? "").split(/[/\\]/).pop() ?? "";
  const clean = base.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 255);
  // Nothing left, or only dots ("." / ".."), is no name at all.
  return /^\.*$/.test(clean) ? `backup-${crypto.randomUUID()}` : clean;
}

/** The id extension for a (sanitised) file name: a known archive suffix, else `.bin`. */
export function extensionFor(filename: string): BackupExtension {
  const lower = filename.toLowerCase();
  return BACKUP_EXTENSIONS.find((ext) => ext !== ".bin" && lower.endsWith(ext)) ?? ".bin";
}

/** The content type recorded for a backup, from its id's extension (never the client's header). */
export function mimeTypeFor(id: string): string {
  return MIME_TYPES[BACKUP_EXTENSIONS.find((ext) => id.endsWith(ext)) ?? ".bin"];
}

/** A new backup id for a sanitised file name. */
export function newBackupId(filename: string, now = Date.now()): string {
  return uuidv7(now) + extensionFor(filename);
}
