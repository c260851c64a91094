// The system-secret scheme shared by the worker and the operator CLI.
// Self-contained on purpose (Web Crypto only, no imports): Node 22 loads this file
// directly for `npm run system`, and the worker bundles it.

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

/** Checks a record's shape (all fields, allowlisted ids, a well-formed salted hash); returns a list of problems. */
export function recordProblems(record: unknown): string[] {
  if (typeof record !== "object" || record === null || Array.isArray(record)) return ["record is not a JSON object"];
  const r = record as Record<string, unknown>;
  const problems: string[] = [];
  const isString = (v: unknown) => typeof v === "string" && v.length > 0;
  const isNullableTime = (v: unknown) => v === null || v === undefined || (typeof v === "string" && !Number.isNaN(Date.parse(v)));
  if (!isString(r.system_id)) problems.push("system_id must be a non-empty string");
  if (typeof r.organization_id !== "string" || !ORGANIZATION_ID_PATTERN.test(r.organization_id))
    problems.push("organization_id must match " + ORGANIZATION_ID_PATTERN.source);
  if (typeof r.secret_public !== "string" || !PUBLIC_PART_PATTERN.test(r.secret_public))
    problems.push("secret_public must match " + PUBLIC_PART_PATTERN.source);
  if (typeof r.secret_sha256 !== "string" || !SALTED_HASH_PATTERN.test(r.secret_sha256))
    problems.push("secret_sha256 must be '<hex salt>:<64 hex digits>'");
  for (const field of ["registered_at", "suspended_at", "deleted_at"] as const)
    if (!isNullableTime(r[field])) problems.push(`${field} must be null or an RFC 3339 time`);
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
    registered_at: now.toISOString().replace(/\.\d{3}Z$/, "Z"),
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

function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

export function bytesToHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function base64Url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
