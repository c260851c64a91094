// Hostile inputs on the older protocol's paths, generated: Authorization headers, file names for
// PUT, and path spellings. For every one: a contract status (never a 500, a redirect or an
// internal), no R2 or ledger call before authentication, names that reach a header sanitised.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FaultInjector } from "./fault-bindings";
import { basicAuthorization, NO_RATE_LIMITS, prefixOf, randomIp, send } from "./helpers";
import { legacyClient, newLegacySystem, ORIGIN } from "./legacy-helpers";
import { fcParameters, fcTimeout } from "./seeds";

const STATUSES = new Set([200, 201, 400, 401, 403, 404, 405, 411, 413, 429, 503]);
const INTERNALS = /\bat [\w$.<>]+ \(|\.ts:\d+|node_modules|\bsrc\/|[A-Z][A-Za-z]*Error\b|OrgLedger|\bBACKUPS\b|\bSYSTEMS\b|\bR2\b|\bKV\b|workerd|undefined/;

async function observe(request: Request) {
  const calls = new FaultInjector();
  request.headers.set("CF-Connecting-IP", randomIp());
  const response = await send(request, { ...NO_RATE_LIMITS, ...calls.overrides() });
  const text = await response.text();
  expect(STATUSES.has(response.status), `status ${response.status}`).toBe(true);
  expect(response.headers.get("Location")).toBeNull();
  expect(text).not.toMatch(INTERNALS);
  return { status: response.status, headers: response.headers, text, calls };
}

const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 });

describe("older protocol: hostile inputs", () => {
  it("Authorization headers that must not authenticate: 401 in the envelope, one KV read at most, no R2 or ledger call", async () => {
    const system = await newLegacySystem();
    const wrong = fc.oneof(
      fc.constant(basicAuthorization(system.legacyId, system.legacySecret.slice(0, -1))),
      fc.constant(basicAuthorization(system.legacyId.toUpperCase(), system.legacySecret)),
      fc.constant(basicAuthorization(system.key, system.legacySecret)),
      headerText.map((t) => `Basic ${t}`),
      fc.tuple(headerText, headerText).map(([u, p]) => basicAuthorization(u || "x", p || "y")),
      headerText,
    );
    const paths = fc.constantFrom("/enterprise/api/v2/backup/", "/community/api/v2/backup/backup-1.tar.gz.gpg", "/proxy/backup", "/proxy/credentials");
    await fc.assert(
      fc.asyncProperty(wrong, paths, async (authorization, path) => {
        const method = path.endsWith(".gpg") ? "PUT" : path === "/proxy/backup" ? "POST" : "GET";
        let request: Request;
        try {
          request = new Request(ORIGIN + path, { method, headers: { Authorization: authorization, "Content-Length": "3" }, body: method === "GET" ? undefined : "abc" });
        } catch {
          return; // the runtime refuses the header itself
        }
        const o = await observe(request);
        expect(o.status).toBe(401);
        expect(JSON.parse(o.text)).toEqual({ code: 401, message: "invalid token", data: {} });
        expect(o.headers.get("WWW-Authenticate")).toMatch(/^Basic /);
        expect(o.calls.callsTo("BACKUPS")).toEqual([]);
        expect(o.calls.callsTo("ORG_LEDGER")).toEqual([]);
        expect(o.calls.callsTo("SYSTEMS").length).toBeLessThanOrEqual(1);
      }),
      fcParameters(100),
    );
  }, fcTimeout(100, 60_000));

  it("PUT names: stored under a sanitised name; the download's Content-Disposition never carries a quote, a slash or a control character", async () => {
    const system = await newLegacySystem();
    const legacy = legacyClient(system, { overrides: NO_RATE_LIMITS });
    const names = fc.oneof(
      fc.constantFrom("..", ".", "%2e%2e", "a%2Fb.tar.gz", "x%22y.gpg", "%0d%0aSet-Cookie:x.gpg", "dump.json.gz.gpg", "backup-1733390000.tar.gz.gpg"),
      fc.string({ unit: fc.constantFrom("a", "Z", "0", ".", "-", "_", "%20", "%22", "%5C", "%3B", "%25", "é"), minLength: 1, maxLength: 40 }),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(names, async (name) => {
        const body = `payload ${n++}`;
        const response = await legacy.put(body, name);
        const text = await response.text();
        expect([201, 400, 404, 405], `${name} → ${response.status}`).toContain(response.status);
        if (response.status !== 201) return;
        const stored = JSON.parse(text) as { id: string; name: string };
        expect(stored.name).toMatch(/^[A-Za-z0-9._-]{1,255}$/);
        expect(stored.name).not.toMatch(/^\.*$/);
        const download = await legacy.download(stored.id);
        expect(download.headers.get("Content-Disposition")).toBe(`attachment; filename="${stored.name}"`);
        expect(await download.text()).toBe(body);
      }),
      fcParameters(60),
    );
  }, fcTimeout(60, 60_000));

  it("path spellings: slashes, case, dot segments, unknown types: a contract status, never a redirect, only the caller's prefix", async () => {
    const system = await newLegacySystem();
    const segments = fc.array(fc.constantFrom("enterprise", "community", "Enterprise", "business", "api", "v2", "v1", "backup", "", ".", "..", "%2e%2e", "proxy", "credentials"), { minLength: 1, maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(segments, fc.constantFrom("GET", "PUT", "DELETE", "POST", "PATCH"), async (parts, method) => {
        const path = "/" + parts.join("/") + (parts.length % 2 === 0 ? "/" : "");
        let request: Request;
        try {
          request = new Request(ORIGIN + path, { method, headers: { Authorization: system.legacyAuthorization, "Content-Length": "1" }, body: method === "GET" ? undefined : "x" });
        } catch {
          return;
        }
        const o = await observe(request);
        for (const call of o.calls.callsTo("BACKUPS")) expect(call.target.replace(/^prefix=/, "").replace(/^\.blobs\//, "")).toMatch(new RegExp(`^${prefixOf(system).replace(/[.]/g, "\\.")}`));
      }),
      fcParameters(120),
    );
  }, fcTimeout(120, 60_000));
});
