// Limits that hold under concurrency and abuse: retention, organisation quota, rate limits,
// append-only systems and the protected retention tier.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/backups/ids";
import { parseLimits } from "../../src/config";
import { client, json, newOrg, newSystem, NO_RATE_LIMITS, objectKeys, patternBytes, sha256Hex, type Overrides } from "./helpers";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function ledger(org: string) {
  return env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(org));
}

async function storedIds(system: { org: string; key: string }): Promise<string[]> {
  const prefix = `${system.org}/${system.key}/`;
  return (await objectKeys(prefix)).map((k) => k.slice(prefix.length)).sort().reverse();
}

describe("retention per system", () => {
  it("with BACKUP_MAX_PER_SYSTEM=3, five uploads leave the three newest", async () => {
    const system = await newSystem();
    const api = client(system, { ...NO_RATE_LIMITS, BACKUP_MAX_PER_SYSTEM: "3" });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await json(await api.upload(`backup ${i}`, `b${i}.gpg`))).data.id);
    const expected = ids.slice(2).reverse();
    expect((await json(await api.list())).data.backups.map((b: any) => b.id)).toEqual(expected);
    expect(await storedIds(system)).toEqual(expected);
  });

  it("eight concurrent uploads leave exactly three, all committed ones, the newest among them", async () => {
    const system = await newSystem();
    const api = client(system, { ...NO_RATE_LIMITS, BACKUP_MAX_PER_SYSTEM: "3" });
    const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => api.upload(patternBytes(2048, i + 1), `c${i}.tar.gz`)));
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(201));
    const committed = await Promise.all(responses.map(async (r) => (await json(r)).data.id as string));
    const atRest = await storedIds(system);
    expect(atRest).toHaveLength(3);
    for (const id of atRest) expect(committed).toContain(id);
    expect(atRest).toContain([...committed].sort().at(-1));
    expect(await ledger(system.org).usageBytes(system.org)).toBe(3 * 2048);
  });

  it("prunes the oldest until the size cap holds, and refuses a single upload above it with 413, pruning nothing", async () => {
    const system = await newSystem();
    const api = client(system, { ...NO_RATE_LIMITS, BACKUP_MAX_SIZE_PER_SYSTEM: "1000" });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await json(await api.upload(patternBytes(400, i + 1), `s${i}.gpg`))).data.id);
    expect(await storedIds(system)).toEqual([ids[2], ids[1]]);
    const atCap = await api.upload(patternBytes(1000), "full.gpg");
    expect(atCap.status).toBe(201);
    const full = (await json(atCap)).data.id;
    expect(await storedIds(system)).toEqual([full]); // the newest always survives
    const tooBig = await api.upload(patternBytes(1001), "huge.gpg");
    expect(tooBig.status).toBe(413);
    expect(await json(tooBig)).toEqual({ code: 413, message: "backup exceeds the per-system storage limit", data: null });
    expect(await storedIds(system)).toEqual([full]);
  });
});

describe("organisation quota", () => {
  const quota: Overrides = { ...NO_RATE_LIMITS, BACKUP_MAX_SIZE_PER_ORG: "400000" };

  it("with BACKUP_MAX_SIZE_PER_ORG=400000: four uploads of 90 000 bytes pass, the fifth gets 413, another organisation still uploads, a delete frees quota at once", async () => {
    const org = newOrg();
    const a = client(await newSystem({ org }), quota);
    const b = client(await newSystem({ org }), quota);
    const ids: string[] = [];
    for (const [i, api] of [a, b, a, b].entries()) {
      const r = await api.upload(patternBytes(90_000, i + 1), "q.gpg");
      expect(r.status).toBe(201);
      ids.push((await json(r)).data.id);
    }
    const fifth = await b.upload(patternBytes(90_000, 5), "q.gpg");
    expect(fifth.status).toBe(413);
    const text = await fifth.text();
    expect(JSON.parse(text)).toEqual({ code: 413, message: "organization storage quota exceeded", data: null });
    expect(text).not.toContain("400000");

    const other = await client(await newSystem(), quota).upload(patternBytes(90_000), "q.gpg");
    expect(other.status).toBe(201);
    await other.body?.cancel();

    expect((await a.remove(ids[0])).status).toBe(200);
    const afterDelete = await b.upload(patternBytes(90_000), "q.gpg");
    expect(afterDelete.status).toBe(201);
    await afterDelete.body?.cancel();
    expect(await ledger(org).usageBytes(org)).toBe(4 * 90_000);
  });

  it("stays exact under concurrent uploads from many systems of one organisation", async () => {
    const org = newOrg();
    const systems = await Promise.all(Array.from({ length: 4 }, () => newSystem({ org })));
    const overrides = { ...NO_RATE_LIMITS, BACKUP_MAX_SIZE_PER_ORG: String(5 * 10_000) };
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => client(systems[i % 4], overrides).upload(patternBytes(10_000, i + 1), "c.gpg")),
    );
    const statuses = responses.map((r) => r.status).sort();
    await Promise.all(responses.map((r) => r.body?.cancel()));
    expect(statuses).toEqual([...Array(5).fill(201), ...Array(5).fill(413)]);
    expect(await ledger(org).usageBytes(org)).toBe(50_000);
    expect((await objectKeys(`${org}/`)).length).toBe(5);
  });

  it("refuses with 503 (fail closed) when the ledger cannot be reached, storing nothing", async () => {
    const system = await newSystem();
    const brokenLedger = {
      idFromName: (name: string) => env.ORG_LEDGER.idFromName(name),
      get: () => new Proxy({}, { get: () => () => Promise.reject(new Error("Durable Object reset")) }),
    };
    const response = await client(system, { ORG_LEDGER: brokenLedger }).upload("x", "x.gpg");
    expect(response.status).toBe(503);
    expect(await json(response)).toEqual({ code: 503, message: "backup storage unavailable", data: null });
    expect(await objectKeys(`${system.org}/`)).toEqual([]);
  });

  it("takes the object back and frees the reservation when the ledger cannot record the upload", async () => {
    const system = await newSystem();
    const failingCommit = {
      idFromName: (name: string) => env.ORG_LEDGER.idFromName(name),
      get: (id: DurableObjectId) => {
        const stub = env.ORG_LEDGER.get(id);
        return new Proxy(stub, {
          get: (target, prop) => (prop === "commit" ? () => Promise.reject(new Error("ledger overloaded")) : Reflect.get(target, prop)),
        });
      },
    };
    const response = await client(system, { ORG_LEDGER: failingCommit }).upload(patternBytes(5000), "x.gpg");
    expect(response.status).toBe(503);
    expect(await json(response)).toEqual({ code: 503, message: "backup storage unavailable", data: null });
    expect(await objectKeys(`${system.org}/`)).toEqual([]);
    expect(await objectKeys(`.staging/${system.org}/`)).toEqual([]);
    expect(await ledger(system.org).usageBytes(system.org)).toBe(0);
  });

  it("rebuilds the usage figure from R2 when the ledger has no state", async () => {
    const org = newOrg();
    const system = await newSystem({ org });
    await env.BACKUPS.put(`${org}/${system.key}/${uuidv7()}.gpg`, patternBytes(1234), { customMetadata: { sha256: "x" } });
    await env.BACKUPS.put(`${org}/NETH-other/${uuidv7()}.gpg`, patternBytes(766), { customMetadata: { sha256: "x" } });
    await env.BACKUPS.put(`${org}/NETH-other/not-a-backup.txt`, "ignored");
    expect(await ledger(org).usageBytes(org)).toBe(2000);
  });

  it("counts a disabled quota (0) as no limit", async () => {
    const system = await newSystem();
    const r = await client(system, { BACKUP_MAX_SIZE_PER_ORG: "0" }).upload(patternBytes(5000), "x.gpg");
    expect(r.status).toBe(201);
    await r.body?.cancel();
  });
});

describe("upload rate limits per system", () => {
  it("with BACKUP_RATE_LIMIT_PER_MINUTE=2 the third upload gets 429 with Retry-After; listing works; another system is unaffected", async () => {
    const limits: Overrides = { BACKUP_RATE_LIMIT_PER_MINUTE: "2" };
    const system = await newSystem();
    const api = client(system, limits);
    // Cheap validations first: refused uploads do not burn the system's slots.
    const oversize = await client(system, { ...limits, BACKUP_MAX_UPLOAD_SIZE: "10" }).upload("more than ten bytes", "x.gpg");
    expect(oversize.status).toBe(413);
    await oversize.body?.cancel();
    for (let i = 0; i < 2; i++) {
      const r = await api.upload(`ok ${i}`, "x.gpg");
      expect(r.status).toBe(201);
      await r.body?.cancel();
    }
    const third = await api.upload("third", "x.gpg");
    expect(third.status).toBe(429);
    const retryAfter = Number(third.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await json(third)).toEqual({ code: 429, message: "upload rate limit exceeded", data: { retry_after: retryAfter } });

    const listed = await api.list();
    expect(listed.status).toBe(200);
    expect((await json(listed)).data.backups).toHaveLength(2);
    const other = await client(await newSystem({ org: system.org }), limits).upload("other", "x.gpg");
    expect(other.status).toBe(201);
    await other.body?.cancel();
  });

  it("applies the hourly window too, and 0 disables both", async () => {
    const system = await newSystem();
    const api = client(system, { BACKUP_RATE_LIMIT_PER_MINUTE: "0", BACKUP_RATE_LIMIT_PER_HOUR: "3" });
    for (let i = 0; i < 3; i++) expect((await api.upload(`h${i}`, "x.gpg")).status).toBe(201);
    const fourth = await api.upload("h3", "x.gpg");
    expect(fourth.status).toBe(429);
    const retryAfter = Number(fourth.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(60);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    await fourth.body?.cancel();
    const unlimited = client(await newSystem(), NO_RATE_LIMITS);
    for (let i = 0; i < 8; i++) expect((await unlimited.upload(`u${i}`, "x.gpg")).status).toBe(201);
  });
});

describe("history a compromised appliance cannot wipe", () => {
  it("refuses DELETE with 403 for an append-only system, which can still upload, list and download", async () => {
    const system = await newSystem({ record: { append_only: true } });
    const api = client(system);
    const created = (await json(await api.upload("keep me", "k.gpg"))).data;
    const refused = await api.remove(created.id);
    expect(refused.status).toBe(403);
    expect(await json(refused)).toEqual({ code: 403, message: "system is append-only: backups cannot be deleted", data: null });
    expect((await json(await api.list())).data.backups).toHaveLength(1);
    expect(await (await api.download(created.id)).text()).toBe("keep me");
  });

  it("a flood of uploads keeps the newest backup older than 24 h and the newest of each of the last 4 weeks", async () => {
    const system = await newSystem();
    const prefix = `${system.org}/${system.key}/`;
    const now = Date.now();
    const aged = (ms: number) => `${uuidv7(now - ms)}.gpg`;
    const old = { h30: aged(30 * HOUR), d3: aged(3 * DAY), d10: aged(10 * DAY), d17: aged(17 * DAY), d24: aged(24 * DAY), d40: aged(40 * DAY) };
    for (const id of Object.values(old)) {
      await env.BACKUPS.put(prefix + id, "old", {
        customMetadata: { filename: "old.gpg", sha256: await sha256Hex("old"), uploaded_at: "2026-01-01T00:00:00Z", uploader_ip: "x", system_id: "x" },
      });
    }
    const api = client(system, NO_RATE_LIMITS); // default retention: 10 newest + protected tier
    const flood: string[] = [];
    for (let i = 0; i < 25; i++) flood.push((await json(await api.upload(`flood ${i}`, "f.gpg"))).data.id);
    const atRest = await storedIds(system);
    for (const id of [old.h30, old.d10, old.d17, old.d24]) expect(atRest).toContain(id);
    expect(atRest).not.toContain(old.d3); // neither the newest > 24 h nor the newest of its week
    expect(atRest).not.toContain(old.d40); // older than 4 weeks
    expect(atRest).toEqual([...flood.slice(-10).reverse(), old.h30, old.d10, old.d17, old.d24]);
  }, 60_000);
});

describe("configuration", () => {
  const defaults = {
    BACKUP_MAX_UPLOAD_SIZE: "104857600",
    BACKUP_MAX_PER_SYSTEM: "10",
    BACKUP_MAX_SIZE_PER_SYSTEM: "524288000",
    BACKUP_MAX_SIZE_PER_ORG: "107374182400",
    BACKUP_RATE_LIMIT_PER_MINUTE: "6",
    BACKUP_RATE_LIMIT_PER_HOUR: "60",
    BACKUP_PROTECT_DAILY: "1",
    BACKUP_PROTECT_WEEKLY: "4",
    AUDIT_RETENTION_DAYS: "400",
    BACKUP_BUFFERED_UPLOAD_MAX: "1048576",
  };

  it("parses the wrangler.toml defaults, which are the contract's", () => {
    expect(parseLimits(env as unknown as Record<string, unknown>)).toEqual({
      maxUploadSize: 100 * 1024 ** 2,
      maxPerSystem: 10,
      maxSizePerSystem: 500 * 1024 ** 2,
      maxSizePerOrg: 100 * 1024 ** 3,
      rateLimitPerMinute: 6,
      rateLimitPerHour: 60,
      protectDaily: 1,
      protectWeekly: 4,
      auditRetentionDays: 400,
      bufferedUploadMax: 1024 ** 2,
    });
    expect(parseLimits(defaults).maxPerSystem).toBe(10);
  });

  it("fails loudly with the variable's name, never falling back", () => {
    for (const [name, value] of [
      ["BACKUP_MAX_PER_SYSTEM", "ten"],
      ["BACKUP_MAX_PER_SYSTEM", "0"],
      ["BACKUP_MAX_UPLOAD_SIZE", "-1"],
      ["BACKUP_MAX_SIZE_PER_ORG", "1e9"],
      ["BACKUP_RATE_LIMIT_PER_HOUR", ""],
      ["BACKUP_PROTECT_DAILY", "2"],
      ["AUDIT_RETENTION_DAYS", "0"],
    ]) {
      expect(() => parseLimits({ ...defaults, [name]: value })).toThrow(name);
    }
    const { BACKUP_PROTECT_WEEKLY: _, ...missing } = defaults;
    expect(() => parseLimits(missing)).toThrow("BACKUP_PROTECT_WEEKLY is not set");
  });
});
