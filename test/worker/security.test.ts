// Security review of the edges, as tests:
// - the credential check does the same work for an unknown key as for a known one (one KV
//   read, one salted SHA-256 of the same size, one constant-time comparison of 32 bytes);
// - no log line ever carries a secret, an Authorization header or a stored hash, whatever
//   fails (bad credentials, malformed records, KV / R2 / ledger faults, hostile headers);
// - every authenticated answer carries `Cache-Control: no-store`;
// - what a leaked credential can and cannot do, with the limits that contain it.
//
// Timing itself is not measured: inside workerd the clock does not advance while code runs
// (a Spectre mitigation), so the same-work property is checked on the code path instead.

import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { generateSecret } from "../../src/auth/secret";
import { FaultInjector, injectIntoLedger } from "./fault-bindings";
import { BASE, basic, client, json, newSystem, NO_RATE_LIMITS, patternBytes, randomIp, send, sha256Hex, type TestSystem } from "./helpers";
import { uuidv7At } from "./model";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Records the credential check's cryptographic work and KV reads for one request. */
async function workOf(authorization: string) {
  const digests: number[] = [];
  const comparisons: [number, number][] = [];
  const subtle = crypto.subtle;
  const digest = subtle.digest.bind(subtle);
  const timingSafeEqual = subtle.timingSafeEqual.bind(subtle);
  vi.spyOn(subtle, "digest").mockImplementation(((algorithm: string | { name: string }, data: ArrayBuffer | ArrayBufferView) => {
    digests.push(data.byteLength);
    return digest(algorithm, data);
  }) as SubtleCrypto["digest"]);
  vi.spyOn(subtle, "timingSafeEqual").mockImplementation(((a: ArrayBuffer | ArrayBufferView, b: ArrayBuffer | ArrayBufferView) => {
    comparisons.push([a.byteLength, b.byteLength]);
    return timingSafeEqual(a, b);
  }) as SubtleCrypto["timingSafeEqual"]);
  const calls = new FaultInjector();
  const response = await send(new Request(BASE, { headers: { Authorization: authorization, "CF-Connecting-IP": randomIp() } }), calls.overrides());
  const text = await response.text();
  vi.restoreAllMocks();
  return {
    status: response.status,
    challenge: response.headers.get("WWW-Authenticate"),
    text,
    digests,
    comparisons,
    kvReads: calls.callsTo("SYSTEMS").length,
    otherCalls: calls.calls.length - calls.callsTo("SYSTEMS").length,
  };
}

describe("the credential check does the same work for every failure", () => {
  it("unknown key, wrong secret, wrong public part, inactive or malformed record: one KV read, one SHA-256 over salt ‖ secret part, one 32-byte constant-time comparison", async () => {
    const active = await newSystem();
    const [, secretPart] = active.secret.split(".");
    const sameLength = (s: string) => s.slice(0, -1) + (s.endsWith("A") ? "B" : "A");
    const suspended = await newSystem({ record: { suspended_at: "2026-05-01T00:00:00Z" } });
    const deleted = await newSystem({ record: { deleted_at: "2026-05-01T00:00:00Z" } });
    const unregistered = await newSystem({ record: { registered_at: null } });
    const malformedKey = `NETH-${crypto.randomUUID()}`;
    await env.SYSTEMS.put(malformedKey, "{not json");
    const cases = {
      "unknown key": basic(`NETH-${crypto.randomUUID()}`, active.secret),
      "wrong secret part": basic(active.key, sameLength(active.secret)),
      "wrong public part": basic(active.key, `my_${"0".repeat(16)}.${secretPart}`),
      suspended: suspended.authorization,
      deleted: deleted.authorization,
      unregistered: unregistered.authorization,
      "malformed record": basic(malformedKey, active.secret),
    };
    const baseline = await workOf(active.authorization);
    expect(baseline.status).toBe(200);
    // Salts are 16 bytes for generated records and for the decoy alike.
    const expectedDigest = 16 + secretPart.length;
    expect(baseline.digests).toEqual([expectedDigest]);
    expect(baseline.comparisons).toEqual([[32, 32]]);
    expect(baseline.kvReads).toBe(1);
    const answers = new Set<string>();
    for (const [name, authorization] of Object.entries(cases)) {
      const work = await workOf(authorization);
      expect(work.status, name).toBe(401);
      expect(work.challenge, name).toBe('Basic realm="System Authentication"');
      expect(work.digests, name).toEqual([expectedDigest]);
      expect(work.comparisons, name).toEqual([[32, 32]]);
      expect(work.kvReads, name).toBe(1);
      expect(work.otherCalls, name).toBe(0);
      answers.add(work.text);
    }
    expect([...answers]).toEqual([JSON.stringify({ code: 401, message: "invalid token", data: {} })]);
  });

  it("a secret without the my_<public>.<secret> shape is still hashed and compared once", async () => {
    const active = await newSystem();
    const work = await workOf(basic(active.key, "x".repeat(60)));
    expect(work.status).toBe(401);
    expect(work.digests).toEqual([16 + 60]);
    expect(work.comparisons).toEqual([[32, 32]]);
  });
});

describe("logs never carry a credential or a hash", () => {
  it("across successes, failures, malformed records, injected faults and hostile headers", async () => {
    const lines: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map((a) => (typeof a === "string" ? a : a instanceof Error ? `${a.message} ${a.stack}` : JSON.stringify(a))).join(" "));
      });
    }
    const system = await newSystem();
    const api = client(system, NO_RATE_LIMITS);
    const secrets: TestSystem[] = [system];

    // Ordinary traffic and ordinary refusals.
    const first = (await json(await api.upload(patternBytes(500), "a.tar.gz"))).data.id;
    await (await api.list()).arrayBuffer();
    await (await api.download(first)).arrayBuffer();
    await send(new Request(BASE, { headers: { Authorization: basic(system.key, system.secret + "x") } })).then((r) => r.arrayBuffer());
    await send(new Request(BASE, { headers: { Authorization: "Basic " + btoa(`${system.key}:${system.secret}\x01`) } })).then((r) => r.arrayBuffer());

    // A malformed record (logged as such) whose clear secret is known to the caller.
    const broken = await newSystem();
    secrets.push(broken);
    await env.SYSTEMS.put(broken.key, JSON.stringify({ ...broken.record, organization_id: "../evil" }));
    await send(new Request(BASE, { headers: { Authorization: broken.authorization } })).then((r) => r.arrayBuffer());

    // Every kind of injected fault on every binding, each logged by the worker or the ledger.
    const faulty = await newSystem();
    secrets.push(faulty);
    const faultyApi = client(faulty, NO_RATE_LIMITS);
    await (await faultyApi.upload(patternBytes(10, 1), "x.gpg")).arrayBuffer();
    const victim = (await json(await faultyApi.upload(patternBytes(10, 2), "y.gpg"))).data.id;
    for (const [n, [binding, method]] of ([
      ["SYSTEMS", "get"],
      ["BACKUPS", "list"],
      ["BACKUPS", "put"],
      ["BACKUPS", "delete"],
      ["ORG_LEDGER", "reserve"],
      ["ORG_LEDGER", "commit"],
      ["ORG_LEDGER", "forget"],
      ["LEDGER.BACKUPS", "delete"],
    ] as const).entries()) {
      const injector = new FaultInjector({ binding, method, nth: 1, mode: "throw" });
      await injectIntoLedger(injector, faulty.org);
      const overrides = { ...NO_RATE_LIMITS, BACKUP_MAX_PER_SYSTEM: "2", ...injector.overrides() };
      await (await client(faulty, overrides).list()).arrayBuffer();
      await (await client(faulty, overrides).upload(patternBytes(10, 3 + n), "z.gpg")).arrayBuffer(); // new bytes: never a repeat
      await (await client(faulty, overrides).remove(victim)).arrayBuffer();
    }

    // Rotation: the old and the new secret both in play.
    const rotated = await generateSecret();
    await env.SYSTEMS.put(system.key, JSON.stringify({ ...system.record, secret_public: rotated.secretPublic, secret_sha256: rotated.secretSha256 }));
    await send(new Request(BASE, { headers: { Authorization: system.authorization } })).then((r) => r.arrayBuffer());
    await send(new Request(BASE, { headers: { Authorization: basic(system.key, rotated.systemSecret) } })).then((r) => r.arrayBuffer());
    vi.restoreAllMocks();

    expect(lines.length).toBeGreaterThan(5); // the faults above were logged: the scan has something to scan
    const forbidden: string[] = [rotated.systemSecret, rotated.systemSecret.split(".")[1], rotated.secretSha256, ...rotated.secretSha256.split(":")];
    for (const s of secrets) {
      forbidden.push(s.secret, s.secret.split(".")[1], s.authorization, s.authorization.slice("Basic ".length), s.record.secret_sha256, ...s.record.secret_sha256.split(":"));
    }
    for (const line of lines) for (const secret of forbidden) expect(line.includes(secret), `a log line carries a credential: ${line.slice(0, 200)}`).toBe(false);
    for (const line of lines) expect(line).not.toMatch(/authorization/i);
  });
});

describe("authenticated answers are never cached", () => {
  it("every answer, success or error, carries Cache-Control: no-store", async () => {
    const system = await newSystem();
    const api = client(system, { ...NO_RATE_LIMITS, BACKUP_MAX_UPLOAD_SIZE: "1000" });
    const created = await api.upload(patternBytes(300), "c.tar.gz");
    const { id } = (await json(created.clone())).data;
    const etag = (await api.head(id)).headers.get("ETag")!;
    const answers: [string, Response][] = [
      ["upload 201", created],
      ["list 200", await api.list()],
      ["download 200", await api.download(id)],
      ["download 206", await api.download(id, { Range: "bytes=0-9" })],
      ["download 416", await api.download(id, { Range: "bytes=999-" })],
      ["download 304", await api.download(id, { "If-None-Match": etag })],
      ["head 200", await api.head(id)],
      ["download 404", await api.download(`${id.slice(0, 30)}000000.gpg`)],
      ["upload 413", await api.upload(patternBytes(1001), "big.gpg")],
      ["upload 400", await api.upload(new Uint8Array(0), "empty.gpg")],
      ["id 400", await api.download("not-an-id")],
      ["method 405", await send(new Request(BASE, { method: "PUT", headers: { Authorization: system.authorization } }))],
      ["no credentials 401", await send(new Request(BASE))],
      ["delete 200", await api.remove(id)],
    ];
    const limited = client(system); // default limits: 6 uploads a minute
    let tooMany: Response | null = null;
    for (let i = 0; i < 8 && !tooMany; i++) {
      const r = await limited.upload(patternBytes(10, i), "r.gpg");
      if (r.status === 429) tooMany = r;
      else await r.arrayBuffer();
    }
    answers.push(["upload 429", tooMany!]);
    for (const [name, response] of answers) {
      expect(response, name).toBeTruthy();
      expect(response.headers.get("Cache-Control"), name).toBe("no-store");
      await response.arrayBuffer();
    }
  });
});

describe("what a leaked credential can and cannot do", () => {
  it("reaches only its own system's backups, is throttled, cannot rotate away the protected tier, and dies with rotation", async () => {
    const org = `org_${crypto.randomUUID().slice(0, 8)}`;
    const leaked = await newSystem({ org });
    const sibling = await newSystem({ org });
    const siblingId = (await json(await client(sibling).upload(patternBytes(100, 7), "s.gpg"))).data.id;

    // A backup uploaded eight days ago: the weekly protected tier keeps it through any flood.
    const oldId = `${uuidv7At(Date.now() - 8 * 24 * 3_600_000)}.tar.gz`;
    const oldBytes = patternBytes(200, 8);
    const oldSha = await sha256Hex(oldBytes);
    await env.BACKUPS.put(`${org}/${leaked.key}/${oldId}`, oldBytes, {
      sha256: oldSha,
      customMetadata: { filename: "old.tar.gz", sha256: oldSha, uploaded_at: "2026-01-01T00:00:00Z", uploader_ip: "10.0.0.1", system_id: leaked.record.system_id },
    });

    // Cannot see, fetch or delete the sibling's backup.
    const attacker = client(leaked);
    const listed = (await json(await attacker.list())).data.backups.map((b: { id: string }) => b.id);
    expect(listed).toEqual([oldId]);
    expect((await attacker.download(siblingId)).status).toBe(404);
    expect((await attacker.remove(siblingId)).status).toBe(404);

    // A flood is cut by the rate limit (6 a minute by default) with Retry-After.
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) {
      const r = await attacker.upload(patternBytes(50, i + 1), "flood.gpg");
      statuses.push(r.status);
      if (r.status === 429) expect(Number(r.headers.get("Retry-After"))).toBeGreaterThan(0);
      await r.arrayBuffer();
    }
    expect(statuses).toEqual([201, 201, 201, 201, 201, 201, 429, 429, 429]);

    // Even unthrottled, a flood rotates the newest tier only: the protected backup stays.
    const unthrottled = client(leaked, { ...NO_RATE_LIMITS, BACKUP_MAX_PER_SYSTEM: "3" });
    for (let i = 0; i < 12; i++) await (await unthrottled.upload(patternBytes(40, 100 + i), "flood.gpg")).arrayBuffer();
    const afterFlood = (await json(await attacker.list())).data.backups.map((b: { id: string }) => b.id);
    expect(afterFlood).toContain(oldId);
    expect(afterFlood).toHaveLength(4);

    // An append-only system's credential cannot delete at all.
    const appendOnly = await newSystem({ org, record: { append_only: true } });
    const kept = (await json(await client(appendOnly).upload(patternBytes(30, 9), "a.gpg"))).data.id;
    const refused = await client(appendOnly).remove(kept);
    expect(refused.status).toBe(403);
    await refused.arrayBuffer();
    expect(await env.BACKUPS.head(`${org}/${appendOnly.key}/${kept}`)).not.toBeNull();

    // Rotation ends the leaked secret (here at once; at the edge within KV's cache time).
    const rotated = await generateSecret();
    await env.SYSTEMS.put(leaked.key, JSON.stringify({ ...leaked.record, secret_public: rotated.secretPublic, secret_sha256: rotated.secretSha256 }));
    const after = await attacker.list();
    expect(after.status).toBe(401);
    await after.arrayBuffer();
    expect(await env.BACKUPS.head(`${org}/${sibling.key}/${siblingId}`)).not.toBeNull();
  });
});
