// `npm run bench [-- --json]`: how close the edge path is to the platform's own minimum.
//
// Serves bench/worker.ts (the real app and ledger with counted bindings, plus bare baseline
// routes) on workerd over loopback, measures each endpoint against its baseline in the same
// run (rounds interleaved, medians taken: the machine is shared), prints a table and, with
// --json, one JSON object as the last output. Every loop is bounded in count and time; the
// whole run is aborted after 9.5 minutes. Exit code 0 when every target is met, 1 when one is
// missed, 2 when the bench itself failed.
import { readFile } from "node:fs/promises";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSystemCredentials } from "../src/auth/secret.ts";
import { basicAuth, bodyOf, httpClient, MiB, throughput } from "../bench/load.mjs";
import { billed, formatReport, median, percentile, round, target } from "../bench/report.mjs";
import { ADMIN_PLAN, measureAdminListing } from "../bench/admin.mjs";
import { operatorDb } from "./lib/d1.mjs";
import { kvTarget } from "./lib/kv.mjs";
import { bundleSize, cpuMs, rssMiB, sampleRss, startBenchWorker, tempDir } from "../bench/runtime.mjs";

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const JSON_OUTPUT = process.argv.includes("--json");
const BENCH_DEADLINE_MS = 9.5 * 60_000;

// The production limits apply except the upload rate, which would throttle the bench after
// 6 uploads. Retention stays at its defaults (10 backups, 500 MiB per system), so the upload
// rounds prune as production does and the bench's disk use stays bounded.
const VARS = { BACKUP_RATE_LIMIT_PER_MINUTE: 0, BACKUP_RATE_LIMIT_PER_HOUR: 0 };

const PLAN = {
  list: { backups: 10, rounds: 10, roundMs: 1500, concurrency: 4, maxPerRound: 20_000 },
  bigList: { backups: 1000 },
  latency: { list: 300, upload: 120, warmup: 20 },
  upload: { bytes: 64 * MiB, rounds: 9 },
  download: { bytes: 64 * MiB, rounds: 9, perRound: 6 },
  rss: { bytes: 100 * MiB, everyMs: 50, settleMs: 1500, runs: 5 },
};

const log = (message) => process.stderr.write(`[bench] ${message}\n`);

let worker = null;
let state = null;

async function main() {
  const started = Date.now();
  const loadavg = os.loadavg().map((v) => round(v, 2));
  log(`machine: ${os.cpus().length} CPUs, load average ${loadavg.join(" ")}; node ${process.version}`);

  log("bundle: wrangler deploy --dry-run --minify (src/index.ts, as deployed)");
  const bundle = await bundleSize(REPO_ROOT);

  state = await tempDir("backup-vault-bench-");
  log(`starting bench/worker.ts on workerd (state in ${state.path}; vars ${Object.entries(VARS).map(([k, v]) => `${k}=${v}`).join(", ")})`);
  await operatorDb(kvTarget({ persistTo: state.path })).migrate(); // the D1 schema, as `npm start` applies it
  worker = await startBenchWorker({ repoRoot: REPO_ROOT, persistTo: state.path, vars: VARS });
  log(`worker runtime at ${worker.url} (workerd pid ${worker.pid}); wrangler's dev proxy, not measured, at ${worker.proxyUrl}`);
  const http = httpClient(worker.url, { sockets: 8 });
  const bench = benchApi(http);

  // --- seeding -----------------------------------------------------------------------
  log("seeding systems");
  const listSys = await bench.newSystem("bench-list");
  for (let i = 0; i < PLAN.list.backups; i++) await bench.upload(listSys, bodyOf(1024, `list-${i}`));
  const bigSys = await bench.newSystem("bench-big");
  await bench.seedBackups(bigSys, PLAN.bigList.backups);
  const countSys = await bench.newSystem("bench-count");
  const latSys = await bench.newSystem("bench-latency");
  const upSys = await bench.newSystem("bench-upload");
  const rssSys = await bench.newSystem("bench-rss");

  // --- memory while a 100 MiB upload streams ---------------------------------------------
  // workerd runs the local R2 simulator in the same process, and the simulator moves every
  // stored body through JavaScript in small chunks: the first large put of any kind grows the
  // process by tens of MiB, up to the body's size, and the allocator keeps what it got. So the runtime is
  // first taken once through every step of an upload (a bare put, a bare verified copy, one
  // upload through the API with and one without a client digest; each reported), then the
  // API's uploads are measured, each against the idle memory just before. A control that holds
  // the body in memory runs last, to show what the figure looks like when a body is buffered.
  log("resident memory of workerd during 100 MiB uploads");
  const rssOf = async (op) => {
    await sleep(PLAN.rss.settleMs);
    const idle = await rssMiB(worker.pid);
    const sampler = sampleRss(worker.pid, PLAN.rss.everyMs);
    await op();
    const samples = await sampler.stop();
    const peak = Math.max(idle, ...samples);
    return { idle: round(idle, 1), peak: round(peak, 1), growth: round(peak - idle, 1), samples: samples.length };
  };
  const rssBody = (salt) => bodyOf(PLAN.rss.bytes, salt);
  const warmBody = rssBody("rss-warm");
  const digestOf = (body) => ({ digest: body.sha256() });
  const rssWarm = {
    bare_put_first: await rssOf(() => bench.rawPut(".bench/rss-warm", warmBody)),
    bare_copy: await rssOf(() => bench.rawCopy(".bench/rss-warm", ".bench/rss-copy", warmBody.sha256())),
    api_first: await rssOf(() => bench.upload(rssSys, rssBody("rss-first"))),
    api_client_digest_first: await rssOf(async () => {
      const body = rssBody("rss-first-digest");
      await bench.upload(rssSys, body, digestOf(body));
    }),
  };
  for (const key of [".bench/rss-warm", ".bench/rss-copy"]) await bench.rawDelete(key);
  const rssApi = [];
  for (let i = 0; i < PLAN.rss.runs && within(started); i++) rssApi.push(await rssOf(() => bench.upload(rssSys, rssBody(`rss-${i}`))));
  const rssDigest = await rssOf(async () => {
    const body = rssBody("rss-digest");
    await bench.upload(rssSys, body, digestOf(body));
  });
  const rssBuffered = await rssOf(() => bench.bufferedPut(".bench/rss-buffered", rssBody("rss-buffered")));
  await bench.rawDelete(".bench/rss-buffered");

  const dlSys = await bench.newSystem("bench-download");
  const dlBody = bodyOf(PLAN.download.bytes, "download");
  const dl = await bench.upload(dlSys, dlBody, { digest: dlBody.sha256() });

  // --- binding calls -----------------------------------------------------------------
  log("counting binding calls per operation");
  await bench.upload(countSys, bodyOf(1024, "warm-up")); // the organisation's ledger builds itself once
  const calls = {};
  const countOne = async (name, minimum, op) => {
    await bench.resetCounters();
    await op();
    calls[name] = { ...billed(await bench.counters()), minimum };
  };
  let counted;
  await countOne("upload (no client digest)", 2, async () => (counted = await bench.upload(countSys, bodyOf(1024, "count"))));
  const small = bodyOf(1024, "count-digest");
  await countOne("upload (client digest)", 2, () => bench.upload(countSys, small, { digest: small.sha256() }));
  await countOne("download", 2, () => bench.download(countSys, counted.id, 1024));
  await countOne("delete", 2, () => bench.remove(countSys, counted.id));
  let listed;
  await countOne(`list (${PLAN.list.backups} backups)`, 2, async () => (listed = await bench.list(listSys)));
  if (listed.length !== PLAN.list.backups) throw new Error(`list returned ${listed.length} backups, expected ${PLAN.list.backups}`);
  let bigListed;
  await countOne(`list (${PLAN.bigList.backups} backups)`, 2, async () => (bigListed = await bench.list(bigSys)));
  if (bigListed.length !== PLAN.bigList.backups) throw new Error(`list returned ${bigListed.length} backups, expected ${PLAN.bigList.backups}`);
  await countOne("baseline list (bare route)", 2, () => bench.baselineList(listSys));

  // --- latency -----------------------------------------------------------------------
  log("latency: list and 1 KiB uploads, one request at a time");
  for (let i = 0; i < PLAN.latency.warmup; i++) await bench.list(listSys);
  const listMs = [];
  for (let i = 0; i < PLAN.latency.list && within(started); i++) listMs.push((await bench.listTimed(listSys)).ms);
  const uploadMs = [];
  const uploadDigestMs = [];
  for (let i = 0; i < PLAN.latency.upload && within(started); i++) {
    uploadMs.push((await bench.upload(latSys, bodyOf(1024, `lat-${i}`))).ms);
    const b = bodyOf(1024, `lat-d-${i}`);
    uploadDigestMs.push((await bench.upload(latSys, b, { digest: b.sha256() })).ms);
  }

  // --- list throughput: API vs bare KV read + R2 listing, ABAB ----------------------------
  log(`list throughput: ${PLAN.list.rounds} rounds of ${PLAN.list.roundMs} ms each way, concurrency ${PLAN.list.concurrency}`);
  const listRounds = [];
  for (let r = 0; r < PLAN.list.rounds && within(started); r++) {
    const run = (send) => throughput(send, { concurrency: PLAN.list.concurrency, durationMs: PLAN.list.roundMs, maxRequests: PLAN.list.maxPerRound });
    const pair = {};
    const cpu = {};
    for (const side of r % 2 ? ["baseline", "api"] : ["api", "baseline"]) {
      const before = await cpuMs(worker.pid);
      const result = await run(side === "api" ? () => bench.listRaw(listSys) : () => bench.baselineListRaw(listSys));
      pair[side] = result.rps;
      cpu[side] = ((await cpuMs(worker.pid)) - before) / result.requests;
    }
    listRounds.push({ api: pair.api, baseline: pair.baseline, ratio: pair.api / pair.baseline, cpuApi: cpu.api, cpuBaseline: cpu.baseline });
  }

  // --- 64 MiB upload: API (with and without a client digest) vs bare put, rotated ---------
  log(`upload throughput: ${PLAN.upload.rounds} rounds of 64 MiB each way`);
  const uploadRounds = [];
  const kinds = ["api", "raw", "digest"];
  for (let r = 0; r < PLAN.upload.rounds && within(started); r++) {
    const t = {};
    const cpu = {};
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(r + k) % kinds.length];
      const body = bodyOf(PLAN.upload.bytes, `up-${r}-${kind}`);
      const digest = kind === "digest" ? body.sha256() : undefined;
      const before = await cpuMs(worker.pid);
      const ms = kind === "raw" ? (await bench.rawPut(`.bench/raw-${r}`, body)).ms : (await bench.upload(upSys, body, { digest })).ms;
      cpu[kind] = (await cpuMs(worker.pid)) - before;
      t[kind] = PLAN.upload.bytes / MiB / (ms / 1000);
    }
    await bench.rawDelete(`.bench/raw-${r}`);
    uploadRounds.push({ ...t, ratio: t.api / t.raw, digestRatio: t.digest / t.raw, cpu });
  }

  // --- 64 MiB download: API vs bare streamed get, ABAB -----------------------------------
  log(`download throughput: ${PLAN.download.rounds} rounds of ${PLAN.download.perRound} × 64 MiB each way`);
  const downloadRounds = [];
  for (let r = 0; r < PLAN.download.rounds && within(started); r++) {
    const t = {};
    const cpu = {};
    for (const side of r % 2 ? ["raw", "api"] : ["api", "raw"]) {
      let ms = 0;
      const before = await cpuMs(worker.pid);
      for (let i = 0; i < PLAN.download.perRound; i++)
        ms += (side === "api" ? await bench.download(dlSys, dl.id, PLAN.download.bytes) : await bench.rawGet(dlSys.prefix + dl.id, PLAN.download.bytes)).ms;
      cpu[side] = ((await cpuMs(worker.pid)) - before) / PLAN.download.perRound;
      t[side] = (PLAN.download.perRound * PLAN.download.bytes) / MiB / (ms / 1000);
    }
    downloadRounds.push({ ...t, ratio: t.api / t.raw, cpu });
  }

  const admin = await measureAdminListing(http, { log, within: () => within(started) });

  http.close();
  await stopWorker();

  // --- report ------------------------------------------------------------------------
  const listRatio = round(median(listRounds.map((r) => r.ratio)), 3);
  const uploadRatio = round(median(uploadRounds.map((r) => r.ratio)), 3);
  const downloadRatio = round(median(downloadRounds.map((r) => r.ratio)), 3);
  const rssGrowth = median(rssApi.map((r) => r.growth));
  const listCalls = calls[`list (${PLAN.list.backups} backups)`].binding_calls;
  const targets = [
    target("list_vs_baseline", listRatio, "ratio of req/s", ">=", 0.85, "bare route: the same KV read and R2 listing with metadata"),
    target("list_subrequests", listCalls, "binding calls", "=", 2, "minimum: 1 KV read + 1 R2 list"),
    target("upload_vs_raw_put", uploadRatio, "ratio of MiB/s", ">=", 0.45, "bare route: request body straight into R2.put"),
    target("upload_rss_growth_mib", rssGrowth, "MiB", "<=", 32, `workerd RSS just before each 100 MiB upload (median of ${rssApi.length}, after a warm-up)`),
    target("download_vs_raw_get", downloadRatio, "ratio of MiB/s", ">=", 0.9, "bare route: R2.get body streamed"),
    target("admin_org_systems_ops", admin.operations, "storage calls", "=", 3, "minimum: the token's D1 row, one D1 page of the index, one ledger call"),
    target("admin_org_systems_vs_baseline", admin.ratio, "ratio of req/s", ">=", 0.8, `bare route: the same 3 calls for ${ADMIN_PLAN.systems} systems`),
    target("bundle_gzip_kib", round(bundle.gzipBytes / 1024, 1), "KiB", "<=", 32, "none (wrangler deploy --dry-run --minify, gzip -9)"),
  ];
  const latency = (ms) => ({ p50: round(percentile(ms, 50), 1), p99: round(percentile(ms, 99), 1), n: ms.length });
  const figures = {
    admin_org_systems: { systems: ADMIN_PLAN.systems, ...admin },
    list: {
      api_rps: round(median(listRounds.map((r) => r.api)), 0),
      baseline_rps: round(median(listRounds.map((r) => r.baseline)), 0),
      rounds: listRounds.length,
      concurrency: PLAN.list.concurrency,
      round_ratios: listRounds.map((r) => round(r.ratio, 3)),
      workerd_cpu_ms_per_request: { api: round(median(listRounds.map((r) => r.cpuApi)), 2), baseline: round(median(listRounds.map((r) => r.cpuBaseline)), 2) },
    },
    latency_ms: { list: latency(listMs), upload_1kib: latency(uploadMs), upload_1kib_client_digest: latency(uploadDigestMs) },
    upload: {
      api_mib_s: round(median(uploadRounds.map((r) => r.api)), 1),
      api_client_digest_mib_s: round(median(uploadRounds.map((r) => r.digest)), 1),
      raw_put_mib_s: round(median(uploadRounds.map((r) => r.raw)), 1),
      client_digest_vs_raw_put: round(median(uploadRounds.map((r) => r.digestRatio)), 3),
      rounds: uploadRounds.length,
      round_ratios: uploadRounds.map((r) => round(r.ratio, 3)),
      workerd_cpu_ms: {
        api: median(uploadRounds.map((r) => r.cpu.api)),
        api_client_digest: median(uploadRounds.map((r) => r.cpu.digest)),
        raw_put: median(uploadRounds.map((r) => r.cpu.raw)),
      },
    },
    download: {
      api_mib_s: round(median(downloadRounds.map((r) => r.api)), 1),
      raw_get_mib_s: round(median(downloadRounds.map((r) => r.raw)), 1),
      rounds: downloadRounds.length,
      round_ratios: downloadRounds.map((r) => round(r.ratio, 3)),
      workerd_cpu_ms: { api: round(median(downloadRounds.map((r) => r.cpu.api)), 1), raw_get: round(median(downloadRounds.map((r) => r.cpu.raw)), 1) },
    },
    rss: {
      growth_mib: rssGrowth,
      max_growth_mib: Math.max(...rssApi.map((r) => r.growth)),
      api_runs: rssApi,
      client_digest: rssDigest,
      warm_up: rssWarm,
      control_buffered_put: rssBuffered,
      every_ms: PLAN.rss.everyMs,
    },
    bundle: { files: bundle.files, raw_kib: round(bundle.rawBytes / 1024, 1), gzip_kib: round(bundle.gzipBytes / 1024, 1) },
    binding_calls: calls,
    list_1000_subrequests: calls[`list (${PLAN.bigList.backups} backups)`].binding_calls,
    setup: {
      note:
        `workerd via wrangler ${await wranglerVersion()} (dev API, requests straight to the user worker), loopback; ` +
        `vars ${Object.entries(VARS).map(([k, v]) => `${k}=${v}`).join(", ")} (upload rate limits off), other limits and retention at their defaults; ` +
        `${os.cpus().length} CPUs, load average at start ${loadavg.join(" ")}; ${round((Date.now() - started) / 1000, 0)} s`,
      vars: VARS,
      cpus: os.cpus().length,
      load_average_at_start: loadavg,
      node: process.version,
      seconds: round((Date.now() - started) / 1000, 0),
    },
  };
  const result = { targets, figures };
  process.stdout.write(formatReport(result) + "\n");
  if (JSON_OUTPUT) process.stdout.write(JSON.stringify(result) + "\n");
  return targets.every((t) => t.met) ? 0 : 1;
}

/** The bench worker's routes: the API as an appliance calls it, the baselines, the counters. */
function benchApi(http) {
  const expect = (res, status, what) => {
    if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status} ${res.text ?? ""}`.trim());
    return res;
  };
  const auth = (sys) => ({ Authorization: sys.auth });
  return {
    async newSystem(org) {
      const { systemKey, systemSecret, record } = await generateSystemCredentials(`${org}-${Date.now().toString(36)}`);
      expect(await http.request("PUT", `/__bench/system?key=${systemKey}`, { body: JSON.stringify(record), keep: true }), 200, "seed system");
      return { key: systemKey, prefix: `${record.organization_id}/${systemKey}/`, auth: basicAuth(systemKey, systemSecret) };
    },
    async seedBackups(sys, count) {
      const body = JSON.stringify({ prefix: sys.prefix, count });
      expect(await http.request("POST", "/__bench/backups", { body, keep: true }), 200, "seed backups");
    },
    async upload(sys, body, { digest } = {}) {
      const headers = { ...auth(sys), "Content-Type": "application/octet-stream", "X-Filename": "backup-1712887200.tar.gz.gpg" };
      if (digest) headers["X-Checksum-SHA256"] = digest;
      const res = expect(await http.request("POST", "/api/systems/backups", { headers, body, keep: true }), 201, "upload");
      const meta = JSON.parse(res.text).data;
      if (meta.size !== body.length) throw new Error(`upload stored ${meta.size} bytes, sent ${body.length}`);
      return { ...meta, ms: res.ms };
    },
    async list(sys) {
      const res = expect(await http.request("GET", "/api/systems/backups", { headers: auth(sys), keep: true }), 200, "list");
      return JSON.parse(res.text).data.backups;
    },
    listTimed: async (sys) => expect(await http.request("GET", "/api/systems/backups", { headers: auth(sys) }), 200, "list"),
    listRaw: (sys) => http.request("GET", "/api/systems/backups", { headers: auth(sys) }),
    baselineList: async (sys) => expect(await http.request("GET", `/__bench/list?key=${sys.key}`, { keep: true }), 200, "baseline list"),
    baselineListRaw: (sys) => http.request("GET", `/__bench/list?key=${sys.key}`),
    async download(sys, id, bytes) {
      const res = expect(await http.request("GET", `/api/systems/backups/${id}`, { headers: auth(sys) }), 200, "download");
      if (res.bytes !== bytes) throw new Error(`download returned ${res.bytes} bytes, expected ${bytes}`);
      return res;
    },
    remove: async (sys, id) => expect(await http.request("DELETE", `/api/systems/backups/${id}`, { headers: auth(sys), keep: true }), 200, "delete"),
    rawPut: async (key, body) => expect(await http.request("PUT", `/__bench/object?key=${encodeURIComponent(key)}`, { body, keep: true }), 200, "bare put"),
    async rawGet(key, bytes) {
      const res = expect(await http.request("GET", `/__bench/object?key=${encodeURIComponent(key)}`), 200, "bare get");
      if (res.bytes !== bytes) throw new Error(`bare get returned ${res.bytes} bytes, expected ${bytes}`);
      return res;
    },
    bufferedPut: async (key, body) => expect(await http.request("PUT", `/__bench/buffered-object?key=${encodeURIComponent(key)}`, { body, keep: true }), 200, "buffered put"),
    rawCopy: async (from, to, sha256) =>
      expect(await http.request("POST", `/__bench/copy?key=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&sha256=${sha256}`, { keep: true }), 200, "bare copy"),
    rawDelete: async (key) => expect(await http.request("DELETE", `/__bench/object?key=${encodeURIComponent(key)}`, { keep: true }), 200, "bare delete"),
    resetCounters: async () => expect(await http.request("POST", "/__bench/counters/reset", { keep: true }), 200, "reset counters"),
    counters: async () => JSON.parse(expect(await http.request("GET", "/__bench/counters", { keep: true }), 200, "counters").text),
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const within = (started) => Date.now() - started < BENCH_DEADLINE_MS - 60_000;

async function wranglerVersion() {
  return JSON.parse(await readFile(join(REPO_ROOT, "node_modules", "wrangler", "package.json"), "utf8")).version;
}

async function stopWorker() {
  const w = worker;
  worker = null;
  if (w) await w.stop();
  const s = state;
  state = null;
  if (s) await s.remove();
}

const watchdog = setTimeout(async () => {
  log(`the bench ran longer than ${BENCH_DEADLINE_MS / 60_000} minutes: aborting`);
  await stopWorker();
  process.exit(2);
}, BENCH_DEADLINE_MS);

for (const signal of ["SIGINT", "SIGTERM"])
  process.on(signal, async () => {
    await stopWorker();
    process.exit(130);
  });

// Explicit exit: wrangler's dev machinery may keep handles open after the worker is disposed.
main()
  .then((code) => process.exit(code))
  .catch(async (err) => {
    log(`failed: ${err?.stack ?? err}`);
    await stopWorker();
    process.exit(2);
  });
