// Delegated legacy credentials (LEGACY_AUTH_URL): the worker asks the delegate with the client's
// Basic header. The delegate here is a local stand-in reached through miniflare's outbound
// service (test/legacy-delegate-stub.mjs): password `good…` 200, `down…` 503, `slow…` past the
// deadline, anything else 401.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { askDelegate, type Fetcher } from "../../src/auth/legacy-delegate";
import { readLegacyEntry } from "../../src/auth/legacy-credentials";
import { legacyAuthOf } from "../../src/config";
import { listAuditEvents } from "../../src/operator/audit";
import { basicAuthorization, client, json, newOrg } from "./helpers";
import { legacyClient, newLegacySystem } from "./legacy-helpers";

const DELEGATE = "http://legacy-auth.test/auth";

async function timesAsked(user: string): Promise<number> {
  const response = await fetch(`http://legacy-auth.test/__asked/${encodeURIComponent(user)}`);
  return ((await response.json()) as { asked: number }).asked;
}

function delegated(authorization: string, extra: Record<string, string> = {}) {
  return legacyClient({ legacyAuthorization: authorization }, { overrides: { LEGACY_AUTH_URL: DELEGATE, ...extra } });
}

describe("delegated legacy credentials", { timeout: 30_000 }, () => {
  it("a known system the delegate accepts is in; the answer is cached; a refusal is 401", async () => {
    const system = await newLegacySystem({ legacySecret: null });
    const good = delegated(basicAuthorization(system.legacyId, "good-secret"));
    const first = await good.list();
    expect(first.status).toBe(200);
    expect(await first.text()).toBe('{"backups":[]}');
    const put = await good.put("bytes through the delegate", "backup-1.tar.gz.gpg");
    expect(put.status).toBe(201);
    await put.body?.cancel();
    expect(await timesAsked(system.legacyId)).toBe(1);
    const refused = await delegated(basicAuthorization(system.legacyId, "wrong")).list();
    expect(refused.status).toBe(401);
    expect(refused.headers.get("WWW-Authenticate")).toMatch(/^Basic /);
    await refused.body?.cancel();
    expect(await timesAsked(system.legacyId)).toBe(2);
  });

  it("an imported hash is not what a delegated deployment checks", async () => {
    const system = await newLegacySystem();
    const response = await delegated(system.legacyAuthorization).list();
    expect(response.status).toBe(401);
    await response.body?.cancel();
  });

  it("a delegate that is down or slow is 503 with Retry-After, never a guess, and never cached", async () => {
    const system = await newLegacySystem({ legacySecret: null });
    for (const password of ["down-1", "slow-1"]) {
      const response = await delegated(basicAuthorization(system.legacyId, password)).list();
      expect(response.status, password).toBe(503);
      expect(response.headers.get("Retry-After")).toBe("30");
      expect((await json(response)).message).toBe("authentication service unavailable");
    }
    const again = await delegated(basicAuthorization(system.legacyId, "down-1")).list();
    expect(again.status).toBe(503);
    await again.body?.cancel();
    expect(await timesAsked(system.legacyId)).toBe(3);
  }, 30_000);

  it("a suspended system the delegate accepts is 401", async () => {
    const system = await newLegacySystem({ legacySecret: null, record: { suspended_at: "2026-01-01T00:00:00Z" } });
    const response = await delegated(basicAuthorization(system.legacyId, "good")).list();
    expect(response.status).toBe(401);
    await response.body?.cancel();
  });

  it("with LEGACY_ENROL_ORG, an unknown system the delegate accepts is enrolled on first contact (audited), once", async () => {
    const org = newOrg();
    const legacyId = `enrol-${crypto.randomUUID()}`;
    const legacy = delegated(basicAuthorization(legacyId, "good-enrol"), { LEGACY_ENROL_ORG: org });
    const first = await legacy.put("first contact", "dump.json.gz.gpg");
    expect(first.status).toBe(201);
    await first.body?.cancel();
    const entry = await readLegacyEntry(env.SYSTEMS, legacyId);
    expect(entry?.record).toMatchObject({ system_id: legacyId, organization_id: org, suspended_at: null, deleted_at: null });
    expect(entry?.record.legacy_secret_sha256).toBeUndefined();
    const listed = (await (await legacy.list()).json()) as { backups: unknown[] };
    expect(listed.backups).toHaveLength(1);
    const events = (await listAuditEvents(env.OPERATOR_DB, org, { limit: 10, cursor: null }))!.events;
    expect(events.filter((e) => e.action === "system.enrol")).toEqual([expect.objectContaining({ target: entry!.system_key, actor: `legacy:${legacyId}`, outcome: "ok" })]);
    // Its appliance credentials come from the migration call, and work on the appliance API.
    const credentials = await json<{ system_key: string; system_secret: string }>(await legacy.credentials());
    expect(credentials.data.system_key).toBe(entry!.system_key);
    const appliance = await client({ authorization: basicAuthorization(credentials.data.system_key, credentials.data.system_secret) } as never).list();
    expect((await json<{ backups: unknown[] }>(appliance)).data.backups).toHaveLength(1);
  });

  it("without LEGACY_ENROL_ORG, an unknown system the delegate accepts is 401 and nothing is enrolled", async () => {
    const legacyId = `stranger-${crypto.randomUUID()}`;
    const response = await delegated(basicAuthorization(legacyId, "good")).list();
    expect(response.status).toBe(401);
    await response.body?.cancel();
    expect(await readLegacyEntry(env.SYSTEMS, legacyId)).toBeNull();
  });
});

describe("the delegate's answers over time", { timeout: 30_000 }, () => {
  const config = { ...legacyAuthOf({ ...env, LEGACY_AUTH_URL: DELEGATE, LEGACY_AUTH_CACHE_SECONDS: "600" } as Env), delegateUrl: DELEGATE };
  const answering = (status: number) => {
    const calls: string[] = [];
    const fetcher: Fetcher = async (request) => {
      calls.push(request.headers.get("Authorization") ?? "");
      return new Response(null, { status });
    };
    return { calls, fetcher };
  };

  it("a positive answer is kept for LEGACY_AUTH_CACHE_SECONDS, for that secret only", async () => {
    const id = `cache-${crypto.randomUUID()}`;
    const { calls, fetcher } = answering(204);
    const t0 = Date.UTC(2026, 0, 1);
    expect(await askDelegate(config, id, "s1", "Basic a", fetcher, t0)).toBe(true);
    expect(await askDelegate(config, id, "s1", "Basic a", fetcher, t0 + 599_000)).toBe(true);
    expect(calls).toHaveLength(1);
    expect(await askDelegate(config, id, "s2", "Basic b", fetcher, t0 + 1_000)).toBe(true); // another secret: asked
    expect(calls).toHaveLength(2);
    expect(await askDelegate(config, id, "s2", "Basic b", fetcher, t0 + 601_001)).toBe(true); // expired: asked again
    expect(calls).toHaveLength(3);
  });

  it("a negative answer is kept for less (a tenth, at most 60 s)", async () => {
    const id = `negative-${crypto.randomUUID()}`;
    const { calls, fetcher } = answering(403);
    const t0 = Date.UTC(2026, 0, 1);
    expect(config.negativeSeconds).toBe(60);
    expect(await askDelegate(config, id, "bad", "Basic x", fetcher, t0)).toBe(false);
    expect(await askDelegate(config, id, "bad", "Basic x", fetcher, t0 + 59_000)).toBe(false);
    expect(calls).toHaveLength(1);
    expect(await askDelegate(config, id, "bad", "Basic x", fetcher, t0 + 61_000)).toBe(false);
    expect(calls).toHaveLength(2);
  });

  it("5xx and 429 are 503 (never cached); a 3xx or 4xx is a refusal", async () => {
    const id = `status-${crypto.randomUUID()}`;
    for (const status of [500, 502, 429]) await expect(askDelegate(config, id, "x", "Basic x", answering(status).fetcher)).rejects.toMatchObject({ status: 503 });
    expect(await askDelegate(config, `${id}-r`, "x", "Basic x", answering(302).fetcher)).toBe(false);
    expect(await askDelegate(config, `${id}-u`, "x", "Basic x", answering(401).fetcher)).toBe(false);
  });

  it("LEGACY_* variables are validated with their names", () => {
    expect(() => legacyAuthOf({ ...env, LEGACY_AUTH_URL: "ftp://x" } as Env)).toThrow(/LEGACY_AUTH_URL/);
    expect(() => legacyAuthOf({ ...env, LEGACY_AUTH_CACHE_SECONDS: "ten" } as Env)).toThrow(/LEGACY_AUTH_CACHE_SECONDS/);
    expect(() => legacyAuthOf({ ...env, LEGACY_ENROL_ORG: "../x" } as Env)).toThrow(/LEGACY_ENROL_ORG/);
    expect(legacyAuthOf({ ...env } as Env)).toEqual({ delegateUrl: null, positiveSeconds: 600, negativeSeconds: 60, enrolOrganization: null });
  });
});
