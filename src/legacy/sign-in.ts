// Who a legacy request is: the legacy id and secret checked in the deployment's mode (imported:
// the record's salted hash; delegated: LEGACY_AUTH_URL), and enrolment on first contact of a
// system the delegate accepts but the vault does not know (LEGACY_ENROL_ORG).

import { createSystemRecord } from "../admin/system-records";
import { askDelegate, type Fetcher } from "../auth/legacy-delegate";
import { readLegacyEntry, stateVerdict } from "../auth/legacy-credentials";
import { verifyLegacySecret, type LegacyIndexEntry, type LegacyVerdict } from "../auth/secret";
import type { LegacyAuthConfig } from "../config";

/** What a legacy sign-in needs: the stores, the deployment's mode, and an HTTP client for the delegate. */
export interface SignInDeps {
  kv: KVNamespace;
  db: D1Database;
  config: LegacyAuthConfig;
  fetcher?: Fetcher;
  clientIp: string;
}

/** The verdict, and the system's index entry when there is one (it says which system a refusal was for). */
export interface SignInResult {
  verdict: LegacyVerdict;
  entry: LegacyIndexEntry | null;
  /** True when this request enrolled the system. */
  enrolled?: boolean;
}

/**
 * Checks legacy credentials. Imported mode: one KV read (the legacy index entry) and the salted
 * hash, with the same work for an unknown id. Delegated mode: the same read, and the delegate
 * (or its cached answer) for the secret; UnavailableError (503) when the delegate cannot answer.
 */
export async function signInLegacy(deps: SignInDeps, legacyId: string, secret: string, authorization: string): Promise<SignInResult> {
  const entry = await readLegacyEntry(deps.kv, legacyId);
  const { delegateUrl } = deps.config;
  if (delegateUrl === null) return { verdict: await verifyLegacySecret(entry?.record ?? null, secret), entry };
  // Asked for unknown ids too, so an unknown id costs what a known one does.
  const vouched = await askDelegate({ ...deps.config, delegateUrl }, legacyId, secret, authorization, deps.fetcher);
  if (!vouched) return { verdict: "invalid", entry };
  if (entry) return { verdict: stateVerdict(entry.record), entry };
  if (deps.config.enrolOrganization === null) return { verdict: "invalid", entry: null };
  return { verdict: "valid", entry: await enrol(deps, deps.config.enrolOrganization, legacyId), enrolled: true };
}

/**
 * Enrols a system the delegate vouched for: a new system key in `organizationId` whose `system_id`
 * is the legacy id (audited `system.enrol`). Its appliance secret is never shown; the appliance
 * gets one from `GET /proxy/credentials` when it moves to the appliance API.
 */
async function enrol(deps: SignInDeps, organizationId: string, legacyId: string): Promise<LegacyIndexEntry> {
  const actor = { name: `legacy:${legacyId}`, clientIp: deps.clientIp };
  const { systemKey, record } = await createSystemRecord({ kv: deps.kv, db: deps.db }, actor, organizationId, false, { systemId: legacyId, action: "system.enrol" });
  return { system_key: systemKey, record };
}
