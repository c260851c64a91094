// Credential records of systems: making, reading, changing and verifying them.
// The secret scheme itself (key and secret shapes, salted hash) lives in src/auth/secret.ts,
// shared with the worker; this module only uses it.
import {
  generateSecret,
  generateSystemCredentials,
  hashLegacySecret,
  LEGACY_SECRET_MAX,
  legacyIndexEntry,
  legacyIndexKey,
  ORGANIZATION_ID_PATTERN,
  recordProblems,
  SYSTEM_KEY_PATTERN,
  systemStatus,
  verifySystemSecret,
} from "../../src/auth/secret.ts";
import { rfc3339 } from "../../src/platform/time.ts";
import { describeTarget } from "./kv.mjs";

/** An operator mistake or a state that forbids the operation; the message is shown as is. */
export class SystemError extends Error {}

/** Now as RFC 3339 UTC without milliseconds, the format of `registered_at`. */
export const rfc3339Now = (now = new Date()) => rfc3339(now);

/** active, suspended, deleted or unregistered: the worker's own rule (src/auth/secret.ts). */
export { systemStatus };

/** What an operator may see of a malformed record: its key, what is wrong, and its organisation if readable (never the hash). */
export function malformedView(systemKey, record, problems) {
  const organization = typeof record?.organization_id === "string" ? record.organization_id : null;
  return { system_key: systemKey, organization_id: organization, status: "malformed", problems };
}

/** What an operator may see of a record: everything but the secret hashes (the system's and the legacy one), plus the key and status. */
export function publicView(systemKey, record) {
  const { secret_sha256: _hash, legacy_secret_sha256: _legacyHash, ...rest } = record;
  return {
    system_key: systemKey,
    system_id: rest.system_id,
    organization_id: rest.organization_id,
    status: systemStatus(record),
    append_only: rest.append_only === true,
    ...rest,
  };
}

/** The credentials shown once, at create and rotate. */
export function credentialsView(systemKey, systemSecret, record) {
  return { system_key: systemKey, system_secret: systemSecret, system_id: record.system_id, organization_id: record.organization_id };
}

/** Throws unless `key` could be a system key (so that it can never smuggle a flag or a path into wrangler). */
export function checkSystemKey(key) {
  if (!SYSTEM_KEY_PATTERN.test(key)) throw new SystemError(`not a system key: ${JSON.stringify(key)} (expected something like NETH-<uuid>)`);
}

/**
 * Reads the record of `systemKey` as the worker would judge it: `{record, problems}`, where
 * `problems` (from the worker's own recordProblems) is empty for a well-formed record and
 * `record` is null when the stored value is not JSON. Throws when there is no record.
 */
export async function inspectRecord(kv, systemKey) {
  checkSystemKey(systemKey);
  const stored = await kv.get(systemKey);
  if (stored === null) throw new SystemError(`unknown system key ${systemKey} in ${describeTarget(kv.target)}`);
  return inspectStoredRecord(stored);
}

/** A stored value judged by the worker's rules: `{record, problems}` (record null when it is not JSON). */
export function inspectStoredRecord(stored) {
  let record;
  try {
    record = JSON.parse(stored);
  } catch {
    return { record: null, problems: ["record is not valid JSON"] };
  }
  return { record, problems: recordProblems(record) };
}

/** Reads the record of `systemKey` to change it; throws when there is none or the worker would reject it as malformed. */
export async function loadRecord(kv, systemKey) {
  const { record, problems } = await inspectRecord(kv, systemKey);
  if (problems.length > 0)
    throw new SystemError(`the record of ${systemKey} is malformed (${problems.join("; ")}); the worker refuses it, and only \`delete ${systemKey} --purge\` can remove it`);
  return record;
}

/**
 * Validates and writes a record and its legacy index entry (`legacy:<system_id>`, a copy of the record,
 * as the worker writes it: src/auth/credentials.ts). Nothing invalid is ever written, whatever the command did to it.
 */
export async function saveRecord(kv, systemKey, record) {
  const problems = recordProblems(record);
  if (problems.length > 0) throw new SystemError(`refusing to write an invalid record for ${systemKey}: ${problems.join("; ")}`);
  // One wrangler run for both (a bulk put), so a record change costs the CLI no more time than before.
  await kv.bulkPut(recordEntries([{ systemKey, record }]));
}

/** The KV entries of records to write in one bulk put: each record and its legacy index entry. */
export function recordEntries(records) {
  return records.flatMap(({ systemKey, record }) => [
    { key: legacyIndexKey(record.system_id), value: JSON.stringify(legacyIndexEntry(systemKey, record)) },
    { key: systemKey, value: JSON.stringify(record) },
  ]);
}

/**
 * Replaces an imported record's clear `legacy_secret` (the older service's secret, or NethServer 8's
 * auth token) by its salted hash, `legacy_secret_sha256`: the clear secret is never stored.
 */
export async function hashImportedLegacySecret(value) {
  if (typeof value !== "object" || value === null || Array.isArray(value) || !("legacy_secret" in value)) return { value, problem: null };
  const { legacy_secret: secret, ...rest } = value;
  if (typeof secret !== "string" || secret.length === 0 || secret.length > LEGACY_SECRET_MAX || /[\x00-\x1f\x7f]/.test(secret))
    return { value: rest, problem: `legacy_secret must be 1 to ${LEGACY_SECRET_MAX} characters without control characters` };
  return { value: { ...rest, legacy_secret_sha256: await hashLegacySecret(secret) }, problem: null };
}

/** Makes a new system in `organizationId` and stores its record; returns the clear credentials (shown once). */
export async function createSystem(kv, organizationId, { appendOnly = false } = {}) {
  if (!ORGANIZATION_ID_PATTERN.test(organizationId))
    throw new SystemError(`invalid organization id ${JSON.stringify(organizationId)}: it must match ${ORGANIZATION_ID_PATTERN.source}`);
  const { systemKey, systemSecret, record } = await generateSystemCredentials(organizationId);
  record.append_only = appendOnly;
  await saveRecord(kv, systemKey, record);
  return { systemKey, systemSecret, record };
}

/** Replaces the secret of a system, keeping everything else; returns the new clear secret (shown once). */
export async function rotateSecret(kv, systemKey) {
  const record = await loadRecord(kv, systemKey);
  refuseIfDeleted(systemKey, record);
  const { systemSecret, secretPublic, secretSha256 } = await generateSecret();
  const rotated = { ...record, secret_public: secretPublic, secret_sha256: secretSha256 };
  await saveRecord(kv, systemKey, rotated);
  return { systemKey, systemSecret, record: rotated };
}

/**
 * Applies `change(record)` (which returns the changed record, or null when there is nothing to do)
 * and writes the result. Returns {record, changed}.
 */
export async function updateRecord(kv, systemKey, change, { allowDeleted = false } = {}) {
  const record = await loadRecord(kv, systemKey);
  if (!allowDeleted) refuseIfDeleted(systemKey, record);
  const changed = change(record);
  if (changed === null) return { record, changed: false };
  await saveRecord(kv, systemKey, changed);
  return { record: changed, changed: true };
}

function refuseIfDeleted(systemKey, record) {
  if (record.deleted_at)
    throw new SystemError(`${systemKey} was deleted at ${record.deleted_at}; a deleted system cannot be changed (delete --purge removes its record)`);
}

/** True when the worker would accept `systemSecret` for this record: active, same public part, same salted hash. */
export async function secretVerifies(record, systemSecret) {
  return verifySystemSecret(record, systemSecret);
}

/**
 * Reads an export of the existing backend: a JSON object mapping system key → record, or an array
 * of records each carrying `system_key`. Returns {records: [{systemKey, record}], problems: [string]};
 * every record is checked, and any problem means nothing may be written.
 */
export function parseImport(parsed) {
  const records = [];
  const problems = [];
  const seen = new Set();
  const add = (label, systemKey, value) => {
    if (typeof systemKey !== "string" || !SYSTEM_KEY_PATTERN.test(systemKey)) {
      problems.push(`${label}: system_key must match ${SYSTEM_KEY_PATTERN.source}`);
      return;
    }
    if (seen.has(systemKey)) problems.push(`${label}: ${systemKey} appears more than once`);
    seen.add(systemKey);
    let record = value;
    if (typeof value === "object" && value !== null && !Array.isArray(value) && "system_key" in value) {
      const { system_key: inner, ...rest } = value;
      if (inner !== systemKey) problems.push(`${label}: system_key ${JSON.stringify(inner)} inside the record differs`);
      record = rest;
    }
    for (const problem of recordProblems(record)) problems.push(`${label}: ${problem}`);
    records.push({ systemKey, record });
  };
  if (Array.isArray(parsed)) {
    parsed.forEach((item, index) => {
      if (typeof item !== "object" || item === null || Array.isArray(item)) problems.push(`[${index}]: not a JSON object`);
      else if (item.system_key === undefined) problems.push(`[${index}]: system_key is missing`);
      else add(`[${index}] ${item.system_key}`, item.system_key, item);
    });
  } else if (typeof parsed === "object" && parsed !== null) {
    for (const [key, value] of Object.entries(parsed)) add(key, key, value);
  } else {
    problems.push("expected a JSON object {system_key: record} or an array of records with a system_key field");
  }
  if (problems.length === 0 && records.length === 0) problems.push("no records in the file");
  return { records, problems };
}
