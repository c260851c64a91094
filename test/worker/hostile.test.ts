// Hostile inputs, generated rather than listed: Authorization headers, backup ids, X-Filename,
// Range, methods and paths, lying or missing Content-Length, chunked and empty bodies.
// The invariant for every one: the answer is a contract status in the envelope (or a bodyless
// 206/304/HEAD), never a 500, never a stack trace or an internal name; a request that can be
// refused up front makes no R2 or ledger call (and no KV call unless it carries a key-shaped
// user to authenticate); whatever storage a request does touch is under its own prefix.

import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { FaultInjector } from "./fault-bindings";
import { organizationPrefix } from "../../src/backups/keys";
import { BASE, basicAuthorization, client, json, keyOf, newSystem, NO_RATE_LIMITS, blobPrefixOf, organizationBlobPrefix, organizationLedger, patternBytes, prefixOf, randomIp, send, sha256Hex, unrecordedBlobs, type Overrides, type TestSystem } from "./helpers";
import { expectRange, sanitisedFilename, type RangeSpec } from "./model";
import { fcParameters, fcSeed, fcTimeout } from "./seeds";

const CONTRACT_STATUSES = new Set([200, 201, 206, 304, 400, 401, 403, 404, 405, 411, 413, 416, 429, 503]);
const BODYLESS = new Set([206, 304]);
// What an answer must never show: stack frames, source paths, error class names, binding or
// storage names, runtime internals.
const INTERNALS =
  /\bat [\w$.<>]+ \(|\.ts:\d+|\.js:\d+|node_modules|\bsrc\/|[A-Z][A-Za-z]*Error\b|Exception|OrgLedger|ORG_LEDGER|\bBACKUPS\b|\bSYSTEMS\b|\bR2\b|\bKV\b|\bSQL|[Ss]qlite|Durable ?Object|workerd|kj\/|undefined|\[object /;
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.(?:tar\.gz|tar\.xz|tar\.bz2|tar\.zst|gpg|bin)$/;

const CASES = { generated: 0, refusedByRuntime: 0 };

interface Observed {
  status: number;
  headers: Headers;
  bytes: Uint8Array;
  /** The body as UTF-8 (lossy for binary downloads). */
  text: string;
  calls: FaultInjector;
}

/** Sends a request with counting bindings and reads the whole answer. */
async function observe(build: () => Request, overrides: Overrides = NO_RATE_LIMITS): Promise<Observed | null> {
  let request: Request;
  try {
    request = build();
  } catch (err) {
    // The runtime itself refuses to build it (CR/LF/NUL in a header, a forbidden method):
    // such a request can never reach the worker.
    expect(err).toBeInstanceOf(TypeError);
    CASES.refusedByRuntime++;
    return null;
  }
  CASES.generated++;
  const calls = new FaultInjector();
  if (!request.headers.has("CF-Connecting-IP")) request.headers.set("CF-Connecting-IP", randomIp());
  const response = await send(request, { ...overrides, ...calls.overrides() });
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, bytes, text: new TextDecoder().decode(bytes), calls };
}

/** The contract's shape of any answer: a known status, the envelope (unless bodyless), no internals. */
function expectContractAnswer(o: Observed, method: string): void {
  expect(CONTRACT_STATUSES.has(o.status), `status ${o.status}`).toBe(true);
  expect(o.text).not.toMatch(INTERNALS);
  for (const [name, value] of o.headers) expect(`${name}: ${value}`).not.toMatch(INTERNALS);
  if (method === "HEAD" || BODYLESS.has(o.status)) {
    if (method === "HEAD" || o.status === 304) expect(o.text).toBe("");
    return;
  }
  if (o.status === 200 && o.headers.get("Content-Type") === "application/octet-stream") return; // a download
  expect(o.headers.get("Content-Type")).toMatch(/^application\/json/);
  const body = JSON.parse(o.text);
  expect(Object.keys(body).sort()).toEqual(["code", "data", "message"]);
  expect(body.code).toBe(o.status);
  expect(typeof body.message).toBe("string");
  if (o.status === 401) expect(o.headers.get("WWW-Authenticate")).toBe('Basic realm="System Authentication"');
  if (o.status === 405) expect(o.headers.get("Allow")).toBeTruthy();
}

/** No R2 and no ledger call; at most `kvReads` credential reads. */
function expectNoStorage(o: Observed, kvReads = 0): void {
  expect(o.calls.callsTo("BACKUPS")).toEqual([]);
  expect(o.calls.callsTo("ORG_LEDGER")).toEqual([]);
  expect(o.calls.callsTo("SYSTEMS").length).toBeLessThanOrEqual(kvReads);
}

/** Every R2 key or prefix touched is the system's own (or its own blobs); the ledger is its organisation's. */
function expectOwnStorageOnly(o: Observed, system: TestSystem): void {
  const own = prefixOf(system);
  for (const call of o.calls.callsTo("BACKUPS")) {
    const target = call.target.replace(/^prefix=/, "");
    expect(target.startsWith(own) || target.startsWith(blobPrefixOf(system)), `${call.method} ${target}`).toBe(true);
  }
  for (const call of o.calls.callsTo("ORG_LEDGER")) if (call.target.startsWith("system=")) expect(call.target).toBe(`system=${system.key}`);
}

/** Upload one backup through the real bindings and return its id. */
async function seedBackup(system: TestSystem, bytes: Uint8Array, filename = "seed.tar.gz"): Promise<string> {
  const response = await client(system, NO_RATE_LIMITS).upload(bytes, filename);
  expect(response.status).toBe(201);
  return (await json(response)).data.id;
}

// ---- generators ----

/** Text that becomes a header value: ASCII with control characters, or any unicode. */
const headerText = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 60 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
);
const hugeText = fc.tuple(fc.constantFrom("A", "=", "/", "\x01", "\x7f"), fc.integer({ min: 2049, max: 70_000 })).map(([c, n]) => c.repeat(n));

function base64Utf8(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** `Authorization` values that must never authenticate. `key` is a real system's key. */
function authorizationHeader(key: string, secret: string) {
  const scheme = fc.constantFrom("Basic", "basic", "BASIC", "Basic ", "Bearer", "Digest", "Negotiate", "", "Basic\t", "Basic:");
  const wrongSecret = fc.oneof(
    fc.constant(secret.slice(0, -1)),
    fc.constant(secret + "x"),
    fc.constant(secret.toUpperCase()),
    fc.constant(secret.replace(/^my_[^.]+/, "my_0000000000000000")),
    fc.constant(secret.split(".")[0]),
    headerText,
  );
  const user = fc.oneof(
    fc.constant(key),
    fc.constant(key.toLowerCase()),
    fc.constant(key + " "),
    fc.constant(`NETH-${crypto.randomUUID()}`),
    fc.constant(""),
    headerText,
  );
  return fc.oneof(
    // Well-formed Basic with a wrong secret or a wrong key.
    fc.tuple(user, wrongSecret).map(([u, p]) => `Basic ${base64Utf8(`${u}:${p}`)}`),
    // The right secret for another key shape, control characters or unicode inside the base64.
    fc.tuple(headerText, fc.constant(secret)).map(([u, p]) => `Basic ${base64Utf8(`${u}:${p}`)}`),
    fc.tuple(fc.constant(key), headerText).map(([u, p]) => `Basic ${base64Utf8(`${u}:\x00${p}`)}`),
    // Schemes and tokens: junk base64, no colon, padding games, raw text.
    fc.tuple(scheme, fc.base64String({ maxLength: 80 })).map(([s, t]) => `${s} ${t}`),
    fc.tuple(scheme, headerText).map(([s, t]) => `${s} ${t}`),
    fc.tuple(scheme, fc.constant(key), fc.constant(secret)).map(([s, u, p]) => `${s} ${base64Utf8(u + p)}`),
    fc.tuple(fc.constant(key), fc.constant(secret)).map(([u, p]) => `Basic ${btoa(`${u}:${p}`).replace(/=+$/, "")}==`),
    fc.tuple(fc.constant(key), fc.constant(secret)).map(([u, p]) => `Basic ${u}:${p}`),
    // Huge values.
    hugeText.map((t) => `Basic ${t}`),
    fc.tuple(fc.constant(key), hugeText).map(([u, t]) => `Basic ${base64Utf8(`${u}:${t}`)}`),
  );
}

/** Ids that must be refused before any storage call, built from a real one. */
function hostileId(real: string) {
  const uuid = real.slice(0, 36);
  return fc.oneof(
    fc.constantFrom(
      real.toUpperCase(),
      uuid.slice(0, 14) + "4" + uuid.slice(15) + ".tar.gz", // UUIDv4
      uuid.slice(0, 14) + "1" + uuid.slice(15) + ".gpg", // UUIDv1
      uuid.slice(0, 14) + "8" + uuid.slice(15) + ".gpg", // UUIDv8
      uuid.slice(0, 19) + "c" + uuid.slice(20) + ".gpg", // wrong variant
      uuid,
      uuid + ".",
      uuid + ".zip",
      uuid + ".TAR.GZ",
      uuid + ".tar.gz.exe",
      uuid + ".tar",
      uuid + ".gz",
      real + "/",
      "." + real,
      " " + real,
      real + "%00",
      real + "%20",
      "%2e%2e",
      "..",
      ".",
    ),
    fc.constantFrom("..%2F", "..%252F", "%2e%2e%2f", "%252e%252e%252f", "..%5C", "%c0%ae%c0%ae%2f", "..%c0%af").chain((step) =>
      fc.integer({ min: 1, max: 4 }).map((n) => step.repeat(n) + encodeURIComponent(`other/NETH-x/${real}`)),
    ),
    fc.integer({ min: 1, max: 5000 }).map((n) => real + "a".repeat(n)),
    fc.integer({ min: 1, max: 5000 }).map((n) => "0".repeat(n) + real),
    fc.string({ unit: "grapheme", minLength: 1, maxLength: 50 }).map(encodeURIComponent),
    fc.tuple(fc.nat({ max: 35 }), fc.constantFrom("G", "-", "_", "%41", "é", "Ａ")).map(([i, c]) => encodeURIComponent(uuid.slice(0, i) + c + uuid.slice(i + 1) + ".gpg")),
  );
}

/** `X-Filename` values: paths, quotes, CR/LF attempts, unicode, and 10 000 characters. */
const hostileFilename = fc.oneof(
  fc.constantFrom(
    "../../../etc/passwd",
    "..\\..\\boot.ini",
    "/",
    "\\",
    "a/b/c.tar.gz",
    'x".tar.gz',
    "x'; rm -rf /.gpg",
    "x\r\nSet-Cookie: a=b",
    "x\nContent-Disposition: inline",
    "x%0d%0aX-Injected: 1.gpg",
    "x\u2028y\u2029.tar.gz",
    "x\u0085y.gpg",
    "\u202egpg.exe",
    "x\u0000.gpg",
    "...",
    ".tar.gz",
    "CON",
    "%2e%2e%2f.tar.gz",
  ),
  fc.tuple(headerText, fc.constantFrom("", ".tar.gz", ".gpg", ".tar.zst", ".TAR.XZ")).map(([a, b]) => a + b),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.tuple(fc.constantFrom("a", "/", "é", '"', "\t"), fc.integer({ min: 256, max: 10_000 })).map(([c, n]) => c.repeat(n) + ".tar.gz"),
  fc.constant("A".repeat(10_000)),
);

/** `Range` values: reversed, several, negative, huge, other units, junk. */
const hostileRange = fc.oneof(
  fc.tuple(fc.nat({ max: 3000 }), fc.nat({ max: 3000 })).map(([a, b]) => `bytes=${a}-${b}`),
  fc.nat({ max: 3000 }).map((a) => `bytes=${a}-`),
  fc.nat({ max: 3000 }).map((n) => `bytes=-${n}`),
  fc.array(fc.tuple(fc.nat({ max: 2000 }), fc.nat({ max: 2000 })), { minLength: 2, maxLength: 5 }).map((r) => "bytes=" + r.map(([a, b]) => `${a}-${b}`).join(",")),
  fc.tuple(fc.integer({ min: -3000, max: -1 }), fc.integer({ min: -3000, max: 3000 })).map(([a, b]) => `bytes=${a}-${b}`),
  fc.bigInt({ min: 10n ** 15n, max: 10n ** 40n }).chain((big) => fc.constantFrom(`bytes=${big}-`, `bytes=0-${big}`, `bytes=-${big}`, `bytes=${big}-${big}`)),
  fc.constantFrom("bytes=", "bytes=-", "bytes=--1", "bytes=0-0-0", "bytes=1e3-", "bytes=0x10-", "bytes = 0-1", "Bytes=0-1", "items=0-1", "bytes=0-1;", "bytes=\t0-1", "none", "*"),
  headerText,
);

/** Paths around the API: traversal, double slashes, case, extra segments, queries. */
function hostilePath(realId: string) {
  const segment = fc.oneof(
    fc.constantFrom("api", "systems", "backups", "Backups", "BACKUPS", "..", ".", "%2e%2e", "%2F", "", realId, "backups%2F" + realId, "%00"),
    fc.string({ unit: "grapheme-ascii", maxLength: 12 }).map(encodeURIComponent),
  );
  return fc.oneof(
    fc.array(segment, { maxLength: 6 }).map((parts) => "/" + parts.join("/")),
    fc.tuple(fc.constantFrom("/api/systems/backups", `/api/systems/backups/${realId}`), fc.array(segment, { maxLength: 3 })).map(
      ([base, parts]) => base + (parts.length ? "/" + parts.join("/") : ""),
    ),
    fc.tuple(
      fc.constantFrom("/api/systems/backups", `/api/systems/backups/${realId}`),
      fc.constantFrom("?prefix=", "?cursor=", "?id=", "?system=", "?org="),
      fc.constantFrom("", "../", "other_org/", "%2F", "*"),
    ).map(([p, q, v]) => p + q + v),
  );
}
const method = fc.constantFrom("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND", "CONNECT", "get", "M-SEARCH");

// ---- properties ----

describe("hostile inputs never get a 500, an internal, or a storage call they should not", () => {
  it("Authorization headers that must not authenticate: 401 in the envelope, no R2 or ledger call", async () => {
    const system = await newSystem();
    const id = await seedBackup(system, patternBytes(100, 1));
    const targets = [
      () => ({ method: "GET", url: BASE }),
      () => ({ method: "GET", url: `${BASE}/${id}` }),
      () => ({ method: "HEAD", url: `${BASE}/${id}` }),
      () => ({ method: "DELETE", url: `${BASE}/${id}` }),
      () => ({ method: "POST", url: BASE }),
    ];
    await fc.assert(
      fc.asyncProperty(authorizationHeader(system.key, system.secret), fc.nat({ max: targets.length - 1 }), async (authorization, t) => {
        const target = targets[t]();
        const o = await observe(() => {
          const init: RequestInit = { method: target.method, headers: { Authorization: authorization } };
          if (target.method === "POST") Object.assign(init, { body: "abc", headers: { Authorization: authorization, "Content-Length": "3" } });
          return new Request(target.url, init);
        });
        if (!o) return;
        expectContractAnswer(o, target.method);
        expect(o.status).toBe(401);
        if (target.method !== "HEAD") expect(JSON.parse(o.text)).toEqual({ code: 401, message: "invalid token", data: {} });
        // One credential read at most (for a key-shaped user), nothing else.
        expectNoStorage(o, 1);
      }),
      fcParameters(150),
    );
    // The backup is still there, untouched.
    expect(await sha256Hex(new Uint8Array(await (await client(system).download(id)).arrayBuffer()))).toBe(await sha256Hex(patternBytes(100, 1)));
  }, fcTimeout(150, 60_000));

  it("ids outside the allowlist: 400 (or 404 for another route) before any storage call, even with valid credentials", async () => {
    const system = await newSystem();
    const other = await newSystem();
    const otherId = await seedBackup(other, patternBytes(64, 2));
    await fc.assert(
      fc.asyncProperty(hostileId(otherId), fc.constantFrom("GET", "HEAD", "DELETE"), async (id, m) => {
        const o = await observe(() => new Request(`${BASE}/${id}`, { method: m, headers: { Authorization: system.authorization } }));
        if (!o) return;
        expectContractAnswer(o, m);
        // Routed as the proxies match paths: runs of slashes are one, a trailing slash is ignored.
        const path = new URL(`${BASE}/${id}`).pathname.replace(/\/{2,}/g, "/").replace(/(.)\/$/, "$1");
        let decoded: string | null;
        try {
          decoded = decodeURIComponent(path.slice("/api/systems/backups/".length));
        } catch {
          decoded = null;
        }
        const routed = path.startsWith("/api/systems/backups/");
        if (decoded !== null && ID.test(decoded) && routed) {
          // Decodes to a well-formed id: a normal request, confined to the caller's prefix.
          expect([200, 404]).toContain(o.status);
          expectOwnStorageOnly(o, system);
        } else {
          expect([400, 404]).toContain(o.status);
          expectNoStorage(o);
        }
      }),
      fcParameters(150),
    );
    expect(await env.BACKUPS.head(keyOf(other, otherId))).not.toBeNull();
  }, fcTimeout(150, 60_000));

  it("X-Filename: stored under a sanitised name, never a path, a quote or a line break in any header", async () => {
    const system = await newSystem();
    const prefix = prefixOf(system);
    await fc.assert(
      fc.asyncProperty(hostileFilename, async (filename) => {
        const o = await observe(
          () => new Request(BASE, { method: "POST", body: "backup", headers: { Authorization: system.authorization, "X-Filename": filename, "Content-Length": "6" } }),
        );
        if (!o) return;
        expectContractAnswer(o, "POST");
        expect(o.status).toBe(201);
        expectOwnStorageOnly(o, system);
        const data = JSON.parse(o.text).data;
        expect(data.id).toMatch(ID);
        expect(data.filename).toMatch(/^[A-Za-z0-9._-]{1,255}$/);
        // As the worker sees the header (the runtime trims it and carries unicode as UTF-8).
        const seen = new Headers({ "X-Filename": filename }).get("X-Filename");
        const expected = sanitisedFilename(seen);
        if (expected !== null) expect(data.filename).toBe(expected);
        else expect(data.filename).toMatch(/^backup-[0-9a-f-]{36}$/);
        const download = await client(system).download(data.id);
        expect(download.headers.get("Content-Disposition")).toBe(`attachment; filename="${data.filename}"`);
        expect(new TextDecoder().decode(await download.arrayBuffer())).toBe("backup");
        expect((await env.BACKUPS.head(prefix + data.id))?.customMetadata?.filename).toBe(data.filename);
        await env.BACKUPS.delete(prefix + data.id); // keep the system under its retention cap
      }),
      fcParameters(80),
    );
  }, fcTimeout(80, 60_000));

  it("Range headers: 200 whole, 206 exact slice or 416 with the size, as RFC 9110 says for one range", async () => {
    const system = await newSystem();
    const bytes = patternBytes(1500, 3);
    const id = await seedBackup(system, bytes);
    await fc.assert(
      fc.asyncProperty(hostileRange, fc.constantFrom("GET", "GET", "HEAD"), async (range, m) => {
        const o = await observe(() => new Request(`${BASE}/${id}`, { method: m, headers: { Authorization: system.authorization, Range: range } }));
        if (!o) return;
        expectContractAnswer(o, m);
        expectOwnStorageOnly(o, system);
        expect(o.calls.callsTo("ORG_LEDGER")).toEqual([]);
        const spec = canonicalRange(new Headers({ Range: range }).get("Range") ?? "");
        const expected = m === "HEAD" || spec === null ? { status: 200 as const } : expectRange(spec, bytes.length);
        expect(o.status).toBe(expected.status);
        const body = o.bytes;
        if (expected.status === 416) {
          expect(o.headers.get("Content-Range")).toBe(`bytes */${bytes.length}`);
        } else if (m === "HEAD") {
          expect(o.headers.get("Content-Length")).toBe(String(bytes.length));
        } else if (expected.status === 206) {
          expect(o.headers.get("Content-Range")).toBe(`bytes ${expected.start}-${expected.end}/${bytes.length}`);
          expect(o.headers.get("Content-Length")).toBe(String(expected.end - expected.start + 1));
          expect(await sha256Hex(body)).toBe(await sha256Hex(bytes.slice(expected.start, expected.end + 1)));
        } else {
          expect(o.headers.get("Content-Length")).toBe(String(bytes.length));
          expect(await sha256Hex(body)).toBe(await sha256Hex(bytes));
        }
      }),
      fcParameters(120),
    );
  }, fcTimeout(120, 60_000));

  it("methods and paths: a contract status, confined to the caller's prefix; without credentials no storage call", async () => {
    const system = await newSystem();
    const other = await newSystem({ org: system.org });
    const otherId = await seedBackup(other, patternBytes(32, 4));
    await fc.assert(
      fc.asyncProperty(method, hostilePath(otherId), fc.boolean(), async (m, path, authenticated) => {
        const headers: Record<string, string> = authenticated ? { Authorization: system.authorization } : {};
        const o = await observe(() => new Request("https://vault.test" + path, { method: m, headers }));
        if (!o) return;
        expectContractAnswer(o, m.toUpperCase());
        if (!authenticated) expectNoStorage(o);
        else expectOwnStorageOnly(o, system);
        if (o.status === 200 && o.text !== "" && o.headers.get("Content-Type")?.startsWith("application/json")) {
          // Whatever the query said, a listing is the caller's own.
          for (const b of JSON.parse(o.text).data.backups ?? []) expect(b.id).not.toBe(otherId);
        }
      }),
      fcParameters(150),
    );
    expect(await env.BACKUPS.head(keyOf(other, otherId))).not.toBeNull();
  }, fcTimeout(150, 60_000));

  it("uploads with a lying, malformed or missing Content-Length, chunked or empty bodies: refused, nothing kept", async () => {
    const declared = fc.oneof(
      fc.constant({ kind: "exact" as const }),
      fc.constant({ kind: "missing" as const }),
      fc.integer({ min: -50, max: 50 }).filter((d) => d !== 0).map((delta) => ({ kind: "off" as const, delta })),
      fc.constantFrom("-1", "1e3", "0x10", " 12 ", "12, 12", "+5", "", "99999999999999999999", "5.0", "٣").map((text) => ({ kind: "text" as const, text })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3000 }),
        declared,
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 8 }),
        async (size, decl, chunked, cuts) => {
          const system = await newSystem();
          const bytes = patternBytes(size, size + 7);
          const headers: Record<string, string> = { Authorization: system.authorization, "X-Filename": "x.tar.gz" };
          const length = decl.kind === "exact" ? String(size) : decl.kind === "off" ? String(Math.max(0, size + decl.delta)) : decl.kind === "text" ? decl.text : null;
          if (length !== null) headers["Content-Length"] = length;
          if (chunked) headers["Transfer-Encoding"] = "chunked";
          const o = await observe(() => new Request(BASE, { method: "POST", body: streamOf(bytes, cuts), headers }));
          if (!o) return;
          expectContractAnswer(o, "POST");
          expectOwnStorageOnly(o, system);
          const seen = new Headers(headers).get("Content-Length");
          const honest = seen !== null && /^\d{1,16}$/.test(seen.trim()) && Number(seen) === size;
          if (seen === null || chunked) {
            expect(o.status).toBe(411);
            expectNoStorage(o, 1);
          } else if (!/^\d{1,16}$/.test(seen.trim()) || Number(seen) === 0) {
            expect(o.status).toBe(400);
            expectNoStorage(o, 1);
          } else if (honest) {
            expect(o.status).toBe(201);
          } else {
            expect(o.status).toBe(400);
          }
          // Nothing but an honest upload is kept: no object, no unrecorded blob, no quota held.
          const kept = (await env.BACKUPS.list({ prefix: organizationPrefix(system.org) })).objects;
          expect(kept.length).toBe(o.status === 201 ? 1 : 0);
          expect(await unrecordedBlobs(organizationBlobPrefix(system.org))).toEqual([]);
          const usage = await organizationLedger(system.org).usageBytes(system.org);
          expect(usage).toBe(o.status === 201 ? size : 0);
        },
      ),
      fcParameters(80),
    );
  }, fcTimeout(80, 60_000));

  afterAll(() => {
    console.log(`hostile (seed ${fcSeed()}): ${CASES.generated} generated requests answered within the contract; ${CASES.refusedByRuntime} refused by the runtime before reaching the worker`);
  });
});

/** A body stream cut into the given chunk sizes. */
function streamOf(bytes: Uint8Array, cuts: number[]): ReadableStream<Uint8Array> {
  let offset = 0;
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      const n = cuts[i++ % cuts.length];
      controller.enqueue(bytes.slice(offset, offset + n));
      offset += n;
    },
  });
}

/** The one form of Range the contract serves (`bytes=a-b`, `bytes=a-`, `bytes=-n`); null for anything to ignore. */
function canonicalRange(header: string): RangeSpec | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  const big = (digits: string) => (digits.length > 15 ? Number.MAX_SAFE_INTEGER : Number(digits));
  if (m[1] === "") return { kind: "suffix", length: big(m[2]) };
  if (m[2] === "") return { kind: "from", first: big(m[1]) };
  return { kind: "span", first: big(m[1]), last: big(m[2]) };
}
