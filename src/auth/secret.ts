// The credential record and the system-secret scheme, shared by the worker, the operator CLI
// and the tests: the record's shape and checks, the "active" rule, hashing and verification
// exist only here. Web Crypto only, and imports with explicit `.ts` extensions: Node 22 loads
// this file directly for `npm run system`, and the worker bundles it.

import { base64Url, bytesToHex, hexToBytes } from "../platform/codec.ts";
import { rfc3339 } from "../platform/time.ts";

/** A credential record as stored in KV under the system key (the existing backend's format). */
export interface SystemRecord {
  system_id: string;
  organization_id: string;
  secret_public: string;
  /** `<hex salt>:<hex SHA-256 of (salt bytes ‖ secret part)>` */
  secret_sha256: string;
  registered_at: string | null;
  suspended_at: string | null;
  deleted_at: string | null;
  /**
   * Set by a purge: the record stays as a tombstone (its secret hash replaced, so the old secret
   * never verifies again) and the key is never reused. Absent or null on every other record.
   */
  purged_at?: string | null;
  /** When true, the system may upload and read but never delete (a leaked credential cannot wipe history). */
  append_only?: boolean;
}

/** System keys are stable identifiers such as `NETH-4cf3053f-…`; they become an object-key segment. */
export const SYSTEM_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Organisation ids become the first object-key segment, so they get the same allowlist. */
export const ORGANIZATION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const PUBLIC_PART_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
const SECRET_PART_PATTERN = /^[\x21-\x7e]{1,512}$/;
const SALTED_HASH_PATTERN = /^([0-9a-f]{2}){1,64}:[0-9a-f]{64}$/;

/** Splits a system secret of the shape `my_<public>.<secret>`; null when it has another shape. */
export function parseSystemSecret(secret: string): { publicPart: string; secretPart: string } | null {
  if (!secret.startsWith("my_")) return null;
  const dot = secret.indexOf(".", 3);
  if (dot < 0) return null;
  const publicPart = secret.slice(3, dot);
  const secretPart = secret.slice(dot + 1);
  if (!PUBLIC_PART_PATTERN.test(publicPart) || !SECRET_PART_PATTERN.test(secretPart)) return null;
  return { publicPart, secretPart };
}

/** Hex SHA-256 of (salt bytes ‖ UTF-8 secret part): the existing backend's scheme. */
export async function hashSecretPart(secretPart: string, saltHex: string): Promise<string> {
  const salt = hexToBytes(saltHex);
  const secret = new TextEncoder().encode(secretPart);
  const input = new Uint8Array(salt.length + secret.length);
  input.set(salt, 0);
  input.set(secret, salt.length);
  return bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-256", input)));
}

/**
 * Length bounds of a record. `system_id` is stored with every backup as R2 custom metadata
 * (8 KiB per object in production); with these bounds (and the 255-character file name and the
 * 64-character client address) an object's metadata stays under 1 KiB.
 */
export const RECORD_BOUNDS = { systemId: 128, time: 64, recordBytes: 4096 } as const;

/** Checks a record's shape (all fields, allowlisted ids, bounded lengths, a well-formed salted hash); returns a list of problems. */
export function recordProblems(record: unknown): string[] {
  if (typeof record !== "object" || record === null || Array.isArray(record)) return ["record is not a JSON object"];
  const r = record as Record<string, unknown>;
  const problems: string[] = [];
  const size = new TextEncoder().encode(JSON.stringify(record)).length;
  if (size > RECORD_BOUNDS.recordBytes) problems.push(`record must be at most ${RECORD_BOUNDS.recordBytes} bytes of JSON, is ${size}`);
  const isNullableTime = (v: unknown) =>
    v === null || v === undefined || (typeof v === "string" && v.length <= RECORD_BOUNDS.time && !Number.isNaN(Date.parse(v)));
  if (typeof r.system_id !== "string" || !/^[\x21-\x7e]+$/.test(r.system_id) || r.system_id.length > RECORD_BOUNDS.systemId)
    problems.push(`system_id must be 1 to ${RECORD_BOUNDS.systemId} printable ASCII characters`);
  if (typeof r.organization_id !== "string" || !ORGANIZATION_ID_PATTERN.test(r.organization_id))
    problems.push("organization_id must match " + ORGANIZATION_ID_PATTERN.source);
  if (typeof r.secret_public !== "string" || !PUBLIC_PART_PATTERN.test(r.secret_public))
    problems.push("secret_public must match " + PUBLIC_PART_PATTERN.source);
  if (typeof r.secret_sha256 !== "string" || !SALTED_HASH_PATTERN.test(r.secret_sha256))
    problems.push("secret_sha256 must be '<hex salt>:<64 hex digits>'");
  for (const field of ["registered_at", "suspended_at", "deleted_at", "purged_at"] as const)
    if (!isNullableTime(r[field])) problems.push(`${field} must be null or an RFC 3339 time (at most ${RECORD_BOUNDS.time} characters)`);
  if (r.append_only !== undefined && typeof r.append_only !== "boolean") problems.push("append_only must be a boolean");
  return problems;
}

/** Makes a new system: key `NETH-<uuid>`, secret `my_<public>.<secret>` with 256 random bits, and its record. */
export async function generateSystemCredentials(organizationId: string, now = new Date()) {
  const systemKey = `NETH-${crypto.randomUUID()}`;
  const { systemSecret, secretPublic, secretSha256 } = await generateSecret();
  const record: SystemRecord = {
    system_id: crypto.randomUUID(),
    organization_id: organizationId,
    secret_public: secretPublic,
    secret_sha256: secretSha256,
    registered_at: rfc3339(now),
    suspended_at: null,
    deleted_at: null,
    append_only: false,
  };
  return { systemKey, systemSecret, record };
}

/** A fresh secret (for create and rotate): the clear secret, shown once, and what the record keeps. */
export async function generateSecret() {
  const secretPublic = bytesToHex(randomBytes(8));
  const secretPart = base64Url(randomBytes(32)); // 256 bits
  const saltHex = bytesToHex(randomBytes(16));
  const secretSha256 = `${saltHex}:${await hashSecretPart(secretPart, saltHex)}`;
  return { systemSecret: `my_${secretPublic}.${secretPart}`, secretPublic, secretSha256 };
}

/** Where a record stands: only an `active` system may authenticate. */
export type SystemStatus = "active" | "suspended" | "deleted" | "unregistered";

/** The status of a (well-formed) record: deleted wins over suspended, which wins over unregistered. */
export function systemStatus(record: Pick<SystemRecord, "registered_at" | "suspended_at" | "deleted_at">): SystemStatus {
  if (record.deleted_at) return "deleted";
  if (record.suspended_at) return "suspended";
  if (!record.registered_at) return "unregistered";
  return "active";
}

// Used for unknown keys so that they cost the same hashing and comparison as known ones.
const DECOY_SALT = "5a17".repeat(8);
const DECOY_DIGEST = "0".repeat(64);

/**
 * Checks a secret against a record (or against a decoy when the record is null), doing the
 * same hashing and constant-time comparison either way. True only for a well-formed, active
 * record whose public part and salted hash both match.
 */
export async function verifySystemSecret(record: SystemRecord | null, secret: string): Promise<boolean> {
  const wellFormed = record !== null && recordProblems(record).length === 0;
  const parts = parseSystemSecret(secret);
  const [salt, expectedHex] = wellFormed ? record.secret_sha256.split(":") : [DECOY_SALT, DECOY_DIGEST];
  const actualHex = await hashSecretPart(parts?.secretPart ?? secret, salt);
  const hashMatches = digestsEqual(hexToBytes(actualHex), hexToBytes(expectedHex));
  const accepted = wellFormed && parts !== null && parts.publicPart === record.secret_public && systemStatus(record) === "active";
  return hashMatches && accepted;
}

/** Constant-time comparison of two digests: the platform's own where it has one (workerd), else a full XOR pass. */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  const subtle = crypto.subtle as SubtleCrypto & { timingSafeEqual?: (a: Uint8Array, b: Uint8Array) => boolean };
  if (typeof subtle.timingSafeEqual === "function") return subtle.timingSafeEqual(a, b);
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}
