// Authentication against the KV credential record, as request sequences.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { generateSecret } from "../../src/auth/secret";
import { FaultInjector } from "./fault-bindings";
import { awayFromMinuteBoundary, BASE, basicAuthorization, client, json, newSystem, randomIp, send } from "./helpers";

const CHALLENGE = 'Basic realm="System Authentication"';

async function expect401(response: Response) {
  expect(response.status).toBe(401);
  expect(response.headers.get("WWW-Authenticate")).toBe(CHALLENGE);
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  expect(await json(response)).toEqual({ code: 401, message: "invalid token", data: {} });
}

function listWith(authorization: string | null, ip = randomIp(), overrides?: Parameters<typeof send>[1]) {
  const headers: Record<string, string> = { "CF-Connecting-IP": ip };
  if (authorization !== null) headers.Authorization = authorization;
  return send(new Request(BASE, { headers }), overrides);
}

describe("Basic header parsing survives anything", () => {
  it("answers 401 with the challenge for every malformed header", async () => {
    const system = await newSystem();
    const headers = [
      null,
      "",
      "Bearer abc",
      "Basic",
      "Basic ",
      "Basic !!!notbase64!!!",
      "Basic " + btoa("no-colon-here"),
      "Basic " + btoa(":" + system.secret),
      "Basic " + btoa(system.key + ":"),
      "Basic " + btoa(system.key + ":" + system.secret).slice(0, -2),
      "Basic " + btoa(system.key + "\u0000:" + system.secret),
      "Basic " + "A".repeat(16_000),
      "Basic " + btoa("\xff\xfe:\xfd"),
      "Digest username=" + system.key,
      basicAuthorization(system.key, system.secret) + " trailing",
    ];
    for (const header of headers) await expect401(await listWith(header));
  });

  it("accepts the scheme case-insensitively, as RFC 9110 says", async () => {
    const system = await newSystem();
    const response = await listWith("basic " + btoa(`${system.key}:${system.secret}`));
    expect(response.status).toBe(200);
    await response.body?.cancel();
  });
});

describe("the credential record's checks", () => {
  it("accepts an active system and refuses every inactive or mismatched one with the same answer", async () => {
    const active = await newSystem();
    expect((await listWith(active.authorization)).status).toBe(200);

    const unregistered = await newSystem({ record: { registered_at: null } });
    const suspended = await newSystem({ record: { suspended_at: "2026-05-01T00:00:00Z" } });
    const deleted = await newSystem({ record: { deleted_at: "2026-05-01T00:00:00Z" } });
    const otherPublic = await newSystem({ record: { secret_public: "ffffffffffffffff" } });
    for (const s of [unregistered, suspended, deleted, otherPublic]) await expect401(await listWith(s.authorization));

    const [, secretPart] = active.secret.split(".");
    const unknownKey = `NETH-${crypto.randomUUID()}`;
    const bodies: string[] = [];
    for (const header of [
      basicAuthorization(unknownKey, active.secret), // unknown key
      basicAuthorization(active.key, active.secret + "x"), // wrong secret
      basicAuthorization(active.key, `my_${active.record.secret_public}.${secretPart.slice(1)}`), // wrong secret part
      basicAuthorization(active.key, secretPart), // not the my_<public>.<secret> shape
    ]) {
      const response = await listWith(header);
      expect(response.status).toBe(401);
      expect(response.headers.get("WWW-Authenticate")).toBe(CHALLENGE);
      bodies.push(await response.text());
    }
    expect(new Set(bodies).size).toBe(1); // an unknown key and a wrong secret are indistinguishable
  });

  it("treats a malformed record as no credentials (401), logging it", async () => {
    const key = `NETH-${crypto.randomUUID()}`;
    await env.SYSTEMS.put(key, "{not json");
    await expect401(await listWith(basicAuthorization(key, "my_abc.def")));
    await env.SYSTEMS.put(key, JSON.stringify({ system_id: "x", organization_id: "../evil", secret_public: "a", secret_sha256: "00:" + "0".repeat(64), registered_at: "2026-01-01T00:00:00Z", suspended_at: null, deleted_at: null }));
    await expect401(await listWith(basicAuthorization(key, "my_a.b")));
  });

  it("follows suspension, resumption and rotation of the record", async () => {
    const system = await newSystem();
    expect((await listWith(system.authorization)).status).toBe(200);
    await env.SYSTEMS.put(system.key, JSON.stringify({ ...system.record, suspended_at: new Date().toISOString() }));
    await expect401(await listWith(system.authorization));
    await env.SYSTEMS.put(system.key, JSON.stringify({ ...system.record, suspended_at: null }));
    expect((await listWith(system.authorization)).status).toBe(200);

    const rotated = await generateSecret();
    await env.SYSTEMS.put(system.key, JSON.stringify({ ...system.record, secret_public: rotated.secretPublic, secret_sha256: rotated.secretSha256 }));
    await expect401(await listWith(system.authorization));
    expect((await listWith(basicAuthorization(system.key, rotated.systemSecret))).status).toBe(200);
  });
});

describe("KV outages", () => {
  it("answers 503 in the envelope, never 401, when KV fails", async () => {
    const system = await newSystem();
    const failing = new FaultInjector({ binding: "SYSTEMS", method: "get", nth: "every", mode: "throw", message: "KV GET failed: 500 internal" });
    const response = await listWith(system.authorization, randomIp(), { SYSTEMS: failing.overrides().SYSTEMS });
    expect(response.status).toBe(503);
    expect(response.headers.get("WWW-Authenticate")).toBeNull();
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ code: 503, message: "authentication service unavailable", data: null });
    expect(text).not.toContain("internal");
  });
});

describe("failed-authentication throttling per client address and key", () => {
  /** Bindings that record their calls (test/worker/fault-bindings.ts), and the credential reads made so far. */
  function counting() {
    const calls = new FaultInjector();
    return { bindings: calls.overrides(), kvReads: () => calls.callsTo("SYSTEMS", "get").length };
  }

  it("answers 429 after 30 failures a minute for one key from one address, without reading KV, and leaves other addresses alone", async () => {
    await awayFromMinuteBoundary(10_000);
    const system = await newSystem();
    const ip = randomIp();
    const { bindings, kvReads } = counting();
    const wrong = basicAuthorization(system.key, system.secret + "x");
    for (let i = 0; i < 30; i++) await expect401(await listWith(wrong, ip, bindings));
    expect(kvReads()).toBe(30);

    const blocked = await listWith(wrong, ip, bindings);
    expect(blocked.status).toBe(429);
    const retryAfter = Number(blocked.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await json(blocked)).toEqual({ code: 429, message: "too many failed authentication attempts", data: null });

    const readsWhenBlocked = kvReads();
    const stillBlocked = await listWith(system.authorization, ip, bindings);
    expect(stillBlocked.status).toBe(429);
    await stillBlocked.body?.cancel();
    expect(kvReads()).toBe(readsWhenBlocked); // no KV read while blocked

    const elsewhere = await listWith(system.authorization, randomIp());
    expect(elsewhere.status).toBe(200);
    await elsewhere.body?.cancel();
  }, 30_000);

  it("forty failed logins for one key leave another system behind the same address answered 200", async () => {
    await awayFromMinuteBoundary(10_000);
    const shared = randomIp();
    const good = await newSystem();
    const stale = await newSystem();
    const statuses = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const response = await listWith(basicAuthorization(stale.key, "my_0.wrong"), shared);
      statuses.add(response.status);
      await response.arrayBuffer();
    }
    expect([...statuses].sort()).toEqual([401, 429]); // the stale key itself is throttled
    const neighbour = await listWith(good.authorization, shared);
    expect(neighbour.status).toBe(200);
    await neighbour.arrayBuffer();
  }, 30_000);

  it("a flood of junk keys from one address costs at most 101 KV reads a minute, then that address is refused (429) and others are not", async () => {
    await awayFromMinuteBoundary(20_000);
    const flooder = randomIp();
    const { bindings, kvReads } = counting();
    const statuses: number[] = [];
    for (let i = 0; i < 150; i++) {
      const response = await listWith(basicAuthorization(`NETH-junk-${crypto.randomUUID()}`, "my_0.guess"), flooder, bindings);
      statuses.push(response.status);
      await response.arrayBuffer();
    }
    expect(statuses.filter((s) => s === 401)).toHaveLength(100);
    expect(statuses.filter((s) => s === 429)).toHaveLength(50);
    expect(kvReads()).toBe(101); // the 101st failure is the one that finds the address over its limit
    const neighbour = await newSystem();
    const refused = await listWith(neighbour.authorization, flooder, bindings);
    expect(refused.status).toBe(429);
    await refused.arrayBuffer();
    expect(kvReads()).toBe(101);
    const elsewhere = await listWith(neighbour.authorization, randomIp());
    expect(elsewhere.status).toBe(200);
    await elsewhere.arrayBuffer();
  }, 40_000);
});

describe("every endpoint requires credentials", () => {
  it("answers 401 to each route without credentials", async () => {
    const system = await newSystem();
    const created = (await json(await client(system).upload("x", "x.gpg"))).data;
    const url = `${BASE}/${created.id}`;
    for (const request of [
      new Request(BASE),
      new Request(BASE, { method: "POST", body: "x", headers: { "Content-Length": "1" } }),
      new Request(url),
      new Request(url, { method: "DELETE" }),
    ]) {
      await expect401(await send(request));
    }
    const head = await send(new Request(url, { method: "HEAD" }));
    expect(head.status).toBe(401);
    expect(head.headers.get("WWW-Authenticate")).toBe(CHALLENGE);
  });
});
