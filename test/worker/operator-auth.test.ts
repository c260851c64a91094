// Operator-token authentication: one 401 (with the Bearer challenge) for every bad token, the
// same work for an unknown token as for a known one, expiry and revocation, and the planes kept
// apart: appliance credentials never work on /api/admin, operator tokens never on /api/systems.

import { describe, expect, it } from "vitest";
import { generateOperatorToken, verifyOperatorToken } from "../../src/auth/operator-token";
import { FaultInjector } from "./fault-bindings";
import { BASE, json, send } from "./helpers";
import { ADMIN, admin, newFleetOrg, newOperator } from "./operator-helpers";

const challenge = 'Bearer realm="Operator API"';

async function expectRefused(response: Response, what: string): Promise<void> {
  expect(response.status, what).toBe(401);
  expect(response.headers.get("WWW-Authenticate"), what).toBe(challenge);
  expect(response.headers.get("Cache-Control"), what).toBe("no-store");
  expect(await json(response), what).toEqual({ code: 401, message: "invalid token", data: null });
}

describe("operator authentication", () => {
  it("answers every missing, malformed, unknown, wrong, expired or revoked token alike", async () => {
    const fleet = await newFleetOrg();
    const good = await newOperator("admin", [fleet.org]);
    const expired = await newOperator("admin", [fleet.org], { expiresAt: "2020-01-01T00:00:00Z" });
    const revoked = await newOperator("admin", [fleet.org], { revoked: true });
    const [publicPart] = good.token.split(".");
    const { token: stranger } = await generateOperatorToken({ name: "x", role: "admin", organizations: "*" });
    const headers: Record<string, string | null> = {
      none: null,
      "appliance credentials": fleet.system.authorization,
      "bearer, no token": "Bearer",
      "bearer op_": "Bearer op_",
      "another prefix": `Bearer my_${good.token.slice(3)}`,
      "no secret part": `Bearer ${publicPart}.`,
      "secret too short": `Bearer ${good.token.slice(0, -1)}`,
      "secret too long": `Bearer ${good.token}A`,
      "wrong secret": `Bearer ${publicPart}.${"A".repeat(43)}`,
      "unknown token": `Bearer ${stranger}`,
      "token twice": `Bearer ${good.token} ${good.token}`,
      "huge header": `Bearer ${"A".repeat(10_000)}`,
      expired: expired.authorization,
      revoked: revoked.authorization,
    };
    for (const [what, value] of Object.entries(headers)) {
      const request = new Request(`${ADMIN}/systems/${fleet.system.key}`, { headers: value === null ? {} : { Authorization: value } });
      await expectRefused(await send(request), what);
    }
    const ok = await admin(good, "GET", `/systems/${fleet.system.key}`);
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
  });

  it("costs an unknown token exactly what a known one costs: one indexed read, one hash, one comparison", async () => {
    const fleet = await newFleetOrg();
    const good = await newOperator("reader", [fleet.org]);
    const { token: stranger } = await generateOperatorToken({ name: "x", role: "admin", organizations: "*" });
    const wrong = good.token.slice(0, -5) + "AAAAA";
    const reads: Record<string, string[]> = {};
    for (const [what, token] of Object.entries({ valid: good.token, unknown: stranger, wrong })) {
      const injector = new FaultInjector();
      const response = await send(new Request(`${ADMIN}/organizations/${fleet.org}/audit`, { headers: { Authorization: `Bearer ${token}` } }), injector.operatorOverrides());
      await response.arrayBuffer();
      reads[what] = injector.callsTo("OPERATOR_DB").slice(0, 1).map((c) => `${c.method} ${c.target}`);
    }
    expect(reads.unknown).toEqual(reads.valid);
    expect(reads.wrong).toEqual(reads.valid);
    expect(reads.valid).toEqual(["first SELECT * FROM"]);
  });

  it("keeps the planes apart", async () => {
    const fleet = await newFleetOrg();
    const operator = await newOperator("admin", "*");
    const asAppliance = await send(new Request(BASE, { headers: { Authorization: operator.authorization } }));
    expect(asAppliance.status).toBe(401);
    expect(asAppliance.headers.get("WWW-Authenticate")).toBe('Basic realm="System Authentication"');
    await asAppliance.arrayBuffer();
    await expectRefused(await send(new Request(`${ADMIN}/organizations`, { headers: { Authorization: fleet.system.authorization } })), "Basic on admin");
  });

  it("answers 503, never 401, when the token store fails", async () => {
    const fleet = await newFleetOrg();
    const good = await newOperator("reader", [fleet.org]);
    const injector = new FaultInjector({ binding: "OPERATOR_DB", method: "first", nth: 1, mode: "throw" });
    const response = await admin(good, "GET", `/systems/${fleet.system.key}`, undefined, injector.operatorOverrides());
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("30");
    expect((await json(response)).message).toBe("operator database unavailable");
  });

  it("throttles a token tried too often from one address (429), without reading the token store", async () => {
    const ip = "10.250.1.1";
    let last: Response | null = null;
    for (let i = 0; i < 31; i++) {
      last = await send(new Request(`${ADMIN}/organizations`, { headers: { Authorization: "Bearer op_0000000000000000." + "A".repeat(43), "CF-Connecting-IP": ip } }));
      if (last.status === 429) break;
      await last.arrayBuffer();
    }
    expect(last!.status).toBe(429);
    expect(Number(last!.headers.get("Retry-After"))).toBeGreaterThan(0);
    await last!.arrayBuffer();
    const injector = new FaultInjector();
    const again = await send(new Request(`${ADMIN}/organizations`, { headers: { Authorization: "Bearer op_0000000000000000." + "A".repeat(43), "CF-Connecting-IP": ip } }), injector.operatorOverrides());
    expect(again.status).toBe(429);
    await again.arrayBuffer();
    expect(injector.callsTo("OPERATOR_DB")).toEqual([]);
  });

  it("an expiring token works until its expiry and never after (the clock moved forward)", async () => {
    const now = Date.parse("2026-06-01T00:00:00Z");
    const { token, record } = await generateOperatorToken({ name: "temp", role: "reader", organizations: ["o"], expiresDays: 7 }, new Date(now));
    expect(record.expires_at).toBe("2026-06-08T00:00:00Z");
    expect(await verifyOperatorToken(record, token, now)).toBe(true);
    expect(await verifyOperatorToken(record, token, now + 7 * 86_400_000 - 1000)).toBe(true);
    expect(await verifyOperatorToken(record, token, now + 7 * 86_400_000)).toBe(false);
    expect(await verifyOperatorToken({ ...record, revoked_at: "2026-06-02T00:00:00Z" }, token, now + 1000)).toBe(false);
    expect(await verifyOperatorToken(null, token, now)).toBe(false);
  });
});
