// Operator tokens over HTTP: an admin creates a colleague's token (shown once), lists tokens
// (never a hash) and revokes them, never beyond its own scope or role; every change audited.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { isLive, operatorTokenStatus, verifyOperatorToken } from "../../src/auth/operator-token";
import { readOperatorToken } from "../../src/operator/token-store";
import { json, newOrg } from "./helpers";
import { admin, newOperator, type TestOperator } from "./operator-helpers";

const DAY = 86_400_000;

function asOperator(created: { token: string; name: string; role: TestOperator["role"] }): TestOperator {
  return { token: created.token, name: created.name, role: created.role, authorization: `Bearer ${created.token}` };
}

async function listAll(operator: TestOperator, limit = 1000): Promise<{ name: string; status: string; organizations: string[] | "*" }[]> {
  const all = [];
  let cursor: string | null = null;
  do {
    const response = await admin(operator, "GET", `/tokens?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
    const body = await json(response);
    expect(response.status, body.message).toBe(200);
    all.push(...body.data.tokens);
    cursor = body.data.cursor;
  } while (cursor);
  return all;
}

async function auditOf(org: string, action: string) {
  const { results } = await env.OPERATOR_DB.prepare("SELECT actor, action, target, outcome, client_ip FROM audit_events WHERE organization_id = ? AND action = ? ORDER BY seq")
    .bind(org, action)
    .all();
  return results;
}

const tokenName = (prefix: string) => `${prefix} ${crypto.randomUUID().slice(0, 8)}`;

describe("operator tokens over HTTP", () => {
  it("create → the token works with its role and scope → listed without a hash → revoke → 401 → listed revoked; both audited", async () => {
    const org = newOrg();
    const boss = await newOperator("admin", [org]);
    const name = tokenName("colleague");
    const created = await admin(boss, "POST", "/tokens", { name, role: "manager", organizations: [org], expires_days: 30 });
    const body = await json(created);
    expect(created.status, body.message).toBe(201);
    expect(body.data).toEqual({ token: expect.stringMatching(/^op_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/), name, role: "manager", organizations: [org], expires_at: expect.any(String) });
    expect(Math.abs(Date.parse(body.data.expires_at) - (Date.now() + 30 * DAY))).toBeLessThan(60_000);

    const colleague = asOperator(body.data);
    const identity = await json(await admin(colleague, "GET", "/token"));
    expect(identity.data).toEqual({ name, role: "manager", organizations: [org] });
    const elsewhere = await admin(colleague, "GET", `/organizations/${newOrg()}/systems`);
    expect(elsewhere.status).toBe(404);
    await elsewhere.arrayBuffer();

    const listing = await admin(boss, "GET", "/tokens");
    const listed = await listing.text();
    expect(listing.status).toBe(200);
    const stored = await env.OPERATOR_DB.prepare("SELECT secret_sha256, public_id FROM operator_tokens WHERE name = ?").bind(name).first<{ secret_sha256: string; public_id: string }>();
    for (const secret of [stored!.secret_sha256, ...stored!.secret_sha256.split(":"), stored!.public_id, body.data.token.split(".")[1]]) expect(listed).not.toContain(secret);
    const entry = JSON.parse(listed).data.tokens.find((t: { name: string }) => t.name === name);
    expect(entry).toEqual({ name, role: "manager", organizations: [org], created_at: expect.any(String), expires_at: body.data.expires_at, revoked_at: null, status: "live" });

    const revoked = await admin(boss, "DELETE", `/tokens/${encodeURIComponent(name)}`);
    const revokedBody = await json(revoked);
    expect(revoked.status, revokedBody.message).toBe(200);
    expect(revokedBody.data).toEqual({ name, revoked_at: expect.any(String) });
    const refused = await admin(colleague, "GET", "/token");
    expect(refused.status).toBe(401);
    await refused.arrayBuffer();
    expect((await listAll(boss)).find((t) => t.name === name)).toMatchObject({ status: "revoked" });
    const again = await admin(boss, "DELETE", `/tokens/${encodeURIComponent(name)}`);
    expect(again.status).toBe(404);
    await again.arrayBuffer();

    expect(await auditOf(org, "token.create")).toEqual([{ actor: boss.name, action: "token.create", target: name, outcome: "ok: manager", client_ip: expect.any(String) }]);
    expect(await auditOf(org, "token.revoke")).toEqual([{ actor: boss.name, action: "token.revoke", target: name, outcome: "ok", client_ip: expect.any(String) }]);
  });

  it("a scoped admin creates only inside its scope: another organisation is 404, every organisation 403, and nothing is written", async () => {
    const [a, b] = [newOrg(), newOrg()];
    const scoped = await newOperator("admin", [a]);
    const count = () => env.OPERATOR_DB.prepare("SELECT (SELECT COUNT(*) FROM operator_tokens) + (SELECT COUNT(*) FROM audit_events WHERE outcome NOT LIKE 'denied:%') AS n").first<{ n: number }>();
    const before = await count();
    for (const [organizations, status] of [[[b], 404], [[a, b], 404], ["*", 403]] as const) {
      const response = await admin(scoped, "POST", "/tokens", { name: tokenName("beyond"), role: "reader", organizations });
      const body = await json(response);
      expect(response.status, JSON.stringify(organizations)).toBe(status);
      expect(body.data).toBeNull();
      if (status === 404) expect(body.message).toBe("organization not found");
    }
    expect(await count()).toEqual(before);
    // Each refusal is audited as the attempted token.create, in the fleet-wide trail (outside the caller's scope).
    const { results: refusals } = await env.OPERATOR_DB.prepare("SELECT action, outcome FROM audit_events WHERE organization_id = '*' AND actor = ? ORDER BY seq").bind(scoped.name).all();
    expect(refusals).toEqual([
      { action: "token.create", outcome: "denied: 404 organization not found" },
      { action: "token.create", outcome: "denied: 404 organization not found" },
      { action: "token.create", outcome: "denied: 403 only an all-organisation token can create an all-organisation token" },
    ]);
    const inside = await admin(scoped, "POST", "/tokens", { name: tokenName("inside"), role: "admin", organizations: [a, a] });
    const insideBody = await json(inside);
    expect(inside.status).toBe(201);
    expect(insideBody.data.organizations).toEqual([a]);
    expect(insideBody.data.expires_at).toBeNull();
  });

  it("an all-organisation admin makes an all-organisation token, audited under *", async () => {
    const fleet = await newOperator("admin", "*");
    const name = tokenName("fleet reader");
    const created = await admin(fleet, "POST", "/tokens", { name, role: "reader", organizations: "*", expires_days: null });
    expect(created.status).toBe(201);
    const reader = asOperator((await json(created)).data);
    const shown = await json(await admin(reader, "GET", "/token"));
    expect(shown.data.organizations).toBe("*");
    expect(await auditOf("*", "token.create")).toContainEqual(expect.objectContaining({ actor: fleet.name, target: name, outcome: "ok: reader" }));
    // The new reader cannot manage tokens.
    const refused = await admin(reader, "POST", "/tokens", { name: tokenName("x"), role: "reader", organizations: "*" });
    expect(refused.status).toBe(403);
    await refused.arrayBuffer();
  });

  it("lists only the tokens entirely within the caller's scope, by name, page by page; revokes only those", async () => {
    const [a, b] = [newOrg(), newOrg()];
    const fleet = await newOperator("admin", "*");
    const scoped = await newOperator("admin", [a]);
    const names = { onlyA: tokenName("only-a"), both: tokenName("both"), onlyB: tokenName("only-b"), all: tokenName("all") };
    for (const [name, organizations] of [[names.onlyA, [a]], [names.both, [a, b]], [names.onlyB, [b]], [names.all, "*"]] as const) {
      const response = await admin(fleet, "POST", "/tokens", { name, role: "reader", organizations });
      expect(response.status).toBe(201);
      await response.arrayBuffer();
    }
    const seen = (await listAll(scoped, 1)).map((t) => t.name);
    expect(seen).toEqual([names.onlyA, scoped.name].sort());
    const everything = (await listAll(fleet, 2)).map((t) => t.name);
    expect(everything).toEqual(expect.arrayContaining([...Object.values(names), scoped.name, fleet.name]));
    expect([...everything].sort()).toEqual(everything);

    for (const name of [names.both, names.onlyB, names.all, tokenName("never made")]) {
      const response = await admin(scoped, "DELETE", `/tokens/${encodeURIComponent(name)}`);
      const body = await json(response);
      expect(response.status, name).toBe(404);
      expect(body.message).toBe("token not found");
    }
    const live = await env.OPERATOR_DB.prepare("SELECT COUNT(*) AS n FROM operator_tokens WHERE name IN (?, ?, ?) AND revoked_at IS NULL").bind(names.both, names.onlyB, names.all).first<{ n: number }>();
    expect(live?.n).toBe(3);
    const own = await admin(scoped, "DELETE", `/tokens/${encodeURIComponent(names.onlyA)}`);
    expect(own.status).toBe(200);
    await own.arrayBuffer();
  });

  it("a live name is 409 until that token is revoked; then the name may be given again", async () => {
    const org = newOrg();
    const boss = await newOperator("admin", [org]);
    const name = tokenName("twice");
    const first = await admin(boss, "POST", "/tokens", { name, role: "reader", organizations: [org] });
    expect(first.status).toBe(201);
    await first.arrayBuffer();
    const before = await auditOf(org, "token.create");
    const clash = await admin(boss, "POST", "/tokens", { name, role: "reader", organizations: [org] });
    const clashBody = await json(clash);
    expect(clash.status).toBe(409);
    expect(clashBody.message).toContain("already named");
    expect(await auditOf(org, "token.create")).toEqual(before);
    await (await admin(boss, "DELETE", `/tokens/${encodeURIComponent(name)}`)).arrayBuffer();
    const reused = await admin(boss, "POST", "/tokens", { name, role: "reader", organizations: [org] });
    expect(reused.status).toBe(201);
    await reused.arrayBuffer();
  });

  it("refuses bad bodies, names and cursors with a 400 that says what is wrong", async () => {
    const org = newOrg();
    const boss = await newOperator("admin", [org]);
    const cases: [unknown, RegExp][] = [
      [{ role: "reader", organizations: [org] }, /invalid token name null/],
      [{ name: "", role: "reader", organizations: [org] }, /invalid token name ""/],
      [{ name: "a/b", role: "reader", organizations: [org] }, /invalid token name/],
      [{ name: 42, role: "reader", organizations: [org] }, /invalid token name 42/],
      [{ name: "ok", role: "root", organizations: [org] }, /invalid role "root": one of reader, manager, admin/],
      [{ name: "ok", organizations: [org] }, /invalid role null/],
      [{ name: "ok", role: "reader" }, /organizations must be "\*" or a list/],
      [{ name: "ok", role: "reader", organizations: [] }, /organizations must be "\*" or a list/],
      [{ name: "ok", role: "reader", organizations: "all" }, /organizations must be "\*" or a list/],
      [{ name: "ok", role: "reader", organizations: ["../etc"] }, /invalid organization id "..\/etc"/],
      [{ name: "ok", role: "reader", organizations: [7] }, /invalid organization id 7/],
      [{ name: "ok", role: "reader", organizations: [org], expires_days: 0 }, /expires_days must be a whole number of days from 1 to 99999/],
      [{ name: "ok", role: "reader", organizations: [org], expires_days: 1.5 }, /expires_days/],
      [{ name: "ok", role: "reader", organizations: [org], expires_days: "7" }, /expires_days/],
      [{ name: "ok", role: "reader", organizations: [org], expires_days: 100_000 }, /expires_days/],
      [{ name: "ok", role: "reader", organizations: [org], secret: "mine" }, /unknown field "secret"/],
      [[], /must be a JSON object/],
    ];
    for (const [body, message] of cases) {
      const response = await admin(boss, "POST", "/tokens", body);
      const answer = await json(response);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(answer.message).toMatch(message);
      expect(answer.data).toBeNull();
    }
    const noBody = await admin(boss, "POST", "/tokens");
    expect(noBody.status).toBe(400);
    await noBody.arrayBuffer();
    for (const path of ["/tokens/a%2Fb", `/tokens/${"x".repeat(65)}`, "/tokens/%20lead"]) {
      const response = await admin(boss, "DELETE", path);
      expect(response.status, path).toBe(400);
      expect((await json(response)).message).toMatch(/invalid token name/);
    }
    for (const cursor of ["%24%24", "bm90IGpzb24", btoa(JSON.stringify([1, 2]))]) {
      const response = await admin(boss, "GET", `/tokens?cursor=${cursor}`);
      expect(response.status, cursor).toBe(400);
      expect((await json(response)).message).toBe("invalid cursor");
    }
    const created = await env.OPERATOR_DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE organization_id = ?").bind(org).first<{ n: number }>();
    expect(created?.n).toBe(0);
  });

  it("a token made over HTTP with expires_days stops working when that time passes (clock passed in)", async () => {
    const org = newOrg();
    const boss = await newOperator("admin", [org]);
    const created = await json(await admin(boss, "POST", "/tokens", { name: tokenName("short"), role: "reader", organizations: [org], expires_days: 2 }));
    const record = await readOperatorToken(env.OPERATOR_DB, created.data.token.slice(3, 19));
    expect(record).not.toBeNull();
    const now = Date.now();
    for (const [at, live] of [[now, true], [now + 2 * DAY - 60_000, true], [now + 2 * DAY + 60_000, false]] as const) {
      expect(isLive(record!, at), String(at - now)).toBe(live);
      expect(await verifyOperatorToken(record, created.data.token, at)).toBe(live);
      expect(operatorTokenStatus(record!, at)).toBe(live ? "live" : "expired");
    }
  });
});
