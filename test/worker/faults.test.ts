// Injected faults: every operation is run once to record the calls it makes (KV, R2, the
// ledger, and R2 as the ledger itself reaches it for rebuilds and prunes), then once more per
// recorded call with that one call failing — thrown, answered-then-lost (for writes), or hung.
// Per fault point the suite tabulates the status, what is stored afterwards and the ledger's
// state, and checks the invariants:
//   - the answer is the operation's success or 503 in the envelope, never a 500;
//   - no backup is listed whose digest does not match its bytes (nothing half-written);
//   - a backup committed before is never lost because a later request failed;
//   - a plain retry (plus the ledger's prune alarm) converges: the ledger's rows are exactly
//     the organisation's objects in R2, and the system holds no more than retention allows.
//
// Hangs: the ledger call never settles, and the worker's own deadline (10 s) must answer 503.
// KV and R2 calls have no deadline in the worker, so a KV or R2 "hang" here stalls and then
// fails with a timeout error, as a platform deadline would end it (see docs/reliability.md).

import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import { FaultInjector, injectIntoLedger, type BindingName, type CallRecord, type FaultMode, type FaultPlan } from "./fault-bindings";
import { BLOB_PREFIX } from "../../src/backups/keys";
import { BASE, client, json, keyOf, newSystem, organizationLedger, patternBytes, prefixOf, send, sha256Hex, storedBytes, unrecordedBlobs, blobPrefixOf, type TestSystem } from "./helpers";
import { uuidv7At } from "./model";

const MAX_PER_SYSTEM = 2;
const LIMITS = {
  BACKUP_MAX_PER_SYSTEM: String(MAX_PER_SYSTEM),
  BACKUP_RATE_LIMIT_PER_MINUTE: "0",
  BACKUP_RATE_LIMIT_PER_HOUR: "0",
};
const STALL_MS = 100;
/** Longer than the ledger's deadline (10 s): a request still unanswered by then is a hang. */
const CLIENT_DEADLINE_MS = 20_000;
const CONCURRENCY = 8;

const WRITES = new Set(["put", "delete", "reserve", "commit", "forget", "release", "settleRepeat"]);

interface Context {
  system: TestSystem;
  /** Backups committed before the faulty request, oldest first. */
  prior: { id: string; sha256: string; size: number }[];
}

interface Operation {
  name: string;
  /** An upload that must store a new backup, or one repeating the newest backup (stores nothing, 200). */
  upload?: "new" | "repeat";
  /** Limits beside LIMITS (which path an upload takes). */
  limits?: Record<string, string>;
  /** How many backups exist before the request. */
  prior: number;
  /** Seed them straight into R2, as if the ledger's storage had been lost (it rebuilds on first use). */
  ledgerLost?: boolean;
  success: number;
  request(ctx: Context): Request;
}

const NEW_BYTES = patternBytes(700, 99);
const STREAMED = { BACKUP_BUFFERED_UPLOAD_MAX: "0" };

/** The bytes of the i-th prior backup. */
const priorBytes = (i: number) => patternBytes(300 + i, i + 1);

const OPERATIONS: Operation[] = [
  { name: "list", prior: 2, success: 200, request: ({ system }) => authed(system, BASE) },
  { name: "download", prior: 2, success: 200, request: ({ system, prior }) => authed(system, `${BASE}/${prior[1].id}`) },
  { name: "download range", prior: 2, success: 206, request: ({ system, prior }) => authed(system, `${BASE}/${prior[1].id}`, { headers: { Range: "bytes=10-99" } }) },
  { name: "head", prior: 2, success: 200, request: ({ system, prior }) => authed(system, `${BASE}/${prior[1].id}`, { method: "HEAD" }) },
  { name: "delete", prior: 2, success: 200, request: ({ system, prior }) => authed(system, `${BASE}/${prior[1].id}`, { method: "DELETE" }) },
  { name: "upload (buffered, prunes one)", upload: "new", prior: 2, success: 201, request: ({ system }) => upload(system, false) },
  { name: "upload (split, prunes one)", upload: "new", limits: STREAMED, prior: 2, success: 201, request: ({ system }) => upload(system, false) },
  { name: "upload with digest (streamed, prunes one)", upload: "new", limits: STREAMED, prior: 2, success: 201, request: ({ system }) => upload(system, true) },
  { name: "upload after ledger loss (rebuild, prunes one)", upload: "new", prior: 2, ledgerLost: true, success: 201, request: ({ system }) => upload(system, false) },
  { name: "retry of the newest (buffered, deduplicated)", upload: "repeat", prior: 2, success: 200, request: ({ system }) => upload(system, false, priorBytes(1)) },
  { name: "retry of the newest (streamed, deduplicated)", upload: "repeat", limits: STREAMED, prior: 2, success: 200, request: ({ system }) => upload(system, false, priorBytes(1)) },
  { name: "retry after ledger loss (rebuild, deduplicated)", upload: "repeat", prior: 2, ledgerLost: true, success: 200, request: ({ system }) => upload(system, false, priorBytes(1)) },
];

const limitsOf = (op: Operation) => ({ ...LIMITS, ...op.limits });

function authed(system: TestSystem, url: string, init: RequestInit = {}): Request {
  const headers = new Headers(init.headers);
  headers.set("Authorization", system.authorization);
  return new Request(url, { ...init, headers });
}

function upload(system: TestSystem, digest: boolean, bytes = NEW_BYTES): Request {
  const headers: Record<string, string> = { "Content-Length": String(bytes.length), "X-Filename": "new.tar.gz.gpg" };
  if (digest) headers["X-Checksum-SHA256"] = NEW_SHA256;
  return authed(system, BASE, { method: "POST", body: bytes, headers });
}

let NEW_SHA256 = "";

/** A fresh system with its prior backups, committed through the worker (or put straight into R2). */
async function prepare(op: Operation): Promise<Context> {
  const system = await newSystem();
  const prior: Context["prior"] = [];
  for (let i = 0; i < op.prior; i++) {
    const bytes = priorBytes(i);
    if (op.ledgerLost) {
      const id = `${uuidv7At(Date.now() - 60_000 + i)}.tar.gz`;
      const sha256 = await sha256Hex(bytes);
      await env.BACKUPS.put(keyOf(system, id), bytes, {
        sha256,
        customMetadata: { filename: "old.tar.gz", sha256, uploaded_at: new Date().toISOString(), uploader_ip: "10.0.0.1", system_id: system.record.system_id },
      });
      prior.push({ id, sha256, size: bytes.length });
    } else {
      const response = await client(system, limitsOf(op)).upload(bytes, "old.tar.gz");
      expect(response.status).toBe(201);
      const data = (await json(response)).data;
      prior.push({ id: data.id, sha256: data.sha256, size: data.size });
    }
  }
  return { system, prior };
}

/** Sends with the injector's bindings; null when no answer came within the client's deadline. */
async function sendWithFaults(op: Operation, request: Request, injector: FaultInjector): Promise<{ status: number; headers: Headers; text: string } | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), CLIENT_DEADLINE_MS)));
  const answered = send(request, { ...limitsOf(op), ...injector.overrides() }).then(async (r) => ({ status: r.status, headers: r.headers, text: await r.text() }));
  try {
    return await Promise.race([answered, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

interface Stored {
  /** id → size of every object under the system's prefix. */
  objects: Map<string, number>;
  /** Objects whose stored digest does not match their bytes, or that carry none. */
  unverified: string[];
  /** Blobs no entry records (a failed upload's bytes whose removal failed too). */
  unrecorded: number;
}

async function stored(system: TestSystem): Promise<Stored> {
  const prefix = prefixOf(system);
  const objects = new Map<string, number>();
  const unverified: string[] = [];
  for (const o of (await env.BACKUPS.list({ prefix, include: ["customMetadata"] })).objects) {
    const id = o.key.slice(prefix.length);
    const bytes = await storedBytes(o.key);
    objects.set(id, bytes?.byteLength ?? -1);
    const digest = bytes ? await sha256Hex(bytes) : null;
    if (!o.customMetadata?.sha256 || digest !== o.customMetadata.sha256) unverified.push(id);
  }
  const unrecorded = (await unrecordedBlobs(blobPrefixOf(system))).length;
  return { objects, unverified, unrecorded };
}

interface LedgerState {
  /** False until the ledger's first use after its storage was lost (it then rebuilds from R2). */
  built: boolean;
  rows: Map<string, { size: number; doomed: boolean }>;
  reservations: number;
  alarm: boolean;
}

async function ledgerState(system: TestSystem): Promise<LedgerState> {
  const stub = organizationLedger(system.org);
  return runInDurableObject(stub, async (_instance, state) => {
    const sql = state.storage.sql;
    const hasTable = sql.exec("SELECT name FROM sqlite_master WHERE name = 'backups'").toArray().length > 0;
    const rows = new Map<string, { size: number; doomed: boolean }>();
    let reservations = 0;
    const built = hasTable && sql.exec("SELECT value FROM meta WHERE name = 'built_at'").toArray().length > 0;
    if (hasTable) {
      for (const r of sql.exec<{ id: string; size: number; doomed: number }>("SELECT id, size, doomed FROM backups WHERE system_key = ?", system.key))
        rows.set(r.id, { size: r.size, doomed: r.doomed === 1 });
      reservations = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM reservations WHERE expires_at > ?", Date.now()).one().n;
    }
    return { built, rows, reservations, alarm: (await state.storage.getAlarm()) !== null };
  });
}

/** The ledger mirrors R2 exactly: the same ids with the same sizes. */
function ledgerMatches(ledger: LedgerState, objects: Stored): string[] {
  const problems: string[] = [];
  for (const [id, size] of objects.objects) if (ledger.rows.get(id)?.size !== size) problems.push(`untracked object ${id.slice(0, 13)}`);
  for (const id of ledger.rows.keys()) if (!objects.objects.has(id)) problems.push(`ghost row ${id.slice(0, 13)}`);
  return problems;
}

interface Row {
  operation: string;
  point: string;
  mode: FaultMode;
  status: string;
  storedAfter: string;
  ledger: string;
  retry: string;
  violations: string[];
}

const ROWS: Row[] = [];

/** Runs one operation with one fault and checks the invariants; returns its table row. */
async function runCase(op: Operation, point: CallRecord, mode: FaultMode): Promise<Row> {
  const ctx = await prepare(op);
  const { system, prior } = ctx;
  const plan: FaultPlan = { binding: point.binding, method: point.method, nth: point.nth, mode };
  const injector = new FaultInjector(plan, { stallMs: point.binding === "ORG_LEDGER" ? undefined : STALL_MS });
  await injectIntoLedger(injector, system.org);
  const violations: string[] = [];

  const request = op.request(ctx);
  const answer = await sendWithFaults(op, request, injector);
  if (!injector.injected) violations.push("fault point not reached");
  let status = "no answer";
  if (answer) {
    status = String(answer.status);
    if (answer.status !== op.success && answer.status !== 503 && answer.status !== 502) violations.push(`status ${answer.status}`);
    if (answer.status >= 500 && answer.status !== 502 && answer.status !== 503) violations.push("5xx other than 502/503");
    const bodyless = request.method === "HEAD" || (answer.status === op.success && request.method === "GET" && op.name !== "list");
    if (bodyless) {
      if (answer.status === 503 && !answer.headers.get("Retry-After")) violations.push("503 without Retry-After");
    } else {
      const body = JSON.parse(answer.text);
      if (body.code !== answer.status || typeof body.message !== "string") violations.push("not an envelope");
      if (answer.status === 503) {
        status += ` "${body.message}"`;
        if (!answer.headers.get("Retry-After")) violations.push("503 without Retry-After");
      }
      if (/Injected|Error\b|\bat .*\(|R2|KV|ledger/.test(answer.text)) violations.push("internal detail in the answer");
    }
  } else violations.push("no answer within the client's deadline");
  const succeeded = answer?.status === op.success;

  // What is stored now, before any retry.
  const after = await stored(system);
  const ledger = await ledgerState(system);
  if (after.unverified.length > 0) violations.push(`listed without a matching digest: ${after.unverified.length}`);
  // A prior backup may only be gone because this request succeeded: retention for an upload, the target for a delete.
  const allowedGone = new Set<string>();
  if (succeeded && op.upload === "new") allowedGone.add(prior[0].id);
  if (succeeded && op.name === "delete") allowedGone.add(prior[1].id);
  if (!succeeded && op.name === "delete") allowedGone.add(prior[1].id); // its deletion may have happened before the failure
  for (const p of prior) if (!after.objects.has(p.id) && !allowedGone.has(p.id)) violations.push(`committed backup lost ${p.id.slice(0, 13)}`);
  if (op.upload && (!succeeded || op.upload === "repeat")) {
    const extra = [...after.objects.keys()].filter((id) => !prior.some((p) => p.id === id));
    if (extra.length > 0) violations.push(`${succeeded ? "repeated" : "failed"} upload left ${extra.length} listed object(s)`);
  }
  const ledgerProblems = ledger.built ? ledgerMatches(ledger, after) : ["not rebuilt yet"];
  const storedAfter = `${after.objects.size} backup(s)${after.unrecorded ? `, ${after.unrecorded} unrecorded blob` : ""}`;
  const ledgerNote = [
    ledgerProblems.length ? ledgerProblems.join("; ") : "matches R2",
    ledger.reservations ? `${ledger.reservations} reservation held` : "",
    ledger.alarm ? "prune retry scheduled" : "",
  ]
    .filter(Boolean)
    .join(", ");

  // Retry as the appliance would (the same request, no fault), then let the ledger's alarm run.
  let retry = "";
  const again = await send(op.request(ctx), limitsOf(op));
  const againText = await again.text();
  // After a stored upload the same request is a repeat of the newest backup: 200, nothing stored.
  const retryExpected = succeeded && op.upload === "new" ? 200 : op.success;
  const retryOk = again.status === retryExpected || (op.name === "delete" && again.status === 404 && !after.objects.has(prior[1].id));
  retry = String(again.status);
  if (!retryOk) violations.push(`retry answered ${again.status}`);
  const stub = organizationLedger(system.org);
  if (await runDurableObjectAlarm(stub)) retry += " + alarm";
  const settled = await stored(system);
  const settledLedger = await ledgerState(system);
  const settledProblems = ledgerMatches(settledLedger, settled);
  if (settledProblems.length > 0) violations.push(`after retry: ${settledProblems.join("; ")}`);
  if (settled.objects.size > MAX_PER_SYSTEM) violations.push(`after retry: ${settled.objects.size} backups, retention allows ${MAX_PER_SYSTEM}`);
  if (settled.unverified.length > 0) violations.push("after retry: unverified object");
  retry += settledProblems.length === 0 ? ", converged" : ", diverged";
  const added = [...settled.objects.keys()].filter((id) => !prior.some((p) => p.id === id));
  if (op.upload === "new" && added.length === 0) violations.push("after retry: the upload is not stored");
  if (op.upload === "repeat" && added.length > 0) violations.push(`after retry: ${added.length} copy(ies) of the newest backup stored`);
  if (op.upload === "repeat" && again.status === 200 && JSON.parse(againText).data.id !== prior[1].id) violations.push("after retry: not answered with the newest backup");
  if (op.name === "delete" && settled.objects.has(prior[1].id)) violations.push("after retry: the deleted backup is still there");

  return {
    operation: op.name,
    point: `${point.binding}.${point.method}${point.nth > 1 ? ` #${point.nth}` : ""}${describePoint(point)}`,
    mode,
    status,
    storedAfter,
    ledger: ledgerNote,
    retry,
    violations,
  };
}

function describePoint(point: CallRecord): string {
  if (point.binding === "BACKUPS" || point.binding === "LEDGER.BACKUPS") {
    if (point.target.startsWith(BLOB_PREFIX)) return " (blob)";
    if (point.binding === "BACKUPS" && point.method === "put" && point.nth > 1) return " (entry)"; // after the blob's put
    if (point.target.startsWith("prefix=")) return " (listing)";
    return point.method === "delete" && point.binding === "LEDGER.BACKUPS" ? " (prune)" : "";
  }
  return "";
}

/** Runs tasks with at most `limit` in flight. */
async function pooled<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]();
      }
    }),
  );
  return results;
}

// The operations run side by side: the ledger hangs wait out its 10 s deadline together.
describe.concurrent("one failing call at every step of every operation", () => {
  for (const op of OPERATIONS) {
    it(`${op.name}: 503 or success, nothing half-written listed, nothing committed lost, retries converge`, async () => {
      NEW_SHA256 = await sha256Hex(NEW_BYTES);
      // Record the calls of a fault-free run.
      const ctx = await prepare(op);
      const recorder = new FaultInjector();
      await injectIntoLedger(recorder, ctx.system.org);
      const clean = await sendWithFaults(op, op.request(ctx), recorder);
      expect(clean?.status).toBe(op.success);
      const points = recorder.calls;
      expect(points.length).toBeGreaterThan(1);
      const cases = points.flatMap((point) =>
        (WRITES.has(point.method) ? (["throw", "lost", "hang"] as const) : (["throw", "hang"] as const)).map((mode) => () => runCase(op, point, mode)),
      );
      const rows = await pooled(cases, CONCURRENCY);
      ROWS.push(...rows);
      const violations = rows.flatMap((r) => r.violations.map((v) => `${r.point} ${r.mode}: ${v}`));
      expect(violations).toEqual([]);
    }, 90_000);
  }

  afterAll(() => {
    const header = "| operation | fault point | mode | status | stored afterwards | ledger afterwards | retry | violations |\n|---|---|---|---|---|---|---|---|";
    const order = (r: Row) => OPERATIONS.findIndex((op) => op.name === r.operation);
    ROWS.sort((a, b) => order(a) - order(b));
    const lines = ROWS.map((r) => `| ${r.operation} | ${r.point} | ${r.mode} | ${r.status} | ${r.storedAfter} | ${r.ledger} | ${r.retry} | ${r.violations.length ? r.violations.join("; ") : "0"} |`);
    const total = ROWS.reduce((n, r) => n + r.violations.length, 0);
    console.log(`faults: ${ROWS.length} faults injected, ${total} invariant violations\n${header}\n${lines.join("\n")}`);
  });
});
