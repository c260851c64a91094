// `npm run soak`: a bounded soak of the worker under `wrangler dev`, on loopback only.
// Many systems in several organisations send mixed traffic (list, upload, download, ranged
// download, HEAD, delete, attempts on each other's backups, bad credentials) for SOAK_SECONDS;
// the workerd process's memory is sampled throughout; at the end every invariant is checked:
//   - no 5xx and no answer outside what the contract allows for the request;
//   - every listed backup downloads byte-exact and matches its listed and uploaded SHA-256;
//   - no system ever sees or fetches another's backup (attempts answer 404, lists hold only own ids);
//   - every system holds at most BACKUP_MAX_PER_SYSTEM backups, and its newest is among them;
//   - no secret, secret part, Authorization value or stored hash appears in the worker's log;
//   - the worker's memory shows no growth trend: its V8 heap, measured after a full garbage
//     collection through wrangler's inspector, does not keep growing once warmed up.
// The workerd processes' resident memory is sampled and reported too, but it is not the leak
// criterion: under `wrangler dev` it climbs for tens of thousands of requests even for a worker
// that only answers a constant 404 (the dev proxy and local simulators warming up), so over a
// few minutes it cannot tell a leak in this worker from the runtime's own warm-up.
// Prints a summary and a closing verdict; exits 1 on any violation.
//
// Settings (environment): SOAK_SECONDS (180), SOAK_SYSTEMS (24), SOAK_ORGS (3),
// SOAK_CONCURRENCY (16), SOAK_MAX_REQUESTS (2 000 000, a safety bound).
import { spawn } from "node:child_process";
import { createHash, randomBytes, randomInt } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { generateSystemCredentials } from "../src/auth/secret.ts";
import { kvTarget, systemsKv } from "./lib/kv.mjs";
import { REPO_ROOT, WRANGLER_BIN, wranglerEnv } from "./lib/wrangler.mjs";

const SETTINGS = {
  seconds: positiveInt("SOAK_SECONDS", 180),
  systems: positiveInt("SOAK_SYSTEMS", 24),
  orgs: positiveInt("SOAK_ORGS", 3),
  concurrency: positiveInt("SOAK_CONCURRENCY", 16),
  maxRequests: positiveInt("SOAK_MAX_REQUESTS", 2_000_000),
};
const MAX_PER_SYSTEM = 10; // wrangler.toml's BACKUP_MAX_PER_SYSTEM, left as configured
const SAMPLE_EVERY_MS = 2_000;
const HEAP_EVERY_MS = 20_000;
const READY_TIMEOUT_MS = 90_000;
// The failed-login throttle allows 30 failures a minute per address; all soak traffic comes
// from loopback, so bad credentials are paced well below that.
const BAD_AUTH_EVERY_MS = 4_000;

function positiveInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** A free TCP port on loopback (asked of the kernel, then released). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const basic = (user, password) => "Basic " + Buffer.from(`${user}:${password}`).toString("base64");
const pick = (items) => items[randomInt(items.length)];

// ---- wrangler dev and its workerd ----

/** Starts wrangler dev on loopback; resolves once it answers HTTP. Its output is kept for the log scan. */
async function startWorker(persistTo) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const args = [
    WRANGLER_BIN, "dev",
    "--ip", "127.0.0.1", "--port", String(port),
    "--inspector-ip", "127.0.0.1", "--inspector-port", String(inspectorPort),
    "--persist-to", persistTo,
    "--show-interactive-dev-session=false",
    "--log-level", "info",
    "--var", "BACKUP_RATE_LIMIT_PER_MINUTE:0",
    "--var", "BACKUP_RATE_LIMIT_PER_HOUR:0",
  ];
  // Its own process group, so that stopping it stops its workerd too, and nothing else.
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: wranglerEnv(), stdio: ["ignore", "pipe", "pipe"], detached: true });
  const output = [];
  let outputBytes = 0;
  const keep = (chunk) => {
    outputBytes += chunk.length;
    if (outputBytes < 256 * 1024 * 1024) output.push(chunk);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const early = await Promise.race([exited, sleep(250).then(() => null)]);
    if (early) throw new Error(`wrangler dev exited before it was ready (${early.code ?? early.signal}):\n${Buffer.concat(output).toString().slice(-2000)}`);
    try {
      const r = await fetch(`${base}/`, { signal: AbortSignal.timeout(2_000) });
      await r.arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error("wrangler dev did not answer within 90 s");
    }
  }
  return {
    base,
    inspectorPort,
    pid: child.pid,
    log: () => Buffer.concat(output).toString("utf8"),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {}
        const done = await Promise.race([exited, sleep(10_000).then(() => null)]);
        if (!done) {
          try {
            process.kill(-child.pid, "SIGKILL");
          } catch {}
          await exited;
        }
      }
    },
  };
}

/** The pids of workerd processes descended from `rootPid` (Linux /proc). */
async function workerdPids(rootPid) {
  const parents = new Map();
  const names = new Map();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = await readFile(`/proc/${entry}/status`, "utf8");
      parents.set(Number(entry), Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]));
      names.set(Number(entry), /^Name:\s+(.*)$/m.exec(status)?.[1] ?? "");
    } catch {
      // the process ended while we looked
    }
  }
  const descends = (pid) => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = parents.get(p) ?? 0, hops++) if (p === rootPid) return true;
    return false;
  };
  return [...names].filter(([pid, name]) => name.startsWith("workerd") && descends(pid)).map(([pid]) => pid);
}

/** Resident memory of each of the given processes, in KiB (0 for any that ended). */
async function rssKiB(pids) {
  const each = [];
  for (const pid of pids) {
    try {
      each.push(Number(/^VmRSS:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0));
    } catch {
      each.push(0);
    }
  }
  return each;
}

/**
 * The worker isolate's V8 heap through wrangler's inspector proxy (one DevTools client at a
 * time). `liveBytes()` takes a heap snapshot, which forces a full garbage collection, then reads
 * the heap's used size and its ArrayBuffer backing stores: what the worker still holds.
 */
async function inspectWorkerHeap(inspectorPort) {
  const ws = new WebSocket(`ws://127.0.0.1:${inspectorPort}/ws`, { headers: { Origin: "http://127.0.0.1" } });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("cannot connect to the inspector"));
  });
  let nextId = 1;
  const waiting = new Map();
  ws.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.id !== undefined && waiting.has(data.id)) {
      waiting.get(data.id)(data);
      waiting.delete(data.id);
    }
  };
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`inspector ${method} timed out`));
      }, 30_000);
      waiting.set(id, (data) => {
        clearTimeout(timer);
        resolve(data);
      });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return {
    async liveBytes() {
      await send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
      const usage = await send("Runtime.getHeapUsage");
      // JS objects plus the ArrayBuffer backing stores the isolate keeps (where retained bodies would show).
      return usage.result.usedSize + (usage.result.backingStorageSize ?? 0);
    },
    close: () => ws.close(),
  };
}

// ---- systems ----

async function seedSystems(persistTo) {
  const orgs = Array.from({ length: SETTINGS.orgs }, (_, i) => `soak_org_${i}_${randomBytes(3).toString("hex")}`);
  const systems = [];
  for (let i = 0; i < SETTINGS.systems; i++) {
    const { systemKey, systemSecret, record } = await generateSystemCredentials(orgs[i % orgs.length]);
    systems.push({
      key: systemKey,
      secret: systemSecret,
      org: record.organization_id,
      record,
      authorization: basic(systemKey, systemSecret),
      uploaded: new Map(), // id -> { sha256, size } for every 201
      deleted: new Set(), // ids this system deleted itself (200)
      known: [], // ids seen in its own lists or uploads, to pick downloads from
      pending: 0, // uploads in flight: their objects may be listed before their 201 arrives
      started: 0, // uploads ever started
      unconfirmed: new Map(), // id -> sha256 listed before its upload's 201 was seen; checked in the audit
    });
  }
  await systemsKv(kvTarget({ persistTo })).bulkPut(systems.map((s) => ({ key: s.key, value: JSON.stringify(s.record) })));
  return systems;
}

// ---- traffic ----

const stats = {
  requests: 0,
  byOp: new Map(), // op -> { count, statuses: Map, latencies: [] }
  violations: [],
  violationCount: 0,
  bytesUp: 0,
  bytesDown: 0,
};

function violation(message) {
  stats.violationCount++;
  if (stats.violations.length < 50) stats.violations.push(message);
}

function record(op, status, ms) {
  let entry = stats.byOp.get(op);
  if (!entry) stats.byOp.set(op, (entry = { count: 0, statuses: new Map(), latencies: [] }));
  entry.count++;
  entry.statuses.set(status, (entry.statuses.get(status) ?? 0) + 1);
  if (entry.latencies.length < 200_000) entry.latencies.push(ms);
}

/** One request; checks the envelope of JSON answers and that no 5xx came back. */
async function call(base, op, path, init, allowed) {
  const started = performance.now();
  const response = await fetch(base + path, { ...init, signal: AbortSignal.timeout(60_000) });
  const body = Buffer.from(await response.arrayBuffer());
  stats.requests++;
  stats.bytesDown += body.length;
  record(op, response.status, performance.now() - started);
  if (!allowed.includes(response.status)) {
    const isJson = (response.headers.get("content-type") ?? "").startsWith("application/json");
    violation(`${op} ${path}: status ${response.status}${isJson ? " " + body.toString("utf8").slice(0, 200) : ` (${body.length} bytes)`}`);
  }
  let json = null;
  if ((response.headers.get("content-type") ?? "").startsWith("application/json") && init.method !== "HEAD") {
    try {
      json = JSON.parse(body.toString("utf8"));
      if (json.code !== response.status || typeof json.message !== "string") violation(`${op}: not an envelope`);
    } catch {
      violation(`${op}: unparsable JSON`);
    }
  }
  if (response.headers.get("cache-control") !== "no-store") violation(`${op}: no Cache-Control: no-store`);
  return { status: response.status, headers: response.headers, body, json };
}

const auth = (system, extra = {}) => ({ Authorization: system.authorization, ...extra });

async function opList(base, system) {
  const inFlight = system.pending;
  const startedBefore = system.started;
  const r = await call(base, "list", "/api/systems/backups", { headers: auth(system) }, [200]);
  if (r.status !== 200) return;
  const backups = r.json.data.backups;
  // Retention holds at rest; an upload in flight while the list ran may be listed just before its commit prunes.
  const allowed = MAX_PER_SYSTEM + inFlight + (system.started - startedBefore);
  if (backups.length > allowed) violation(`list: ${system.key} shows ${backups.length} backups (retention allows ${MAX_PER_SYSTEM})`);
  for (const b of backups) {
    const mine = system.uploaded.get(b.id);
    if (!mine) system.unconfirmed.set(b.id, b.sha256); // its 201 may still be on the way: checked in the audit
    else if (mine.sha256 !== b.sha256 || mine.size !== b.size) violation(`list: ${b.id} listed with another digest or size`);
  }
  system.known = backups.map((b) => b.id).filter((id) => system.uploaded.has(id));
}

async function opUpload(base, system) {
  const size = randomInt(100) < 5 ? randomInt(1 << 20, 4 << 20) : randomInt(1024, 512 * 1024);
  const bytes = randomBytes(size);
  const digest = sha256(bytes);
  const headers = auth(system, { "Content-Type": "application/octet-stream", "X-Filename": `backup-${Date.now()}.tar.gz.gpg` });
  if (randomInt(2) === 0) headers["X-Checksum-SHA256"] = digest;
  stats.bytesUp += size;
  system.pending++;
  system.started++;
  let r;
  try {
    r = await call(base, "upload", "/api/systems/backups", { method: "POST", body: bytes, headers }, [201]);
  } finally {
    system.pending--;
  }
  if (r.status !== 201) return;
  const data = r.json.data;
  if (data.sha256 !== digest || data.size !== size) violation(`upload: ${data.id} answered another digest or size`);
  system.uploaded.set(data.id, { sha256: digest, size });
  system.known.push(data.id);
}

async function opDownload(base, system, ranged) {
  const id = system.known.length ? pick(system.known) : null;
  if (!id) return opList(base, system);
  const mine = system.uploaded.get(id);
  const headers = auth(system);
  let range = null;
  if (ranged) {
    const start = randomInt(mine.size);
    const end = Math.min(mine.size - 1, start + randomInt(65_536));
    range = [start, end];
    headers.Range = `bytes=${start}-${end}`;
  }
  // 404: pruned or deleted meanwhile (retention runs with every upload).
  const r = await call(base, ranged ? "download range" : "download", `/api/systems/backups/${id}`, { headers }, ranged ? [206, 404] : [200, 404]);
  if (r.status === 404) {
    system.known = system.known.filter((k) => k !== id);
    return;
  }
  if (!ranged && sha256(r.body) !== mine.sha256) violation(`download: ${id} bytes do not match the uploaded digest`);
  if (ranged && r.status === 206) {
    if (r.body.length !== range[1] - range[0] + 1) violation(`download range: ${id} wrong length`);
    if (r.headers.get("content-range") !== `bytes ${range[0]}-${range[1]}/${mine.size}`) violation(`download range: ${id} wrong Content-Range`);
  }
}

async function opHead(base, system) {
  const id = system.known.length ? pick(system.known) : null;
  if (!id) return opList(base, system);
  const r = await call(base, "head", `/api/systems/backups/${id}`, { method: "HEAD", headers: auth(system) }, [200, 404]);
  if (r.status === 200 && r.headers.get("content-length") !== String(system.uploaded.get(id).size)) violation(`head: ${id} wrong Content-Length`);
}

async function opDelete(base, system) {
  const id = system.known.length ? pick(system.known) : null;
  if (!id) return;
  const r = await call(base, "delete", `/api/systems/backups/${id}`, { method: "DELETE", headers: auth(system) }, [200, 404]);
  system.known = system.known.filter((k) => k !== id);
  if (r.status === 200) system.deleted.add(id);
}

/** Another system's backup, asked for by this one: always 404, never its bytes, never its removal. */
async function opForeign(base, system, systems) {
  const others = systems.filter((s) => s !== system && s.known.length > 0);
  if (others.length === 0) return;
  const owner = pick(others);
  const id = pick(owner.known);
  const method = pick(["GET", "HEAD", "DELETE"]);
  await call(base, "foreign attempt", `/api/systems/backups/${id}`, { method, headers: auth(system) }, [404]);
}

let lastBadAuth = 0;
async function opBadAuth(base, system) {
  if (Date.now() - lastBadAuth < BAD_AUTH_EVERY_MS) return opList(base, system);
  lastBadAuth = Date.now();
  const wrong = pick([basic(system.key, system.secret + "x"), basic(`NETH-${crypto.randomUUID()}`, system.secret), "Basic Zm9vOmJhcg==", "Bearer x"]);
  await call(base, "bad credentials", "/api/systems/backups", { headers: { Authorization: wrong } }, [401]);
}

const MIX = mixFrom(process.env.SOAK_MIX, [
  ["list", 25],
  ["upload", 25],
  ["download", 22],
  ["download range", 8],
  ["head", 6],
  ["delete", 7],
  ["foreign", 5],
  ["bad auth", 2],
]);

/** SOAK_MIX=upload=1,list=1 weights the operations differently (to find which one a leak follows). */
function mixFrom(text, fallback) {
  if (!text) return fallback;
  const known = new Set(fallback.map(([op]) => op));
  const mix = text.split(",").map((part) => {
    const [op, weight] = part.split("=");
    if (!known.has(op) || !/^\d+$/.test(weight ?? "")) throw new Error(`SOAK_MIX: expected op=weight with op one of ${[...known].join(", ")}, got ${JSON.stringify(part)}`);
    return [op, Number(weight)];
  });
  if (mix.every(([, w]) => w === 0)) throw new Error("SOAK_MIX: all weights are 0");
  return mix;
}
const MIX_TOTAL = MIX.reduce((n, [, w]) => n + w, 0);

function chooseOp() {
  let r = randomInt(MIX_TOTAL);
  for (const [op, w] of MIX) if ((r -= w) < 0) return op;
  return "list";
}

// The heap is measured at quiet moments: traffic pauses, requests in flight finish, then the
// snapshot is taken, so that bodies in transit are not mistaken for memory the worker keeps.
const quiet = { paused: null, inFlight: 0 };

async function quiesced(measure) {
  let resume;
  quiet.paused = new Promise((resolve) => (resume = resolve));
  const settle = Date.now() + 30_000;
  while (quiet.inFlight > 0 && Date.now() < settle) await sleep(20);
  try {
    return await measure();
  } finally {
    quiet.paused = null;
    resume();
  }
}

async function trafficLoop(base, systems, deadline) {
  while (Date.now() < deadline && stats.requests < SETTINGS.maxRequests) {
    if (quiet.paused) await quiet.paused;
    const system = pick(systems);
    const op = chooseOp();
    quiet.inFlight++;
    try {
      if (op === "list") await opList(base, system);
      else if (op === "upload") await opUpload(base, system);
      else if (op === "download") await opDownload(base, system, false);
      else if (op === "download range") await opDownload(base, system, true);
      else if (op === "head") await opHead(base, system);
      else if (op === "delete") await opDelete(base, system);
      else if (op === "foreign") await opForeign(base, system, systems);
      else await opBadAuth(base, system);
    } catch (error) {
      violation(`${op}: request failed: ${error?.message ?? error}`);
    } finally {
      quiet.inFlight--;
    }
  }
}

// ---- the end-state audit ----

async function audit(base, systems) {
  const listed = new Map();
  for (const system of systems) {
    const r = await call(base, "audit list", "/api/systems/backups", { headers: auth(system) }, [200]);
    if (r.status !== 200) continue;
    const backups = r.json.data.backups;
    listed.set(system, backups);
    if (backups.length > MAX_PER_SYSTEM) violation(`audit: ${system.key} holds ${backups.length} backups (retention allows ${MAX_PER_SYSTEM})`);
    for (const b of backups) {
      const mine = system.uploaded.get(b.id);
      if (!mine) violation(`audit: ${system.key} lists ${b.id}, which it never uploaded`);
      if (system.deleted.has(b.id)) violation(`audit: ${b.id} was deleted (200) but is listed`);
      const d = await call(base, "audit download", `/api/systems/backups/${b.id}`, { headers: auth(system) }, [200]);
      if (d.status === 200 && (sha256(d.body) !== b.sha256 || (mine && mine.sha256 !== b.sha256))) violation(`audit: ${b.id} bytes do not match its digest`);
    }
    // Whatever a list showed before its upload's 201 arrived must be an upload of this system, with that digest.
    for (const [id, digest] of system.unconfirmed) {
      const mine = system.uploaded.get(id);
      if (!mine) violation(`audit: ${system.key} was shown ${id}, which it never uploaded`);
      else if (mine.sha256 !== digest) violation(`audit: ${id} was listed with another digest`);
    }
    // The newest backup a system uploaded and did not delete itself is never pruned.
    const newest = [...system.uploaded.keys()].filter((id) => !system.deleted.has(id)).sort().at(-1);
    if (newest && !backups.some((b) => b.id === newest)) violation(`audit: ${system.key}'s newest backup ${newest} is missing`);
  }
  // Cross-system: each system tries one backup of every other system.
  for (const [system] of listed) {
    for (const [other, backups] of listed) {
      if (other === system || backups.length === 0) continue;
      await call(base, "audit foreign", `/api/systems/backups/${backups[0].id}`, { headers: auth(system) }, [404]);
    }
  }
  return listed;
}

/** Secrets, secret parts, Authorization values and stored hashes must never reach the log. */
function scanLog(log, systems) {
  let leaks = 0;
  for (const s of systems) {
    const [salt, hash] = s.record.secret_sha256.split(":");
    for (const needle of [s.secret, s.secret.split(".")[1], s.authorization.slice(6), salt, hash]) {
      if (log.includes(needle)) {
        leaks++;
        violation(`log: a line carries a credential or hash of ${s.key}`);
      }
    }
  }
  return leaks;
}

// ---- memory trend ----

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : 0;
}

/** Least-squares slope of RSS over time, in MiB per minute. */
function slopeMiBPerMinute(samples) {
  const n = samples.length;
  if (n < 3) return 0;
  const xs = samples.map((s) => s.t / 60_000);
  const ys = samples.map((s) => s.kib / 1024);
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * The worker's heap at quiet moments: the sample before traffic is cold, the first one during
 * traffic is the warm baseline. A leak grows with the requests served, so it shows as a positive
 * slope over the warm samples: growth over the run (slope × time) above max(2 MiB, 25 % of the
 * baseline), with the last sample above the baseline by as much.
 */
function heapTrend(samples) {
  const warm = samples.slice(1);
  if (warm.length < 2) return { baselineMiB: 0, lastMiB: 0, growthMiB: 0, slope: 0, grows: false };
  const baseline = warm[0].kib / 1024;
  const last = warm.at(-1).kib / 1024;
  const slope = slopeMiBPerMinute(warm);
  const minutes = (warm.at(-1).t - warm[0].t) / 60_000;
  const limit = Math.max(2, 0.25 * baseline);
  const grows = slope * minutes > limit && last - baseline > limit;
  return { baselineMiB: baseline, lastMiB: last, growthMiB: last - baseline, slope, grows };
}

/**
 * A leak shows as growth that continues after warm-up: the first third of the run is warm-up,
 * and the median of the last third must not exceed the median of the middle third by more than
 * 10 % (and a floor, so that noise on a small heap is not a trend).
 */
function memoryTrend(samples, minimumGrowthKiB) {
  const third = Math.floor(samples.length / 3);
  const middle = samples.slice(third, 2 * third).map((s) => s.kib);
  const last = samples.slice(2 * third).map((s) => s.kib);
  const m = median(middle);
  const l = median(last);
  const growthKiB = l - m;
  const grows = samples.length >= 6 && growthKiB > Math.max(0.1 * m, minimumGrowthKiB);
  return { middleMiB: m / 1024, lastMiB: l / 1024, growthMiB: growthKiB / 1024, slope: slopeMiBPerMinute(samples.slice(third)), grows };
}

// ---- main ----

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0;
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), "backup-vault-soak-"));
  let worker = null;
  const stopOnSignal = async () => {
    await worker?.stop();
    await rm(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once("SIGINT", stopOnSignal);
  process.once("SIGTERM", stopOnSignal);
  try {
    process.stdout.write(`soak: ${SETTINGS.systems} systems in ${SETTINGS.orgs} organisations, ${SETTINGS.concurrency} concurrent clients, ${SETTINGS.seconds} s, state in ${dir}\n`);
    const systems = await seedSystems(dir);
    worker = await startWorker(dir);
    process.stdout.write(`soak: wrangler dev ready at ${worker.base}\n`);
    let pids = await workerdPids(worker.pid);
    if (pids.length === 0) throw new Error("no workerd process found under wrangler dev");

    const samples = [];
    const heapSamples = [];
    const heap = await inspectWorkerHeap(worker.inspectorPort);
    const t0 = Date.now();
    const deadline = t0 + SETTINGS.seconds * 1000;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const current = await workerdPids(worker.pid);
        if (current.length) pids = current;
        const each = await rssKiB(pids);
        samples.push({ t: Date.now() - t0, kib: each.reduce((a, b) => a + b, 0), each: pids.map((pid, i) => [pid, each[i]]) });
        await sleep(SAMPLE_EVERY_MS);
      }
    })();
    heapSamples.push({ t: 0, kib: (await heap.liveBytes()) / 1024 }); // before any traffic
    const heapSampler = (async () => {
      for (let next = HEAP_EVERY_MS; sampling; next += HEAP_EVERY_MS) {
        while (sampling && Date.now() - t0 < next) await sleep(100);
        if (!sampling) break;
        heapSamples.push({ t: Date.now() - t0, kib: (await quiesced(() => heap.liveBytes())) / 1024 });
      }
    })();
    const progress = setInterval(() => {
      const last = samples.at(-1);
      const lastHeap = heapSamples.at(-1);
      process.stdout.write(
        `soak: ${Math.round((Date.now() - t0) / 1000)} s, ${stats.requests} requests, worker heap ${lastHeap ? (lastHeap.kib / 1024).toFixed(1) : "?"} MiB, workerd RSS ${last ? (last.kib / 1024).toFixed(1) : "?"} MiB, violations ${stats.violationCount}\n`,
      );
    }, 30_000);
    await Promise.all(Array.from({ length: SETTINGS.concurrency }, () => trafficLoop(worker.base, systems, deadline)));
    const trafficSeconds = (Date.now() - t0) / 1000;
    const trafficRequests = stats.requests;
    clearInterval(progress);
    sampling = false;
    await sampler;
    await heapSampler;
    heapSamples.push({ t: Date.now() - t0, kib: (await heap.liveBytes()) / 1024 });
    heap.close();

    process.stdout.write(`soak: traffic done, auditing every system\n`);
    const listed = await audit(worker.base, systems);
    await worker.stop();
    const log = worker.log();
    const leaks = scanLog(log, systems);
    // In a healthy local run no request takes an error path (a failed prune, cleanup or rollback).
    const errorLines = log.split("\n").filter((line) => line.includes('"level":"error"'));
    for (const line of errorLines.slice(0, 5)) violation(`log: the worker logged an error: ${line.slice(0, 200)}`);
    if (errorLines.length > 5) stats.violationCount += errorLines.length - 5;
    const trend = heapTrend(heapSamples);
    const rssTrend = memoryTrend(samples, 32 * 1024);

    // ---- summary ----
    const lines = [];
    lines.push("", "Soak summary", "");
    lines.push(`duration          ${trafficSeconds.toFixed(1)} s of traffic (${SETTINGS.concurrency} concurrent clients, ${SETTINGS.systems} systems, ${SETTINGS.orgs} organisations)`);
    lines.push(`requests          ${trafficRequests} during traffic (${(trafficRequests / trafficSeconds).toFixed(1)}/s), ${stats.requests - trafficRequests} in the audit`);
    lines.push(`bytes             ${(stats.bytesUp / 2 ** 20).toFixed(1)} MiB uploaded, ${(stats.bytesDown / 2 ** 20).toFixed(1)} MiB downloaded`);
    lines.push("", "operation          count  statuses                          p50 ms  p95 ms  p99 ms");
    for (const [op, e] of [...stats.byOp].sort()) {
      const statuses = [...e.statuses].sort().map(([s, n]) => `${s}×${n}`).join(" ");
      lines.push(`${op.padEnd(17)} ${String(e.count).padStart(6)}  ${statuses.padEnd(32)} ${percentile(e.latencies, 50).toFixed(0).padStart(6)} ${percentile(e.latencies, 95).toFixed(0).padStart(7)} ${percentile(e.latencies, 99).toFixed(0).padStart(7)}`);
    }
    const held = [...listed.values()].map((b) => b.length);
    lines.push("", `backups at rest   ${held.reduce((a, b) => a + b, 0)} across ${held.length} systems (max per system ${Math.max(0, ...held)}, retention ${MAX_PER_SYSTEM})`);
    const heapMiB = heapSamples.map((s) => s.kib / 1024);
    const rss = samples.map((s) => s.kib / 1024);
    const signed = (x) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}`;
    lines.push(
      `worker heap       ${heapSamples.length} samples (JS heap + array buffers, after a full GC, traffic paused) every ${HEAP_EVERY_MS / 1000} s: ${heapMiB.map((m) => m.toFixed(2)).join(" ")} MiB`,
    );
    lines.push(
      `heap trend        warm baseline ${trend.baselineMiB.toFixed(2)} MiB, last ${trend.lastMiB.toFixed(2)} MiB (${signed(trend.growthMiB)} MiB), slope ${trend.slope.toFixed(3)} MiB/min: ${trend.grows ? "GROWING" : "no growth trend"}`,
    );
    lines.push(
      `workerd RSS       ${samples.length} samples every ${SAMPLE_EVERY_MS / 1000} s (dev proxy + runtime with its local KV/R2/DO): start ${rss[0]?.toFixed(1)} MiB, max ${Math.max(...rss).toFixed(1)}, end ${rss.at(-1)?.toFixed(1)} MiB; middle-third median ${rssTrend.middleMiB.toFixed(1)}, last-third ${rssTrend.lastMiB.toFixed(1)} (${signed(rssTrend.growthMiB)} MiB) — reported, not judged (see the header)`,
    );
    const firstEach = new Map(samples[0]?.each ?? []);
    const perProcess = (samples.at(-1)?.each ?? []).map(([pid, kib]) => `pid ${pid} ${((firstEach.get(pid) ?? 0) / 1024).toFixed(0)} → ${(kib / 1024).toFixed(0)} MiB`);
    lines.push(`                  per process: ${perProcess.join(", ")}`);
    lines.push(`log scan          ${leaks === 0 ? "no credential, secret part or hash in the worker's log" : `${leaks} leak(s)`}; ${errorLines.length} error line(s)`);
    lines.push(`violations        ${stats.violationCount}`);
    for (const v of stats.violations) lines.push(`  - ${v}`);
    const passed = stats.violationCount === 0 && !trend.grows;
    lines.push("", passed ? `SOAK PASSED: ${trafficRequests} requests in ${trafficSeconds.toFixed(0)} s, 0 invariant violations, no memory growth trend in the worker` : `SOAK FAILED: ${stats.violationCount} invariant violation(s)${trend.grows ? ", the worker's heap keeps growing" : ""}`, "");
    process.stdout.write(lines.join("\n"));
    process.exitCode = passed ? 0 : 1;
  } finally {
    await worker?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (error) {
  process.stderr.write(`soak: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
}
