// Test helpers for the older service's protocol: systems with imported legacy credentials
// (written by the worker's own record write, so the legacy index entry is there too) and a
// client that calls the legacy paths as the released curl command lines do.

import { env } from "cloudflare:workers";
import { writeSystemRecord } from "../../src/auth/credentials";
import { hashLegacySecret, type SystemRecord } from "../../src/auth/secret";
import { basicAuthorization, newSystem, send, type Overrides, type TestSystem } from "./helpers";

export const ORIGIN = "https://vault.test";

export interface LegacySystem extends TestSystem {
  legacyId: string;
  legacySecret: string;
  legacyAuthorization: string;
}

/** A system whose record carries a legacy id and the salted hash of a legacy secret (imported mode). */
export async function newLegacySystem(options: { org?: string; record?: Partial<SystemRecord>; legacySecret?: string | null } = {}): Promise<LegacySystem> {
  const legacyId = `legacy-${crypto.randomUUID()}`;
  const legacySecret = options.legacySecret === undefined ? `s3cret-${crypto.randomUUID()}` : (options.legacySecret ?? "");
  const system = await newSystem({ org: options.org });
  const record: SystemRecord = { ...system.record, system_id: legacyId, ...options.record };
  if (options.legacySecret !== null) record.legacy_secret_sha256 = await hashLegacySecret(legacySecret);
  await writeSystemRecord(env.SYSTEMS, system.key, record);
  return { ...system, record, legacyId, legacySecret, legacyAuthorization: basicAuthorization(legacyId, legacySecret) };
}

/** A client of the older protocol for one system, with the released clients' request shapes. */
export function legacyClient(system: Pick<LegacySystem, "legacyAuthorization">, options: { type?: string; overrides?: Overrides; authorization?: string } = {}) {
  const base = `${ORIGIN}/${options.type ?? "enterprise"}/api/v2/backup/`;
  const auth = { Authorization: options.authorization ?? system.legacyAuthorization };
  const o = options.overrides;
  return {
    base,
    /** `curl --silent --location-trusted --user ID:SECRET URL` */
    list: () => send(new Request(base, { headers: auth }), o),
    /** `curl --upload-file F URL/`: PUT to URL/F's base name, Content-Length, `Expect: 100-continue`, no Content-Type. */
    put: (bytes: Uint8Array | string, name: string, headers: Record<string, string> = {}) => {
      const body = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
      return send(new Request(base + name, { method: "PUT", body, headers: { ...auth, "Content-Length": String(body.byteLength), Expect: "100-continue", ...headers } }), o);
    },
    /** `curl … URL/{id} -J -o OUT` */
    download: (id: string, headers: Record<string, string> = {}) => send(new Request(base + id, { headers: { ...auth, ...headers } }), o),
    /** `curl … -X DELETE URL/{id}` */
    remove: (id: string) => send(new Request(base + id, { method: "DELETE", headers: auth }), o),
    /** `curl … -X POST -H "Content-Type: application/octet-stream" -H "X-Filename: NAME" --data-binary @F …/proxy/backup` */
    proxyUpload: (bytes: Uint8Array | string, name: string) => {
      const body = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
      return send(
        new Request(`${ORIGIN}/proxy/backup`, {
          method: "POST",
          body,
          headers: { ...auth, "Content-Type": "application/octet-stream", "X-Filename": name, "Content-Length": String(body.byteLength) },
        }),
        o,
      );
    },
    /** `curl --silent --location-trusted --fail-with-body --max-time 30 --retry 2 --user LEGACY_ID:LEGACY_SECRET …/proxy/credentials` */
    credentials: () => send(new Request(`${ORIGIN}/proxy/credentials`, { headers: auth }), o),
  };
}

export { basicAuthorization };
