// Test helpers: every test makes its own systems (random keys and organisations), so tests
// share no state and run in any order.

import { env, exports } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/index";
import { checkConformance } from "./openapi-conformance";
import { generateSystemCredentials, type SystemRecord } from "../../src/auth/secret";
import { bytesToHex } from "../../src/platform/codec";
import { backupKey, BLOB_PREFIX, organizationPrefix, RECOVERY_PREFIX, systemPrefix, type SystemScope } from "../../src/backups/keys";

export const BASE = "https://vault.test/api/systems/backups";

export interface TestSystem {
  key: string;
  secret: string;
  org: string;
  record: SystemRecord;
  authorization: string;
}

/** A fresh organisation id. */
export function newOrg(): string {
  return `org_${crypto.randomUUID().slice(0, 8)}`;
}

/** Provisions a system in local KV, as the operator CLI does. */
export async function newSystem(options: { org?: string; record?: Partial<SystemRecord> } = {}): Promise<TestSystem> {
  const org = options.org ?? newOrg();
  const { systemKey, systemSecret, record } = await generateSystemCredentials(org);
  const full = { ...record, ...options.record };
  await env.SYSTEMS.put(systemKey, JSON.stringify(full));
  return { key: systemKey, secret: systemSecret, org, record: full, authorization: basicAuthorization(systemKey, systemSecret) };
}

/** The `Authorization` header value of HTTP Basic for a user and password. */
export function basicAuthorization(user: string, password: string): string {
  return "Basic " + btoa(user + ":" + password);
}

/** A random client address, so failed-login throttling never couples tests. */
export function randomIp(): string {
  const b = crypto.getRandomValues(new Uint8Array(3));
  return `10.${b[0]}.${b[1]}.${b[2]}`;
}

export type Overrides = Partial<Record<keyof Env, unknown>>;

/** Limits with the upload rate limits off, for sequences that upload more than 6 times a minute. */
export const NO_RATE_LIMITS: Overrides = { BACKUP_RATE_LIMIT_PER_MINUTE: "0", BACKUP_RATE_LIMIT_PER_HOUR: "0" };

/**
 * Sends a request to the worker. Without overrides it goes through the real entry
 * (`exports.default.fetch`); with overrides (limits, wrapped bindings) the same app is
 * called with a modified env.
 */
export async function send(request: Request, overrides?: Overrides): Promise<Response> {
  if (!request.headers.has("CF-Connecting-IP")) request.headers.set("CF-Connecting-IP", randomIp());
  const { method, url } = request;
  let response: Response;
  if (!overrides) response = await exports.default.fetch(request);
  else {
    const ctx = createExecutionContext();
    response = await worker.fetch(request, { ...env, ...overrides } as Env, ctx);
    await waitOnExecutionContext(ctx);
  }
  // Every answer a test receives must be what the OpenAPI document says.
  await checkConformance(method, url, response);
  return response;
}

/** A client for one system, calling the API as the appliance does. */
export function client(system: TestSystem, overrides?: Overrides) {
  const auth = { Authorization: system.authorization };
  return {
    list: () => send(new Request(BASE, { headers: auth }), overrides),
    /** Uploads as the appliance's curl does (`--data-binary @file` sends Content-Length). */
    upload: (bytes: Uint8Array | string, filename?: string, headers: Record<string, string> = {}) => {
      const body = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
      return send(
        new Request(BASE, {
          method: "POST",
          body,
          headers: {
            ...auth,
            "Content-Type": "application/octet-stream",
            "Content-Length": String(body.byteLength),
            ...(filename ? { "X-Filename": filename } : {}),
            ...headers,
          },
        }),
        overrides,
      );
    },
    download: (id: string, headers: Record<string, string> = {}) => send(new Request(`${BASE}/${id}`, { headers: { ...auth, ...headers } }), overrides),
    head: (id: string, headers: Record<string, string> = {}) => send(new Request(`${BASE}/${id}`, { method: "HEAD", headers: { ...auth, ...headers } }), overrides),
    remove: (id: string) => send(new Request(`${BASE}/${id}`, { method: "DELETE", headers: auth }), overrides),
  };
}

/** Reads an envelope response (consuming the body). */
export async function json<T = any>(response: Response): Promise<{ code: number; message: string; data: T }> {
  return (await response.json()) as { code: number; message: string; data: T };
}

/** Independent hex SHA-256 of bytes. */
export async function sha256Hex(bytes: Uint8Array | string): Promise<string> {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  return bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-256", data)));
}

/** Deterministic pseudo-random bytes (xorshift), for large bodies. */
export function patternBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Keys of every object in the bucket under a prefix (all pages). */
export async function objectKeys(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.BACKUPS.list({ prefix, cursor });
    keys.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return keys;
}

/** A test system's organisation and key as src's key scope. */
function scopeOf(system: Pick<TestSystem, "org" | "key">): SystemScope {
  return { organizationId: system.org, systemKey: system.key };
}

/** `{org}/{key}/`: a test system's object prefix, built by src's key functions. */
export const prefixOf = (system: Pick<TestSystem, "org" | "key">): string => systemPrefix(scopeOf(system));
/** The object key of one backup of a test system, built by src's key functions. */
export const keyOf = (system: Pick<TestSystem, "org" | "key">, id: string): string => backupKey(scopeOf(system), id);
/** `.blobs/{org}/{key}/`: where a test system's split backups keep their bytes. */
export const blobPrefixOf = (system: Pick<TestSystem, "org" | "key">): string => BLOB_PREFIX + prefixOf(system);
/** `.recovery/{org}/{key}/`: where a test system's removed backups wait out their window. */
export const recoveryPrefixOf = (system: Pick<TestSystem, "org" | "key">): string => RECOVERY_PREFIX + prefixOf(system);
/** `.blobs/{org}/`: where every split backup of an organisation keeps its bytes. */
export const organizationBlobPrefix = (org: string): string => BLOB_PREFIX + organizationPrefix(org);

/** The bytes of the backup stored under `key` (a split backup's from its blob), or null when there is none. */
export async function storedBytes(key: string): Promise<Uint8Array | null> {
  const entry = await env.BACKUPS.get(key);
  if (!entry) return null;
  if (entry.customMetadata?.blob_size === undefined) return new Uint8Array(await entry.arrayBuffer());
  await entry.body.cancel();
  const blob = await env.BACKUPS.get(BLOB_PREFIX + key);
  return blob && new Uint8Array(await blob.arrayBuffer());
}

/**
 * The blobs under `blobPrefix` (a system's or an organisation's) that no entry records: what a
 * failed upload would leave behind. Each blob `.blobs/{key}` belongs to the split entry `{key}`.
 */
export async function unrecordedBlobs(blobPrefix: string): Promise<string[]> {
  const orphans: string[] = [];
  for (const blob of await objectKeys(blobPrefix)) {
    const entry = await env.BACKUPS.head(blob.slice(BLOB_PREFIX.length));
    if (entry?.customMetadata?.blob_size === undefined) orphans.push(blob);
  }
  return orphans;
}

/** The organisation's ledger: the stub of its Durable Object. */
export function organizationLedger(org: string) {
  return env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(org));
}

/** Byte-exact comparison (vitest's deep equality is far too slow for megabytes). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Runs the hourly cron through the worker's own `scheduled` handler, as the platform does, at `scheduledTime`. */
export async function runCron(scheduledTime: number): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled!(createScheduledController({ scheduledTime, cron: "17 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

/** xorshift32: a small deterministic generator, so that a simulation's choices follow the suite's seed and a failure replays. */
export function random(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** Waits, if needed, so that the next `ms` do not cross a minute boundary (the local rate limiter's windows are wall-clock minutes). */
export async function awayFromMinuteBoundary(ms: number): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < ms) await new Promise((resolve) => setTimeout(resolve, left + 50));
}
