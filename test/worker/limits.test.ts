// Limits that hold under concurrency and abuse: retention, organisation quota, rate limits,
// append-only systems.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/backups/ids";
import { parseLimits } from "../../src/config";
import { FaultInjector } from "./fault-bindings";
import { organizationPrefix } from "../../src/backups/keys";
import { client, json, keyOf, newOrg, newSystem, NO_RATE_LIMITS, objectKeys, organizationBlobPrefix, organizationLedger, patternBytes, prefixOf, unrecordedBlobs, type Overrides } from "./helpers";

async function storedIds(system: { org: string; key: string }): Promise<string[]> {
  const prefix = prefixOf(system);
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
    expect(await organizationLedger(system.org).usageBytes(system.org)).toBe(3 * 2048);
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
    expect(await organizationLedger(org).usageBytes(org)).toBe(4 * 90_000);
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
    expect(await organizationLedger(org).usageBytes(org)).toBe(50_000);
    expect((await objectKeys(organizationPrefix(org))).length).toBe(5);
  });

  it("refuses with 503 (fail closed) when the ledger cannot be reached, storing nothing", async () => {
    const system = await newSystem();
    const brokenLedger = new FaultInjector({ binding: "ORG_LEDGER", method: "*", nth: "every", mode: "throw", message: "Durable Object reset" });
    const response = await client(system, { ORG_LEDGER: brokenLedger.overrides().ORG_LEDGER }).upload("x", "x.gpg");
    expect(response.status).toBe(503);
    expect(await json(response)).toEqual({ code: 503, message: "backup storage unavailable", data: null });
    expect(await objectKeys(organizationPrefix(system.org))).toEqual([]);
  });

  it("takes the object back and frees the reservation when the ledger cannot record the upload", async () => {
    const system = await newSystem();
    const failingCommit = new FaultInjector({ binding: "ORG_LEDGER", method: "commit", nth: "every", mode: "throw", message: "ledger overloaded" });
    const response = await client(system, { ORG_LEDGER: failingCommit.overrides().ORG_LEDGER }).upload(patternBytes(5000), "x.gpg");
    expect(response.status).toBe(503);
    expect(await json(response)).toEqual({ code: 503, message: "backup storage unavailable", data: null });
    expect(await objectKeys(organizationPrefix(system.org))).toEqual([]);
    expect(await unrecordedBlobs(organizationBlobPrefix(system.org))).toEqual([]);
    expect(await organizationLedger(system.org).usageBytes(system.org)).toBe(0);
  });

  it("rebuilds the usage figure from R2 when the ledger has no state", async () => {
    const org = newOrg();
    const system = await newSystem({ org });
    await env.BACKUPS.put(keyOf(system, `${uuidv7()}.gpg`), patternBytes(1234), { customMetadata: { sha256: "x" } });
    await env.BACKUPS.put(keyOf({ org, key: "NETH-other" }, `${uuidv7()}.gpg`), patternBytes(766), { customMetadata: { sha256: "x" } });
    await env.BACKUPS.put(keyOf({ org, key: "NETH-other" }, "not-a-backup.txt"), "ignored");
    expect(await organizationLedger(org).usageBytes(org)).toBe(2000);
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
  // The protected tier over months, and a flood against it: retention-over-time.test.ts.
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
    BACKUP_PROTECT_MONTHLY: "3",
    AUDIT_RETENTION_DAYS: "400",
    BACKUP_BUFFERED_UPLOAD_MAX: "1048576",
    RECOVERY_DAYS: "7",
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
      protectMonthly: 3,
      auditRetentionDays: 400,
      bufferedUploadMax: 1024 ** 2,
      recoveryDays: 7,
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
      ["BACKUP_PROTECT_DAILY", "367"],
      ["BACKUP_PROTECT_MONTHLY", "121"],
      ["AUDIT_RETENTION_DAYS", "0"],
      ["RECOVERY_DAYS", "0"], // no deletion may be final at once
    ]) {
      expect(() => parseLimits({ ...defaults, [name]: value })).toThrow(name);
    }
    const { BACKUP_PROTECT_WEEKLY: _, ...missing } = defaults;
    expect(() => parseLimits(missing)).toThrow("BACKUP_PROTECT_WEEKLY is not set");
  });
});
