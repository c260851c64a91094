// The benchmark's runtime side: the deployable bundle's size, the bench worker served by
// workerd through wrangler's own dev API, and the resident memory of that workerd process.
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

/** Environment for every wrangler the bench starts: no telemetry, no look-ups of Cloudflare's IP ranges. */
export const WRANGLER_ENV = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", FORCE_COLOR: "0" };
Object.assign(process.env, WRANGLER_ENV);

/** A private temporary directory, removed by the returned `remove()`. */
export async function tempDir(prefix) {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/**
 * Size of the deployable worker: `wrangler deploy --dry-run --minify` against the real
 * wrangler.toml (src/index.ts, never bench/), every emitted script gzipped.
 */
export async function bundleSize(repoRoot, { timeoutMs = 120_000 } = {}) {
  const out = await tempDir("backup-vault-bundle-");
  try {
    await run(process.execPath, [join(repoRoot, "node_modules", "wrangler", "bin", "wrangler.js"), "deploy", "--dry-run", "--minify", "--outdir", out.path], {
      cwd: repoRoot,
      timeoutMs,
    });
    let raw = 0;
    let gzip = 0;
    const files = [];
    for (const name of await readdir(out.path)) {
      if (!/\.(m?js|wasm)$/.test(name)) continue;
      const bytes = await readFile(join(out.path, name));
      if (bytes.includes("__bench")) throw new Error(`the deployable bundle ${name} contains a bench route`);
      raw += bytes.length;
      gzip += gzipSync(bytes, { level: 9 }).length;
      files.push(name);
    }
    if (files.length === 0) throw new Error("wrangler deploy --dry-run emitted no script");
    return { files, rawBytes: raw, gzipBytes: gzip };
  } finally {
    await out.remove();
  }
}

/** Runs a command to completion; rejects with its stderr tail on failure or after `timeoutMs`. */
function run(command, args, { cwd, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...WRANGLER_ENV }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${args.slice(1, 3).join(" ")} failed (${signal ?? `exit ${code}`}): ${output.trim().split("\n").slice(-5).join(" | ")}`));
    });
  });
}

/**
 * Serves bench/worker.ts with the bindings of the real wrangler.toml on workerd, loopback
 * only, state in `persistTo`, file watching off (others may edit src/ meanwhile: the bench
 * runs the code as it was at start). Returns the user worker's own URL (requests go straight
 * to the runtime that runs the worker, not through wrangler's dev proxy), its workerd pid and
 * `stop()`.
 */
export async function startBenchWorker({ repoRoot, persistTo, vars, entrypoint = join(repoRoot, "bench", "worker.ts"), timeoutMs = 90_000 }) {
  const { unstable_DevEnv: DevEnv } = await import(join(repoRoot, "node_modules", "wrangler", "wrangler-dist", "cli.js"));
  const devEnv = new DevEnv();
  let userWorkerUrl = null;
  const reloaded = new Promise((resolve) => {
    devEnv.on("reloadComplete", (event) => {
      const { protocol, hostname, port } = event.proxyData.userWorkerUrl;
      userWorkerUrl = `${protocol}//${hostname}:${port}`;
      resolve();
    });
  });
  const bindings = Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, { type: "plain_text", value: String(value) }]));
  let worker;
  const stop = async () => {
    await Promise.race([worker?.dispose(), new Promise((r) => setTimeout(r, 15_000))]).catch(() => {});
  };
  try {
    worker = await withTimeout(
      devEnv.startWorker({
        config: join(repoRoot, "wrangler.toml"),
        entrypoint,
        bindings,
        dev: { watch: false, inspector: false, persist: persistTo, server: { hostname: "127.0.0.1", port: 0 }, logLevel: "warn" },
      }),
      timeoutMs,
      "starting the bench worker",
    );
    await withTimeout(Promise.all([worker.ready, reloaded]), timeoutMs, "waiting for the bench worker");
    const proxyUrl = String(await worker.url).replace(/\/$/, "");
    const pid = await workerdServing(new URL(userWorkerUrl).port);
    return { url: userWorkerUrl, proxyUrl, pid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms))),
  ]);
}

/** The pid of the workerd child of this process that listens on `port` (the one running the user worker). */
async function workerdServing(port) {
  const candidates = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
    if (m && m[1] === "workerd" && Number(m[2]) === process.pid) candidates.push(Number(entry));
  }
  for (const pid of candidates) if ((await listeningPorts(pid)).has(Number(port))) return pid;
  throw new Error(`no workerd child of this process listens on port ${port} (children: ${candidates.join(", ") || "none"})`);
}

/** TCP ports a process listens on, from /proc/<pid>/net/tcp{,6} and its socket descriptors. */
async function listeningPorts(pid) {
  const inodes = new Set();
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [])) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.add(m[1]);
  }
  const ports = new Set();
  for (const table of ["tcp", "tcp6"]) {
    const text = await readFile(`/proc/${pid}/net/${table}`, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && cols[3] === "0A" && inodes.has(cols[9])) ports.add(parseInt(cols[1].split(":").pop(), 16));
    }
  }
  return ports;
}

/** CPU time (user + system) a process has used so far, in ms (Linux counts it in 1/100 s). */
export async function cpuMs(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Resident memory of a process in MiB (VmRSS), or NaN once it is gone. */
export async function rssMiB(pid) {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Samples a process's RSS every `everyMs` until `stop()`, which returns every sample in MiB. */
export function sampleRss(pid, everyMs = 50) {
  const samples = [];
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    const v = await rssMiB(pid);
    if (!Number.isNaN(v)) samples.push(v);
    busy = false;
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      const last = await rssMiB(pid);
      if (!Number.isNaN(last)) samples.push(last);
      return samples;
    },
  };
}
