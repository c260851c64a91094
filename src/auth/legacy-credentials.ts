// Legacy credentials (the older service's protocol, docs/api/legacy.md): the user name is the
// record's `system_id`, found through the legacy index (`legacy:<system_id>` in KV, a copy of the
// record: one KV read a request, as for an appliance request). The secret is checked either
// against the imported salted hash (imported mode) or by the delegate (legacy-delegate.ts).

import { TIMINGS } from "../config";
import { UnavailableError } from "../errors";
import { withDeadline } from "../platform/deadline";
import type { AuthenticatedSystem } from "./credentials";
import { legacyIndexKey, parseLegacyIndexEntry, RECORD_BOUNDS, systemStatus, type LegacyIndexEntry, type LegacyVerdict, type SystemRecord } from "./secret";

/** A legacy id is a record's `system_id`: printable ASCII, bounded (anything else is never looked up). */
export function isLegacyId(id: string): boolean {
  return id.length <= RECORD_BOUNDS.systemId && /^[\x21-\x7e]+$/.test(id);
}

/**
 * The legacy index entry of a legacy id (one KV read, edge-cached like credential records), or
 * null when there is none or it is malformed; UnavailableError (503) when KV fails.
 */
export async function readLegacyEntry(kv: KVNamespace, legacyId: string): Promise<LegacyIndexEntry | null> {
  if (!isLegacyId(legacyId)) return null;
  let raw: string | null;
  try {
    raw = await withDeadline("KV get", TIMINGS.kvDeadlineMs, () =>
      kv.get(legacyIndexKey(legacyId), { type: "text", cacheTtl: TIMINGS.credentialCacheTtlSeconds }),
    );
  } catch (err) {
    throw new UnavailableError("authentication service unavailable", err);
  }
  const entry = parseLegacyIndexEntry(raw);
  // An entry is only trusted for the id it is filed under.
  return entry && entry.record.system_id === legacyId ? entry : null;
}

/** The system an index entry names, as the routes see an authenticated caller. */
export function authenticatedFromEntry(entry: { system_key: string; record: SystemRecord }): AuthenticatedSystem {
  return {
    systemKey: entry.system_key,
    systemId: entry.record.system_id,
    organizationId: entry.record.organization_id,
    appendOnly: entry.record.append_only === true,
  };
}

/** The verdict for an entry whose secret was vouched for (by the delegate): its state decides. */
export function stateVerdict(record: SystemRecord): LegacyVerdict {
  const status = systemStatus(record);
  return status === "active" ? "valid" : status;
}
