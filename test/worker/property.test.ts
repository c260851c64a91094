// Model-based property tests: random sequences of list, upload, retry, download (GET, HEAD,
// Range), delete, suspend, resume, rotate, the clock moving on (hours to days, so that the
// protected retention tier fills and rotates) and the hourly cron (which erases what has passed
// its recovery window) by four systems in two organisations, run against the
// worker (real local KV, R2 and ledger) and against the contract model (./model.ts).
// After every step the worker's answer equals the model's; at the end of every sequence R2
// holds exactly what the model says, every stored digest matches its bytes, no unrecorded blob
// is left, each organisation's quota usage equals its stored bytes, and every deleted or pruned
// backup is either in its recovery window, byte-exact, or was erased by the cron or the bound.

import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { generateSecret } from "../../src/auth/secret";
import { BASE, basicAuthorization, json, keyOf, newOrg, newSystem, organizationLedger, patternBytes, prefixOf, recoveryPrefixOf, runCron, send, sha256Hex, blobPrefixOf, storedBytes, unrecordedBlobs } from "./helpers";
import {
  ContractModel,
  expectRange,
  protectedTier,
  rangeHeader,
  type CredentialKind,
  type ModelBackup,
  type ModelLimits,
  type ModelSystem,
  type RangeSpec,
} from "./model";
import { fcParameters, fcSeed, fcTimeout } from "./seeds";

// Small limits so that retention (count, bytes, the protected tier) and the organisation quota
// are exercised by short sequences; rate limits off, since a sequence uploads faster than any
// appliance.
const LIMITS: ModelLimits = {
  maxUploadSize: 2048,
  maxPerSystem: 3,
  maxSizePerSystem: 3000,
  maxSizePerOrg: 6000,
  protectDaily: 1,
  protectWeekly: 2,
  protectMonthly: 1,
};
const OVERRIDES = {
  BACKUP_MAX_UPLOAD_SIZE: String(LIMITS.maxUploadSize),
  BACKUP_MAX_PER_SYSTEM: String(LIMITS.maxPerSystem),
  BACKUP_MAX_SIZE_PER_SYSTEM: String(LIMITS.maxSizePerSystem),
  BACKUP_MAX_SIZE_PER_ORG: String(LIMITS.maxSizePerOrg),
  BACKUP_RATE_LIMIT_PER_MINUTE: "0",
  BACKUP_RATE_LIMIT_PER_HOUR: "0",
  BACKUP_PROTECT_DAILY: String(LIMITS.protectDaily),
  BACKUP_PROTECT_WEEKLY: String(LIMITS.protectWeekly),
  BACKUP_PROTECT_MONTHLY: String(LIMITS.protectMonthly),
  // Bodies up to 1 KiB are written once from memory, larger ones stream into a blob (split backups).
  BACKUP_BUFFERED_UPLOAD_MAX: "1024",
};
const SYSTEMS = 4; // two per organisation
const DEFAULT_RUNS = 35;
const MAX_COMMANDS = 40;

/** The worker side of a run: the systems' keys and the KV records the operator commands rewrite. */
interface Real {
  records: Map<string, Record<string, unknown>>;
  steps: { count: number };
}

type Cmd = fc.AsyncCommand<ContractModel, Real>;

const STATS = { sequences: 0, steps: 0, requests: 0, outcomes: new Map<string, number>() };

/** Counts what a step exercised, so a run shows its coverage (and a dead generator shows). */
function tally(outcome: string): void {
  STATS.outcomes.set(outcome, (STATS.outcomes.get(outcome) ?? 0) + 1);
}

function systemAt(model: ContractModel, index: number): ModelSystem {
  return [...model.systems.values()][index % model.systems.size];
}

async function call(system: ModelSystem, secret: string, path: string, init: RequestInit = {}): Promise<Response> {
  STATS.requests++;
  const headers = new Headers(init.headers);
  headers.set("Authorization", basicAuthorization(system.key, secret));
  return send(new Request(BASE + path, { ...init, headers }), OVERRIDES);
}

/** Checks the envelope of a JSON answer and returns it. */
async function envelopeOf(response: Response, status: number) {
  expect(response.status).toBe(status);
  expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  const body = await json(response);
  expect(body.code).toBe(status);
  expect(typeof body.message).toBe("string");
  if (status === 401) expect(response.headers.get("WWW-Authenticate")).toBe('Basic realm="System Authentication"');
  return body;
}

function metadataOf(b: ModelBackup) {
  return { id: b.id, filename: b.filename, size: b.size, sha256: b.sha256, mimetype: b.mimetype, uploaded_at: b.uploaded_at };
}

// ---- id references: resolved against the model when the command runs ----

type IdRef = { kind: "own" | "foreign" | "gone" | "absent"; n: number };

function resolveId(model: ModelContext, ref: IdRef): string {
  const { model: m, system } = model;
  const pick = (ids: string[]) => (ids.length > 0 ? ids[ref.n % ids.length] : null);
  const own = system.backups.map((b) => b.id);
  const foreign = [...m.systems.values()].filter((s) => s !== system).flatMap((s) => s.backups.map((b) => b.id));
  const live = new Set([...m.systems.values()].flatMap((s) => s.backups.map((b) => b.id)));
  const gone = m.everMinted.filter((id) => !live.has(id));
  const chosen = ref.kind === "own" ? pick(own) : ref.kind === "foreign" ? pick(foreign) : ref.kind === "gone" ? pick(gone) : null;
  return chosen ?? absentId(ref.n);
}

/** A well-formed id that no system holds. */
function absentId(n: number): string {
  const hex = n.toString(16).padStart(12, "0").slice(-12);
  return `01900000-0000-7000-8000-${hex}.tar.gz`;
}

interface ModelContext {
  model: ContractModel;
  system: ModelSystem;
}

// ---- commands ----

class ListCommand implements Cmd {
  constructor(readonly sys: number, readonly cred: CredentialKind) {}
  check = () => true;
  async run(model: ContractModel, real: Real) {
    const system = systemAt(model, this.sys);
    const secret = model.secretFor(system, this.cred);
    const expected = model.list(system, secret);
    const body = await envelopeOf(await call(system, secret, ""), expected ? 200 : 401);
    tally(`list ${expected ? 200 : 401}`);
    if (!expected) return void expect(body.data).toEqual({});
    expect(body.data.backups).toEqual(expected.map(metadataOf));
    for (const listed of body.data.backups) {
      // Every listed digest is the digest of the bytes stored under that id.
      const bytes = await storedBytes(keyOf(system, listed.id));
      expect(bytes).not.toBeNull();
      expect(await sha256Hex(bytes!)).toBe(listed.sha256);
    }
    real.steps.count++;
  }
  toString = () => `list(s${this.sys}, ${this.cred})`;
}

class UploadCommand implements Cmd {
  constructor(
    readonly sys: number,
    readonly cred: CredentialKind,
    readonly size: number,
    readonly seed: number,
    readonly filename: string | null,
    readonly digest: boolean,
    /** A retry as the NS8 client's `curl --retry` sends it: the bytes of the system's newest backup, if it has one. */
    readonly retry = false,
  ) {}
  check = () => true;
  async run(model: ContractModel, real: Real) {
    const system = systemAt(model, this.sys);
    const secret = model.secretFor(system, this.cred);
    const newest = this.retry ? system.backups[0] : undefined;
    const bytes = newest ? newest.bytes : patternBytes(this.size, this.seed);
    const size = bytes.byteLength;
    const sha256 = await sha256Hex(bytes);
    const expected = model.expectUpload(system, secret, size, sha256, this.filename);
    const headers: Record<string, string> = { "Content-Type": "application/octet-stream", "Content-Length": String(size) };
    if (this.filename !== null) headers["X-Filename"] = this.filename;
    if (this.digest) headers["X-Checksum-SHA256"] = sha256;
    const body = await envelopeOf(await call(system, secret, "", { method: "POST", body: bytes, headers }), expected.status);
    real.steps.count++;
    const kind = this.retry ? "retry" : "upload";
    tally(`${kind} ${expected.status}${"reason" in expected ? " " + expected.reason : ""}`);
    if (expected.status === 200) {
      expect(body.message).toBe("backup already stored");
      return void expect(body.data).toEqual(metadataOf(expected.backup));
    }
    if (expected.status !== 201) return void expect(body.data).toEqual(expected.status === 401 ? {} : null);
    const data = body.data;
    expect(data.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\./);
    expect(data.id.slice(36)).toBe(expected.extension);
    if (typeof expected.filename === "string") expect(data.filename).toBe(expected.filename);
    else expect(data.filename).toMatch(expected.filename);
    expect(data.size).toBe(size);
    expect(data.sha256).toBe(sha256);
    expect(data.uploaded_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(typeof data.mimetype).toBe("string");
    // Newest first is commit order (the model's): the list commands check the new backup leads.
    const pruned = model.commitUpload(system, { ...data, bytes });
    if (pruned.length > 0) tally("upload 201 with retention prune");
    if (protectedTier(system.backups, LIMITS, model.now).size > 0) tally("upload 201 with the protected tier holding backups");
    if (system.backups.length > LIMITS.maxPerSystem) tally("upload 201 with more kept than the rotating tier holds");
  }
  toString = () =>
    this.retry
      ? `retry(s${this.sys}, ${this.cred}, ${JSON.stringify(this.filename)}${this.digest ? ", digest" : ""})`
      : `upload(s${this.sys}, ${this.cred}, ${this.size}B#${this.seed}, ${JSON.stringify(this.filename)}${this.digest ? ", digest" : ""})`;
}

class DownloadCommand implements Cmd {
  constructor(
    readonly sys: number,
    readonly cred: CredentialKind,
    readonly ref: IdRef,
    readonly method: "GET" | "HEAD",
    readonly range: RangeSpec | null,
  ) {}
  check = () => true;
  async run(model: ContractModel, real: Real) {
    const system = systemAt(model, this.sys);
    const secret = model.secretFor(system, this.cred);
    const id = resolveId({ model, system }, this.ref);
    const owner = model.ownerOf(id);
    const expected = model.fetch(system, secret, id);
    const headers: Record<string, string> = this.range ? { Range: rangeHeader(this.range) } : {};
    const response = await call(system, secret, `/${id}`, { method: this.method, headers });
    real.steps.count++;
    const rangeStatus = typeof expected !== "number" && this.method === "GET" && this.range ? expectRange(this.range, expected.size).status : null;
    tally(`${this.method} ${this.ref.kind}${owner && owner.org !== system.org ? " (other org)" : ""} ${typeof expected === "number" ? expected : rangeStatus ?? 200}`);
    if (typeof expected === "number") {
      if (this.method === "HEAD") {
        expect(response.status).toBe(expected);
        expect(await response.text()).toBe("");
      } else await envelopeOf(response, expected);
      // Nobody else's backup was touched by the attempt.
      if (owner && owner !== system) expect(await env.BACKUPS.head(keyOf(owner, id))).not.toBeNull();
      return;
    }
    const backup = expected;
    const range = this.method === "GET" && this.range ? expectRange(this.range, backup.size) : ({ status: 200 } as const);
    if (range.status === 416) {
      await envelopeOf(response, 416);
      expect(response.headers.get("Content-Range")).toBe(`bytes */${backup.size}`);
      return;
    }
    expect(response.status).toBe(range.status);
    expect(response.headers.get("Content-Type")).toBe("application/octet-stream");
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(response.headers.get("Content-Disposition")).toBe(`attachment; filename="${backup.filename}"`);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(response.headers.get("ETag")).toBeTruthy();
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (this.method === "HEAD") {
      expect(bytes.length).toBe(0);
      expect(response.headers.get("Content-Length")).toBe(String(backup.size));
    } else if (range.status === 206) {
      expect(response.headers.get("Content-Range")).toBe(`bytes ${range.start}-${range.end}/${backup.size}`);
      expect(bytes).toEqual(backup.bytes.slice(range.start, range.end + 1));
    } else {
      expect(response.headers.get("Content-Length")).toBe(String(backup.size));
      expect(bytes).toEqual(backup.bytes);
    }
  }
  toString = () => `${this.method.toLowerCase()}(s${this.sys}, ${this.cred}, ${this.ref.kind}#${this.ref.n}${this.range ? ", " + rangeHeader(this.range) : ""})`;
}

class DeleteCommand implements Cmd {
  constructor(readonly sys: number, readonly cred: CredentialKind, readonly ref: IdRef) {}
  check = () => true;
  async run(model: ContractModel, real: Real) {
    const system = systemAt(model, this.sys);
    const secret = model.secretFor(system, this.cred);
    const id = resolveId({ model, system }, this.ref);
    const owner = model.ownerOf(id);
    const expected = model.remove(system, secret, id);
    const body = await envelopeOf(await call(system, secret, `/${id}`, { method: "DELETE" }), expected);
    real.steps.count++;
    tally(`DELETE ${this.ref.kind}${owner && owner.org !== system.org ? " (other org)" : ""} ${expected}`);
    if (expected === 200) {
      expect(body.data).toEqual({ id });
      expect(await env.BACKUPS.head(keyOf(system, id))).toBeNull();
      // Not destroyed: in the recovery window, out of the appliance's reach (docs/recovery.md).
      const copy = await env.BACKUPS.head(recoveryPrefixOf(system) + id);
      expect(copy?.customMetadata).toMatchObject({ reason: "deleted", removed_by: system.key });
    } else if (owner && owner !== system) {
      // Another system's backup survives the attempt.
      expect(await env.BACKUPS.head(keyOf(owner, id))).not.toBeNull();
    }
  }
  toString = () => `delete(s${this.sys}, ${this.cred}, ${this.ref.kind}#${this.ref.n})`;
}

/** The operator's suspend / resume / rotate: a rewrite of the system's KV record, as the CLI does. */
class OperatorCommand implements Cmd {
  constructor(readonly sys: number, readonly action: "suspend" | "resume" | "rotate") {}
  check = () => true;
  async run(model: ContractModel, real: Real) {
    const system = systemAt(model, this.sys);
    const record = { ...real.records.get(system.key)! };
    if (this.action === "suspend") {
      record.suspended_at = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
      model.suspend(system);
    } else if (this.action === "resume") {
      record.suspended_at = null;
      model.resume(system);
    } else {
      const { systemSecret, secretPublic, secretSha256 } = await generateSecret();
      record.secret_public = secretPublic;
      record.secret_sha256 = secretSha256;
      model.rotate(system, systemSecret);
    }
    tally(this.action);
    real.records.set(system.key, record);
    await env.SYSTEMS.put(system.key, JSON.stringify(record));
    real.steps.count++;
  }
  toString = () => `${this.action}(s${this.sys})`;
}

/**
 * Time passes: the model's clock moves on, and the worker's (the ledger runs in this isolate,
 * so its Date is the one vitest sets). Odd minutes keep commits off the exact 24 h boundary.
 */
class ClockCommand implements Cmd {
  constructor(readonly hours: number) {}
  check = () => true;
  async run(model: ContractModel, real: Real) {
    model.now += this.hours * 3_600_000 + 7 * 60_000;
    vi.setSystemTime(model.now);
    tally("clock");
    real.steps.count++;
  }
  toString = () => `clock(+${this.hours} h)`;
}

/** The hourly cron at the model's clock (its scheduled time): every recovery window that has ended is erased. */
class CronCommand implements Cmd {
  check = () => true;
  async run(model: ContractModel, real: Real) {
    await runCron(model.now);
    model.eraseEnded();
    tally("cron");
    real.steps.count++;
  }
  toString = () => "cron()";
}

// ---- arbitraries ----

// Systems 0 and 1 (one per organisation) get most of the traffic, so that backups pile up
// under them and downloads, ranges, deletes and retention have something to act on.
const sys = fc.constantFrom(0, 0, 0, 1, 1, 1, 2, 3);
const cred = fc.constantFrom<CredentialKind>("current", "current", "current", "stale");
const idRef = fc.record({ kind: fc.constantFrom<IdRef["kind"]>("own", "own", "own", "foreign", "gone", "absent"), n: fc.nat({ max: 50 }) });
// Names an appliance might send, including paths, quotes and punctuation (ASCII: the hostile
// suite covers the bytes beyond it).
const filename = fc.option(
  fc.oneof(
    fc.constantFrom("backup-1712887200.tar.gz.gpg", "dump.tar.xz", "x.TAR.BZ2", "a.tar.zst", "notes.txt", "..", "", "/etc/passwd", "..\\..\\win.ini"),
    fc.tuple(fc.string({ unit: "grapheme-ascii", maxLength: 30 }), fc.constantFrom("", ".tar.gz", ".gpg", ".tar.zst", ".zip")).map(([a, b]) => a + b),
  ),
  { freq: 5 },
);
const size = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 1600 }) }, fc.constant(0), fc.integer({ min: 1601, max: 3100 }));
const offset = fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 400 }) }, fc.nat({ max: 1700 }));
const range: fc.Arbitrary<RangeSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(offset, offset).map(([a, b]) => ({ kind: "span" as const, first: Math.min(a, b), last: Math.max(a, b) })) },
  fc.record({ kind: fc.constant("span" as const), first: fc.nat({ max: 1700 }), last: fc.nat({ max: 1700 }) }),
  fc.record({ kind: fc.constant("from" as const), first: offset }),
  fc.record({ kind: fc.constant("suffix" as const), length: offset }),
  fc.record({ kind: fc.constant("multi" as const), spans: fc.array(fc.tuple(fc.nat({ max: 100 }), fc.nat({ max: 100 })), { minLength: 2, maxLength: 3 }) }),
);

const commands = [
  fc.tuple(sys, cred).map(([s, c]) => new ListCommand(s, c)),
  fc.tuple(sys, cred, size, fc.nat(), filename, fc.boolean()).map(([s, c, n, seed, f, d]) => new UploadCommand(s, c, n, seed, f, d)),
  fc.tuple(sys, cred, idRef, fc.constantFrom<"GET" | "HEAD">("GET", "GET", "HEAD"), fc.option(range, { freq: 2 })).map(
    ([s, c, r, m, g]) => new DownloadCommand(s, c, r, m, g),
  ),
  fc.tuple(sys, cred, idRef).map(([s, c, r]) => new DeleteCommand(s, c, r)),
  fc.tuple(sys, fc.constantFrom("suspend" as const, "resume" as const, "resume" as const, "rotate" as const)).map(([s, a]) => new OperatorCommand(s, a)),
  // A retry of the system's newest backup (a lost 201), buffered or streamed by its size.
  fc.tuple(sys, cred, filename, fc.boolean()).map(([s, c, f, d]) => new UploadCommand(s, c, 1, 0, f, d, true)),
  fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 30 }) }, fc.integer({ min: 20, max: 24 * 40 })).map((h) => new ClockCommand(h)),
  fc.constant(new CronCommand()),
];
// Uploads are what the rest needs to bite on: give them more weight.
const weighted = [commands[0], commands[1], commands[1], commands[1], commands[2], commands[2], commands[2], commands[3], commands[4], commands[5], commands[6], commands[7]];

/** What R2 and the ledger must hold at the end of a sequence, whatever the steps were. */
async function auditStorage(model: ContractModel): Promise<void> {
  for (const system of model.systems.values()) {
    const prefix = prefixOf(system);
    const listed = await env.BACKUPS.list({ prefix, include: ["customMetadata"] });
    expect(listed.truncated).toBe(false);
    expect(listed.objects.map((o) => o.key).sort()).toEqual(system.backups.map((b) => prefix + b.id).sort());
    for (const backup of system.backups) {
      const object = await env.BACKUPS.head(prefix + backup.id);
      const bytes = (await storedBytes(prefix + backup.id))!;
      expect(await sha256Hex(bytes)).toBe(object!.customMetadata!.sha256);
      expect(bytes).toEqual(backup.bytes);
    }
    expect(await unrecordedBlobs(blobPrefixOf(system))).toEqual([]);
    // Every removed backup is either recoverable, byte-exact, or was erased by the cron or the bound.
    const recovery = await env.BACKUPS.list({ prefix: recoveryPrefixOf(system), include: ["customMetadata"] });
    expect(recovery.objects.map((o) => o.key).sort()).toEqual(system.recoverable.map((r) => recoveryPrefixOf(system) + r.backup.id).sort());
    for (const { backup, reason } of system.recoverable) {
      const object = await env.BACKUPS.get(recoveryPrefixOf(system) + backup.id);
      expect(object!.customMetadata!.reason).toBe(reason);
      expect(new Uint8Array(await object!.arrayBuffer())).toEqual(backup.bytes);
    }
  }
  for (const org of new Set([...model.systems.values()].map((s) => s.org))) {
    const stub = organizationLedger(org);
    expect(await stub.usageBytes(org)).toBe(model.orgUsage(org));
    expect(await stub.recoverableBytes(org)).toBe(model.recoverableBytes(org));
  }
}

describe("the worker behaves as the contract model under random operation sequences", () => {
  it(
    "list, upload, retry, download, delete, suspend, resume and rotate by four systems in two organisations",
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.commands(weighted, { maxCommands: MAX_COMMANDS, size: "max" }), async (cmds) => {
          const model = new ContractModel(LIMITS);
          vi.setSystemTime(model.now); // the worker's clock is the model's from here on
          const real: Real = { records: new Map(), steps: { count: 0 } };
          const orgs = [newOrg(), newOrg()];
          for (let i = 0; i < SYSTEMS; i++) {
            const system = await newSystem({ org: orgs[i % 2] });
            model.addSystem(system.key, system.org, system.secret);
            real.records.set(system.key, { ...system.record });
          }
          try {
            await fc.asyncModelRun(() => ({ model, real }), cmds);
            await auditStorage(model);
          } finally {
            vi.useRealTimers();
          }
          STATS.sequences++;
          STATS.steps += real.steps.count;
        }),
        fcParameters(DEFAULT_RUNS),
      );
      const outcomes = [...STATS.outcomes].sort().map(([k, v]) => `  ${k}: ${v}`).join("\n");
      console.log(`property (seed ${fcSeed()}): ${STATS.sequences} sequences, ${STATS.steps} steps, ${STATS.requests} requests checked against the model\n${outcomes}`);
    },
    fcTimeout(DEFAULT_RUNS, 120_000),
  );
});
