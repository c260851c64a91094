// Reading a system's credential record from KV and checking a request's credentials against it.

import { TIMINGS } from "../config";
import { UnavailableError } from "../errors";
import { withDeadline } from "../platform/deadline";
import { log } from "../platform/log";
import { recordProblems, SYSTEM_KEY_PATTERN, verifySystemSecret, type SystemRecord } from "./secret";

/** The system a request authenticated as; everything downstream derives from this, never from the request. */
export interface AuthenticatedSystem {
  systemKey: string;
  systemId: string;
  organizationId: string;
  appendOnly: boolean;
}

/**
 * Reads the credential record of a system key. Returns null when there is none or it is
 * malformed (logged); throws UnavailableError when KV itself fails. Authentication reads through
 * KV's edge cache; a change to the system (`fresh`) never does: it reads what KV holds now.
 */
export async function readSystemRecord(kv: KVNamespace, systemKey: string, options: { fresh?: boolean } = {}): Promise<SystemRecord | null> {
  if (!SYSTEM_KEY_PATTERN.test(systemKey)) return null;
  let raw: string | null;
  try {
    raw = await withDeadline("KV get", TIMINGS.kvDeadlineMs, () =>
      options.fresh ? kv.get(systemKey, { type: "text" }) : kv.get(systemKey, { type: "text", cacheTtl: TIMINGS.credentialCacheTtlSeconds }),
    );
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
    log.error("malformed credential record", { system: systemKey, problems });
    return null;
  }
  return record as SystemRecord;
}

/**
 * The system behind a key and secret, or null when they do not authenticate (unknown key,
 * malformed or inactive record, wrong secret: all cost the same work and look alike).
 */
export async function checkSystemCredentials(kv: KVNamespace, systemKey: string, secret: string): Promise<AuthenticatedSystem | null> {
  const record = await readSystemRecord(kv, systemKey);
  if (!(await verifySystemSecret(record, secret)) || record === null) return null;
  return {
    systemKey,
    systemId: record.system_id,
    organizationId: record.organization_id,
    appendOnly: record.append_only === true,
  };
}

/** Writes a system's credential record (validated first: nothing invalid is ever written). KV failure → 503. */
export async function writeSystemRecord(kv: KVNamespace, systemKey: string, record: SystemRecord): Promise<void> {
  const problems = recordProblems(record);
  if (problems.length > 0 || !SYSTEM_KEY_PATTERN.test(systemKey)) throw new Error(`refusing to write an invalid record: ${problems.join("; ")}`);
  await kvCall("KV put", () => kv.put(systemKey, JSON.stringify(record)));
}

/** Removes a system's credential record (erasure). KV failure → 503. */
export async function deleteSystemRecord(kv: KVNamespace, systemKey: string): Promise<void> {
  await kvCall("KV delete", () => kv.delete(systemKey));
}

async function kvCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await withDeadline(operation, TIMINGS.kvDeadlineMs, call);
  } catch (err) {
    throw new UnavailableError("credential storage unavailable", err);
  }
}
