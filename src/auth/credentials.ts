import { withDeadline } from "../deadline";
import { UnavailableError } from "../http/errors";
import { hashSecretPart, hexToBytes, parseSystemSecret, recordProblems, SYSTEM_KEY_PATTERN, type SystemRecord } from "./secret";

/** The system a request authenticated as; everything downstream derives from this, never from the request. */
export interface AuthenticatedSystem {
  systemKey: string;
  systemId: string;
  organizationId: string;
  appendOnly: boolean;
}

// KV's edge cache for credential reads: the lowest value KV accepts. It bounds how long a
// suspension or rotation can take to be seen, on top of KV's own propagation (README).
export const CREDENTIAL_CACHE_TTL_SECONDS = 30;

/** How long the credential read may take before the request is answered 503. */
export const KV_DEADLINE_MS = 10_000;

// Used for unknown keys so that they cost the same hashing and comparison as known ones.
const DECOY_SALT = "5a17".repeat(8);
const DECOY_DIGEST = "0".repeat(64);

/**
 * Reads the credential record of a system key. Returns null when there is none or it is
 * malformed (logged); throws UnavailableError when KV itself fails.
 */
export async function readSystemRecord(kv: KVNamespace, systemKey: string): Promise<SystemRecord | null> {
  if (!SYSTEM_KEY_PATTERN.test(systemKey)) return null;
  let raw: string | null;
  try {
    raw = await withDeadline("KV get", KV_DEADLINE_MS, () => kv.get(systemKey, { type: "text", cacheTtl: CREDENTIAL_CACHE_TTL_SECONDS }));
  } catch (err) {
    throw new UnavailableError("authentication service unavailable", err);
  }
  if (raw === null) return null;
  let record: unknown;
  try {
    record = JSON.parse(raw);
  } catch {
    record = undefined;
  }
  const problems = recordProblems(record);
  if (problems.length > 0) {
    console.error(JSON.stringify({ level: "error", event: "malformed credential record", system: systemKey, problems }));
    return null;
  }
  return record as SystemRecord;
}

/**
 * Checks a secret against a record (or against a decoy when the record is null), doing the
 * same hashing and constant-time comparison either way. True only for an active system
 * whose public part and salted hash both match.
 */
export async function verifySystemSecret(record: SystemRecord | null, secret: string): Promise<boolean> {
  const parts = parseSystemSecret(secret);
  const [salt, expectedHex] = record ? record.secret_sha256.split(":") : [DECOY_SALT, DECOY_DIGEST];
  const actualHex = await hashSecretPart(parts?.secretPart ?? secret, salt);
  const hashMatches = crypto.subtle.timingSafeEqual(hexToBytes(actualHex), hexToBytes(expectedHex));
  const active = record !== null && !!record.registered_at && !record.suspended_at && !record.deleted_at;
  const publicMatches = record !== null && parts !== null && parts.publicPart === record.secret_public;
  return hashMatches && active && publicMatches && parts !== null;
}

/** The authenticated view of a verified record. */
export function toAuthenticatedSystem(systemKey: string, record: SystemRecord): AuthenticatedSystem {
  return {
    systemKey,
    systemId: record.system_id,
    organizationId: record.organization_id,
    appendOnly: record.append_only === true,
  };
}
