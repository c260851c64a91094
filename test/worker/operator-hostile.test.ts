// Hostile inputs on every operator endpoint and on download links: generated path segments,
// queries and bodies, sent with an all-organisation admin token (the most powerful caller).
// Every answer must be documented (the OpenAPI check in `send`), never a 500, never showing
// internals, and a refused request must change nothing.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { json, send } from "./helpers";
import { ADMIN, newFleetOrg, newOperator, storageSnapshot } from "./operator-helpers";
import { fcParameters } from "./seeds";

const SEGMENTS = [
  "..", "%2e%2e", "..%2F..%2Fetc", "a%2Fb", "%00", "%0d%0aX-Injected:1", "*", "%2A", "a".repeat(129), "A".repeat(5000),
  "%E2%80%AE", "%F0%9F%92%A5", "org%20one", "-leading", ".hidden", "NETH-", "x?y", "x#y", "%25", "'; DROP TABLE systems; --",
];
const BODIES = [
  "", "null", "[]", "[1]", '"text"', "42", "{", '{"append_only":"yes"}', '{"append_only":1}', '{"append_only":null}', '{"append_only":true,"x":1}',
  '{"organization_id":"../etc"}', '{"organization_id":""}', '{"organization_id":123}', '{"organization_id":"*"}', '{"__proto__":{"append_only":true}}',
  `{"organization_id":"${"a".repeat(200)}"}`, JSON.stringify({ append_only: true, pad: "x".repeat(10_000) }),
  // POST /tokens: every field wrong in turn, a forged hash, a scope too wide, and one valid body (201 once, then 409).
  '{"name":"h","role":"reader"}', '{"name":"h","role":"root","organizations":"*"}', '{"name":"../x","role":"reader","organizations":"*"}',
  '{"name":"h","role":"reader","organizations":["../etc"]}', '{"name":"h","role":"reader","organizations":[]}', '{"name":"h","role":"reader","organizations":"all"}',
  '{"name":"h","role":"reader","organizations":"*","expires_days":-1}', '{"name":"h","role":"reader","organizations":"*","expires_days":1e9}',
  '{"name":"h","role":"reader","organizations":"*","secret_sha256":"00:00"}', '{"name":null,"role":null,"organizations":null}',
  JSON.stringify({ name: "h", role: "reader", organizations: Array.from({ length: 2000 }, (_, i) => `o${i}`) }), '{"name":"hostile ok","role":"reader","organizations":"*"}',
];
const QUERIES = ["limit=0", "limit=1001", "limit=1e2", "limit=%00", "cursor=%FF%FE", "cursor=" + "A".repeat(2000), "purge=yes", "purge=TRUE", "ttl=0", "ttl=901", "ttl=1e3", "ttl=-1", "limit=10&limit=20"];

const ROUTES: { method: string; path: (p: { org: string; key: string; id: string }) => string }[] = [
  { method: "GET", path: () => "/organizations" },
  { method: "GET", path: (p) => `/organizations/${p.org}/systems` },
  { method: "POST", path: (p) => `/organizations/${p.org}/systems` },
  { method: "GET", path: (p) => `/organizations/${p.org}/audit` },
  { method: "GET", path: (p) => `/systems/${p.key}` },
  { method: "PATCH", path: (p) => `/systems/${p.key}` },
  { method: "DELETE", path: (p) => `/systems/${p.key}` },
  { method: "POST", path: (p) => `/systems/${p.key}/suspend` },
  { method: "POST", path: (p) => `/systems/${p.key}/resume` },
  { method: "POST", path: (p) => `/systems/${p.key}/rotate` },
  { method: "POST", path: (p) => `/systems/${p.key}/move` },
  { method: "GET", path: (p) => `/systems/${p.key}/backups` },
  { method: "DELETE", path: (p) => `/systems/${p.key}/backups/${p.id}` },
  { method: "POST", path: (p) => `/systems/${p.key}/backups/${p.id}/link` },
  { method: "GET", path: () => "/tokens" },
  { method: "POST", path: () => "/tokens" },
  { method: "DELETE", path: (p) => `/tokens/${p.key}` },
];

const LEAKS = /stack|D1_|SQLITE|sqlite|TypeError|ReferenceError|at .*\.ts|internal error|undefined|\[object/;

describe("hostile inputs on the operator plane", () => {
  it("answers every generated request within the contract, and refusals change nothing", async () => {
    const fleet = await newFleetOrg();
    const operator = await newOperator("admin", "*");
    const stats = { requests: 0, refused: 0, statuses: new Map<number, number>() };
    const hostile = fc.record({
      route: fc.constantFrom(...ROUTES),
      // Which path segment is hostile (the others are the real organisation, system and backup).
      which: fc.constantFrom("org", "key", "id"),
      segment: fc.oneof(fc.constantFrom(...SEGMENTS), fc.string({ maxLength: 40 }).map(encodeURIComponent)),
      query: fc.option(fc.constantFrom(...QUERIES), { nil: undefined }),
      body: fc.option(fc.constantFrom(...BODIES), { nil: undefined }),
      method: fc.option(fc.constantFrom("PUT", "OPTIONS", "TRACE", "CONNECT2"), { freq: 6, nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(hostile, async ({ route, which, segment, query, body, method }) => {
        const params = { org: fleet.org, key: fleet.system.key, id: fleet.backupId, [which]: segment };
        const url = `${ADMIN}${route.path(params)}${query ? `?${query}` : ""}`;
        const before = await storageSnapshot([fleet.org], [fleet.system.key]);
        const verb = method ?? route.method;
        let request: Request;
        try {
          request = new Request(url, { method: verb, headers: { Authorization: operator.authorization, "Content-Type": "application/json" }, body: verb === "GET" || body === undefined ? undefined : body });
        } catch {
          return; // a request the runtime itself refuses to build
        }
        const response = await send(request);
        stats.requests++;
        stats.statuses.set(response.status, (stats.statuses.get(response.status) ?? 0) + 1);
        expect(response.status, url).not.toBe(500);
        const text = await response.text();
        expect(text, url).not.toMatch(LEAKS);
        if (response.status >= 400) {
          stats.refused++;
          expect(await storageSnapshot([fleet.org], [fleet.system.key]), `${verb} ${url}`).toBe(before);
        } else {
          // Something really happened (a valid combination): start the next case from a fresh fixture.
          Object.assign(fleet, await newFleetOrg());
        }
      }),
      fcParameters(250),
    );
    expect(stats.refused).toBeGreaterThan(stats.requests / 2);
  }, 180_000);

  it("refuses random download tokens with 404, never anything else", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), fc.base64String({ maxLength: 400 }), fc.stringMatching(/^[A-Za-z0-9_-]{20,200}\.[A-Za-z0-9_-]{43}$/)), async (token) => {
        let request: Request;
        try {
          request = new Request(`https://vault.test/api/downloads/${encodeURIComponent(token)}`);
        } catch {
          return;
        }
        const response = await send(request);
        expect([404], token).toContain(response.status);
        const body = await json(response);
        expect(body.data).toBeNull();
      }),
      fcParameters(200),
    );
  }, 120_000);
});
