// The older service's protocol as the released clients speak it (imported credentials): request
// sequences over the same systems, store, ledger and audit as the appliance API.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { listAuditEvents } from "../../src/operator/audit";
import { readActivity } from "../../src/operator/system-activity";
import { awayFromMinuteBoundary, basicAuthorization, client, json, keyOf, NO_RATE_LIMITS, objectKeys, patternBytes, prefixOf, randomIp, sameBytes, send } from "./helpers";
import { legacyClient, newLegacySystem, ORIGIN } from "./legacy-helpers";

const NAME = "backup-1733390000.tar.gz.gpg";

async function auditOf(org: string) {
  return (await listAuditEvents(env.OPERATOR_DB, org, { limit: 100, cursor: null }))!.events;
}

/** Waits for waitUntil work (audit, activity) that the real entry runs after answering. */
async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 50 && !ok(value); i++) {
    await new Promise((r) => setTimeout(r, 20));
    value = await read();
  }
  return value;
}

describe("older protocol: the released client flow", { timeout: 30_000 }, () => {
  it("list empty → PUT → listed by both protocols → download byte-exact → dual-send copy is a retry → delete → 404", async () => {
    const system = await newLegacySystem();
    const legacy = legacyClient(system);
    const empty = await legacy.list();
    expect(empty.status).toBe(200);
    expect(empty.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(await empty.text()).toBe('{"backups":[]}');

    const bytes = patternBytes(40_000, 7);
    const before = Math.floor(Date.now() / 1000);
    const put = await legacy.put(bytes, NAME);
    expect(put.status).toBe(201);
    const stored = (await put.json()) as { id: string; name: string; created: number; size: number; mimetype: string };
    expect(stored).toMatchObject({ name: NAME, size: bytes.byteLength, mimetype: "application/pgp-encrypted" });

    const listed = (await (await legacy.list()).json()) as { backups: (typeof stored)[] };
    expect(listed.backups).toEqual([stored]);
    expect(Number.isInteger(listed.backups[0].created)).toBe(true);
    expect(listed.backups[0].created).toBeGreaterThanOrEqual(before);
    expect(listed.backups[0].created).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    // The appliance API lists the same backup; the {type} is recorded with the object.
    const appliance = await json<{ backups: { id: string; filename: string }[] }>(await client(system).list());
    expect(appliance.data.backups.map((b) => [b.id, b.filename])).toEqual([[stored.id, NAME]]);
    expect((await env.BACKUPS.head(keyOf(system, stored.id)))?.customMetadata?.legacy_type).toBe("enterprise");

    const download = await legacy.download(stored.id);
    expect(download.status).toBe(200);
    expect(download.headers.get("Content-Disposition")).toBe(`attachment; filename="${NAME}"`);
    expect(sameBytes(new Uint8Array(await download.arrayBuffer()), bytes)).toBe(true);

    const copy = await legacy.proxyUpload(bytes, NAME);
    expect(copy.status).toBe(200);
    expect((await json<{ id: string }>(copy)).data.id).toBe(stored.id);
    expect(await objectKeys(prefixOf(system))).toEqual([keyOf(system, stored.id)]);

    const removed = await legacy.remove(stored.id);
    expect(removed.status).toBe(200);
    expect(removed.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(await removed.text()).toBe('{"result":"success"}');
    const gone = await legacy.download(stored.id);
    expect(gone.status).toBe(404);
    await gone.body?.cancel();
    expect(await (await legacy.list()).text()).toBe('{"backups":[]}');
    const actions = (await eventually(() => auditOf(system.org), (e) => e.some((x) => x.action === "backup.delete"))).map((e) => e.action);
    expect(actions).toContain("backup.delete");
  });

  it("community and enterprise serve the same store; a backup stored by the appliance API is listed by the older protocol, newest first", async () => {
    const system = await newLegacySystem();
    const first = await client(system).upload("appliance bytes", "config.tar.gz");
    expect(first.status).toBe(201);
    const firstId = (await json<{ id: string }>(first)).data.id;
    const community = legacyClient(system, { type: "community" });
    const put = await community.put("NS8 dump bytes", "dump.json.gz.gpg");
    expect(put.status).toBe(201);
    const secondId = ((await put.json()) as { id: string }).id;
    expect((await env.BACKUPS.head(keyOf(system, secondId)))?.customMetadata?.legacy_type).toBe("community");
    for (const type of ["enterprise", "community"]) {
      const body = (await (await legacyClient(system, { type }).list()).json()) as { backups: { id: string; name: string; mimetype: string }[] };
      expect(body.backups.map((b) => [b.id, b.name])).toEqual([
        [secondId, "dump.json.gz.gpg"],
        [firstId, "config.tar.gz"],
      ]);
      expect(body.backups[0].mimetype).toBe("application/pgp-encrypted");
    }
  });

  it("paths with a trailing slash or `//` answer, never redirect; any other {type} is 404", async () => {
    const system = await newLegacySystem();
    const auth = { Authorization: system.legacyAuthorization };
    for (const path of ["/enterprise/api/v2/backup", "/enterprise/api/v2/backup/", "//enterprise//api/v2//backup//", "/community/api/v2/backup/"]) {
      const response = await send(new Request(ORIGIN + path, { headers: auth, redirect: "manual" }));
      expect(response.status, path).toBe(200);
      expect(await response.text()).toBe('{"backups":[]}');
    }
    const put = await send(new Request(`${ORIGIN}//enterprise/api/v2/backup//${NAME}`, { method: "PUT", body: "x", headers: { ...auth, "Content-Length": "1" } }));
    expect(put.status).toBe(201);
    await put.body?.cancel();
    for (const path of ["/business/api/v2/backup/", "/Enterprise/api/v2/backup/", "/enterprise/api/v1/backup/"]) {
      const response = await send(new Request(ORIGIN + path, { headers: auth }));
      expect(response.status, path).toBe(404);
      expect((await json(response)).code).toBe(404);
    }
  });

  it("a name is sanitised as X-Filename is; a PUT without a name gets one; no Content-Type is needed", async () => {
    const system = await newLegacySystem();
    const legacy = legacyClient(system);
    const odd = await legacy.put("bytes one", "we%20ird%3Bname%22.tar.gz");
    expect(odd.status).toBe(201);
    expect(((await odd.json()) as { name: string }).name).toBe("we_ird_name_.tar.gz");
    const unnamed = await send(new Request(legacy.base, { method: "PUT", body: "bytes two", headers: { Authorization: system.legacyAuthorization, "Content-Length": "9" } }));
    expect(unnamed.status).toBe(201);
    expect(((await unnamed.json()) as { name: string }).name).toMatch(/^backup-[0-9a-f-]{36}$/);
  });

  it("an upload without Content-Length is 411, an empty one 400, and both are recorded as refused", async () => {
    const system = await newLegacySystem();
    const chunked = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("streamed"));
        controller.close();
      },
    });
    const noLength = await send(new Request(`${ORIGIN}/enterprise/api/v2/backup/${NAME}`, { method: "PUT", body: chunked, headers: { Authorization: system.legacyAuthorization } }));
    expect(noLength.status).toBe(411);
    await noLength.body?.cancel();
    const events = await eventually(() => auditOf(system.org), (e) => e.some((x) => x.action === "backup.refused"));
    expect(events.find((e) => e.action === "backup.refused")).toMatchObject({ actor: system.key, target: system.key, outcome: "refused: rejected: Content-Length required" });
  });
});

describe("older protocol: credentials", { timeout: 30_000 }, () => {
  it("unknown id, wrong secret, a secret of another system, suspended and retired: 401 with WWW-Authenticate: Basic, in the envelope", async () => {
    const system = await newLegacySystem();
    const other = await newLegacySystem();
    const suspended = await newLegacySystem({ record: { suspended_at: "2026-01-01T00:00:00Z" } });
    const retired = await newLegacySystem({ record: { deleted_at: "2026-01-01T00:00:00Z" } });
    const notImported = await newLegacySystem({ legacySecret: null });
    const cases = [
      basicAuthorization(`legacy-${crypto.randomUUID()}`, system.legacySecret),
      basicAuthorization(system.legacyId, system.legacySecret + "x"),
      basicAuthorization(system.legacyId, other.legacySecret),
      suspended.legacyAuthorization,
      retired.legacyAuthorization,
      basicAuthorization(notImported.legacyId, "anything"),
      // The appliance credentials are not legacy credentials.
      system.authorization,
      "Bearer op_x.y",
      "",
    ];
    for (const authorization of cases) {
      const response = await legacyClient(system, { authorization }).list();
      expect(response.status, authorization).toBe(401);
      expect(response.headers.get("WWW-Authenticate")).toMatch(/^Basic /);
      expect(await json(response)).toEqual({ code: 401, message: "invalid token", data: {} });
    }
  });

  it("legacy credentials never work on the appliance API or the operator API", async () => {
    const system = await newLegacySystem();
    const appliance = await send(new Request("https://vault.test/api/systems/backups", { headers: { Authorization: system.legacyAuthorization } }));
    expect(appliance.status).toBe(401);
    await appliance.body?.cancel();
    const admin = await send(new Request("https://vault.test/api/admin/organizations", { headers: { Authorization: system.legacyAuthorization } }));
    expect(admin.status).toBe(401);
    await admin.body?.cancel();
  });

  it("a burst of failures from one address is throttled (429) as on the appliance API", async () => {
    const system = await newLegacySystem();
    await awayFromMinuteBoundary(20_000); // the local rate limiter counts in wall-clock minutes
    const ip = randomIp();
    const statuses: number[] = [];
    for (let i = 0; i < 32; i++) {
      const response = await send(new Request(`${ORIGIN}/enterprise/api/v2/backup/`, { headers: { Authorization: basicAuthorization(system.key, "wrong"), "CF-Connecting-IP": ip } }));
      statuses.push(response.status);
      await response.body?.cancel();
    }
    expect(statuses.slice(0, 29).every((s) => s === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
  }, 60_000);

  it("GET /proxy/credentials mints new appliance credentials (audited rotation); the legacy ones keep working", async () => {
    const system = await newLegacySystem();
    const legacy = legacyClient(system);
    const response = await legacy.credentials();
    expect(response.status).toBe(200);
    const body = await json<{ system_key: string; system_secret: string }>(response);
    expect(body.code).toBe(200);
    expect(body.data.system_key).toBe(system.key);
    expect(body.data.system_secret).toMatch(/^my_[0-9a-f]+\./);
    const fresh = { ...system, authorization: basicAuthorization(body.data.system_key, body.data.system_secret) };
    const listed = await client(fresh).list();
    expect(listed.status).toBe(200);
    await listed.body?.cancel();
    const old = await client(system).list();
    expect(old.status).toBe(401);
    await old.body?.cancel();
    const still = await legacy.list();
    expect(still.status).toBe(200);
    await still.body?.cancel();
    // Each call rotates again: the secret it gave before stops working.
    const again = await json<{ system_secret: string }>(await legacy.credentials());
    expect(again.data.system_secret).not.toBe(body.data.system_secret);
    const events = await auditOf(system.org);
    expect(events.filter((e) => e.action === "system.rotate" && e.target === system.key && e.actor === system.key)).toHaveLength(2);
  });
});

describe("older protocol: refusals nobody else will see", { timeout: 30_000 }, () => {
  it("a refused upload (quota) is audited backup.refused and marks the system; an authenticated call marks it seen", async () => {
    const system = await newLegacySystem();
    const response = await legacyClient(system, { overrides: { BACKUP_MAX_SIZE_PER_ORG: "10" } }).put("more than ten bytes", NAME);
    expect(response.status).toBe(413);
    await response.body?.cancel();
    const events = await eventually(() => auditOf(system.org), (e) => e.some((x) => x.action === "backup.refused"));
    expect(events.find((e) => e.action === "backup.refused")).toMatchObject({ actor: system.key, outcome: "refused: quota" });
    const activity = await readActivity(env.OPERATOR_DB, system.key);
    expect(activity.last_refused_reason).toBe("quota");
    expect(activity.last_refused_at).not.toBeNull();
    expect(activity.last_seen_at).not.toBeNull();
  });

  it("an upload with the right secret of a suspended system is 401 and recorded as refused", async () => {
    const system = await newLegacySystem({ record: { suspended_at: "2026-01-01T00:00:00Z" } });
    const response = await legacyClient(system).put("bytes", NAME);
    expect(response.status).toBe(401);
    await response.body?.cancel();
    const activity = await eventually(() => readActivity(env.OPERATOR_DB, system.key), (a) => a.last_refused_reason !== null);
    expect(activity.last_refused_reason).toBe("system suspended");
    // A wrong secret records nothing (it is not the system's upload).
    const intruder = await newLegacySystem({ record: { suspended_at: "2026-01-01T00:00:00Z" } });
    const wrong = await legacyClient(intruder, { authorization: basicAuthorization(intruder.legacyId, "wrong") }).put("bytes", NAME);
    expect(wrong.status).toBe(401);
    await wrong.body?.cancel();
    expect((await readActivity(env.OPERATOR_DB, intruder.key)).last_refused_reason).toBeNull();
  });

  it("the rate limit never refuses the first legacy upload of a day, and refuses the next (audited)", async () => {
    const system = await newLegacySystem();
    const oneAMinute = { BACKUP_RATE_LIMIT_PER_MINUTE: "1", BACKUP_RATE_LIMIT_PER_HOUR: "0" };
    // A failed upload takes the window's only slot and stores nothing.
    const broken = await send(
      new Request(`${ORIGIN}/enterprise/api/v2/backup/${NAME}`, { method: "PUT", body: "short", headers: { Authorization: system.legacyAuthorization, "Content-Length": "50" } }),
      oneAMinute,
    );
    expect(broken.status).toBe(400);
    await broken.body?.cancel();
    // The appliance API is refused by the full window; the older protocol's first upload of the day is not.
    const appliance = await client(system, oneAMinute).upload("appliance bytes");
    expect(appliance.status).toBe(429);
    await appliance.body?.cancel();
    const first = await legacyClient(system, { overrides: oneAMinute }).put("first of the day", NAME);
    expect(first.status).toBe(201);
    await first.body?.cancel();
    const second = await legacyClient(system, { overrides: oneAMinute }).put("second of the day", NAME);
    expect(second.status).toBe(429);
    await second.body?.cancel();
    const activity = await eventually(() => readActivity(env.OPERATOR_DB, system.key), (a) => a.last_refused_reason === "rate");
    expect(activity.last_refused_reason).toBe("rate");
  });

  it("DELETE on an append-only system is 403 in the envelope, never {\"result\":\"success\"}", async () => {
    const system = await newLegacySystem({ record: { append_only: true } });
    const legacy = legacyClient(system, { overrides: NO_RATE_LIMITS });
    const put = await legacy.put("kept", NAME);
    const id = ((await put.json()) as { id: string }).id;
    const response = await legacy.remove(id);
    expect(response.status).toBe(403);
    const body = await response.text();
    expect(body).not.toBe('{"result":"success"}');
    expect(JSON.parse(body)).toMatchObject({ code: 403 });
    expect(await objectKeys(prefixOf(system))).toEqual([keyOf(system, id)]);
  });
});
