// The operator-token scheme, shared by the worker and the operator CLI (so it imports only
// files with explicit `.ts` extensions). A token is `op_<public>.<secret>`: the public part
// finds the record, the secret part (256 random bits) is checked against a salted SHA-256.

import { base64Url, bytesToHex, hexToBytes } from "../platform/codec.ts";
import { rfc3339 } from "../platform/time.ts";
import { digestsEqual, hashSecretPart, ORGANIZATION_ID_PATTERN } from "./secret.ts";

/** What a token may do; each role includes the ones before it. */
export const OPERATOR_ROLES = ["reader", "manager", "admin"] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

/** An operator token as stored (D1 `operator_tokens`); never holds the clear secret. */
export interface OperatorTokenRecord {
  public_id: string;
  name: string;
  role: OperatorRole;
  /** `*` for every organisation, else the organisation ids in scope. */
  organizations: string[] | "*";
  /** `<hex salt>:<hex SHA-256 of (salt bytes ‖ secret part)>` */
  secret_sha256: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

/** Names are shown in the audit trail and given to `token revoke`: printable, no quotes or slashes. */
export const OPERATOR_TOKEN_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 ._@+-]{0,63}$/;
const PUBLIC_ID_PATTERN = /^[0-9a-f]{16}$/;
const SECRET_PART_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** Longest Authorization value worth parsing: `Bearer op_` + 16 + `.` + 43 characters, with room. */
export const MAX_BEARER_LENGTH = 256;

// Unknown public parts are checked against this decoy, so they cost the same work as known ones.
const DECOY_HASH = `${"a5".repeat(16)}:${"0".repeat(64)}`;

/** Splits `op_<public>.<secret>`; null for any other shape. */
export function parseOperatorToken(token: string): { publicId: string; secretPart: string } | null {
  const m = /^op_([^.]+)\.(.+)$/.exec(token);
  if (!m || !PUBLIC_ID_PATTERN.test(m[1]) || !SECRET_PART_PATTERN.test(m[2])) return null;
  return { publicId: m[1], secretPart: m[2] };
}

/** The token in `Authorization: Bearer <token>`, or null when the header is absent or has another shape. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header || header.length > MAX_BEARER_LENGTH) return null;
  const m = /^bearer +(\S+) *$/i.exec(header);
  return m ? m[1] : null;
}

/**
 * True only when the token matches the record and the record is live (not revoked, not expired at
 * `now`). With a null record the same hashing and 32-byte comparison run against a decoy.
 */
export async function verifyOperatorToken(record: OperatorTokenRecord | null, token: string, now = Date.now()): Promise<boolean> {
  const parts = parseOperatorToken(token);
  const [salt, expectedHex] = (record?.secret_sha256 ?? DECOY_HASH).split(":");
  const actualHex = await hashSecretPart(parts?.secretPart ?? token.slice(0, 43).padEnd(43, "_"), salt);
  const hashMatches = digestsEqual(hexToBytes(actualHex), hexToBytes(expectedHex));
  return hashMatches && parts !== null && record !== null && record.public_id === parts.publicId && isLive(record, now);
}

/** Not revoked, and not past its expiry. */
export function isLive(record: OperatorTokenRecord, now = Date.now()): boolean {
  return !record.revoked_at && (!record.expires_at || Date.parse(record.expires_at) > now);
}

/** True when a token of role `held` may do what `needed` allows. */
export function roleAllows(held: OperatorRole, needed: OperatorRole): boolean {
  return OPERATOR_ROLES.indexOf(held) >= OPERATOR_ROLES.indexOf(needed);
}

/** True when the organisation lies in the token's scope. */
export function inScope(record: Pick<OperatorTokenRecord, "organizations">, organizationId: string): boolean {
  return record.organizations === "*" || record.organizations.includes(organizationId);
}

export interface NewOperatorToken {
  name: string;
  role: OperatorRole;
  organizations: string[] | "*";
  /** Days until expiry; null or undefined for a token that does not expire. */
  expiresDays?: number | null;
}

/** The longest expiry a new token may be given, in days (the CLI's `--expires-days`, the API's `expires_days`). */
export const MAX_TOKEN_EXPIRES_DAYS = 99_999;
/** The most organisations one token's scope may list. */
export const MAX_TOKEN_ORGANIZATIONS = 1000;

/**
 * Why a new token's name, role or scope is refused, or null when they are valid: the one check
 * behind `token create` (CLI) and `POST /api/admin/tokens`, so both refuse the same things.
 */
export function newOperatorTokenProblem(spec: { name: unknown; role: unknown; organizations: unknown }): string | null {
  if (typeof spec.name !== "string" || !OPERATOR_TOKEN_NAME_PATTERN.test(spec.name))
    return `invalid token name ${JSON.stringify(spec.name ?? null)}: it must match ${OPERATOR_TOKEN_NAME_PATTERN.source}`;
  if (!OPERATOR_ROLES.includes(spec.role as OperatorRole)) return `invalid role ${JSON.stringify(spec.role ?? null)}: one of ${OPERATOR_ROLES.join(", ")}`;
  const orgs = spec.organizations;
  if (orgs === "*") return null;
  if (!Array.isArray(orgs) || orgs.length === 0 || orgs.length > MAX_TOKEN_ORGANIZATIONS)
    return `organizations must be "*" or a list of 1 to ${MAX_TOKEN_ORGANIZATIONS} organization ids`;
  const bad = orgs.find((o) => typeof o !== "string" || !ORGANIZATION_ID_PATTERN.test(o));
  if (bad !== undefined) return `invalid organization id ${JSON.stringify(bad)}: it must match ${ORGANIZATION_ID_PATTERN.source}`;
  return null;
}

/** Makes a token: the clear `op_…` value (shown once) and the record that keeps only its salted hash. */
export async function generateOperatorToken(spec: NewOperatorToken, now = new Date()): Promise<{ token: string; record: OperatorTokenRecord }> {
  const publicId = bytesToHex(crypto.getRandomValues(new Uint8Array(8)));
  const secretPart = base64Url(crypto.getRandomValues(new Uint8Array(32)));
  const salt = bytesToHex(crypto.getRandomValues(new Uint8Array(16)));
  const expires = spec.expiresDays ? new Date(now.getTime() + spec.expiresDays * 86_400_000) : null;
  const record: OperatorTokenRecord = {
    public_id: publicId,
    name: spec.name,
    role: spec.role,
    organizations: spec.organizations === "*" ? "*" : [...new Set(spec.organizations)].sort(),
    secret_sha256: `${salt}:${await hashSecretPart(secretPart, salt)}`,
    created_at: rfc3339(now),
    expires_at: expires ? rfc3339(expires) : null,
    revoked_at: null,
  };
  return { token: `op_${publicId}.${secretPart}`, record };
}

/** `live`, `revoked` or `expired` (at `now`), as `token list` and `GET /api/admin/tokens` show it. */
export function operatorTokenStatus(record: Pick<OperatorTokenRecord, "revoked_at" | "expires_at">, now = Date.now()): "live" | "revoked" | "expired" {
  if (record.revoked_at) return "revoked";
  return record.expires_at && Date.parse(record.expires_at) <= now ? "expired" : "live";
}

/** What `token create --json` prints, and `token list` (without the token). */
export function operatorTokenView(record: OperatorTokenRecord) {
  return {
    name: record.name,
    role: record.role,
    organizations: record.organizations,
    created_at: record.created_at,
    expires_at: record.expires_at,
    revoked_at: record.revoked_at,
  };
}
