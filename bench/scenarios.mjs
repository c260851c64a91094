// The bench's measurements, each against its baseline in the same run. `bench` is the bench
// worker's client (worker-client.mjs), `pid` the workerd that runs it, `within()` false once the
// run nears its deadline (loops stop early rather than overrun).
import { backupKey } from "../src/backups/keys.ts";
import { cpuMs, residentKiB, sampleResidentMemory } from "../scripts/harness/processes.mjs";
import { round } from "../scripts/harness/statistics.mjs";
import { billed } from "./billing.mjs";
import { bodyOf, MiB, throughput } from "./load.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const residentMiB = async (pid) => (await residentKiB(pid)) / 1024;

/**
 * Resident memory of workerd while 100 MiB uploads stream. workerd runs the local R2 simulator
 * in the same process, and the simulator moves every stored body through JavaScript in small
 * chunks: the first large put of any kind grows the process by tens of MiB, up to the body's
 * size, and the allocator keeps what it got. So the runtime is first taken once through every
 * step of an upload (a bare put, a bare verified copy, one upload through the API with and one
 * without a client digest; each reported), then the API's uploads are measured, each against
 * the idle memory just before. A control that holds the body in memory runs last, to show what
 * the figure looks like when a body is buffered.
 */
export async function measureUploadMemory({ bench, pid, within }, sys, plan) {
  const rssOf = async (op) => {
    await sleep(plan.settleMs);
    const idle = await residentMiB(pid);
    const sampler = sampleResidentMemory(async () => [pid], plan.everyMs);
    await op();
    const samples = (await sampler.stop()).map((s) => s.kib / 1024);
    const peak = Math.max(idle, ...samples);
    return { idle: round(idle, 1), peak: round(peak, 1), growth: round(peak - idle, 1), samples: samples.length };
  };
  const body = (salt) => bodyOf(plan.bytes, salt);
  const uploadWithDigest = async (salt) => {
    const b = body(salt);
    await bench.upload(sys, b, { digest: b.sha256() });
  };
  const warmBody = body("rss-warm");
  const warmUp = {
    bare_put_first: await rssOf(() => bench.rawPut(".bench/rss-warm", warmBody)),
    bare_copy: await rssOf(() => bench.rawCopy(".bench/rss-warm", ".bench/rss-copy", warmBody.sha256())),
    api_first: await rssOf(() => bench.upload(sys, body("rss-first"))),
    api_client_digest_first: await rssOf(() => uploadWithDigest("rss-first-digest")),
  };
  for (const key of [".bench/rss-warm", ".bench/rss-copy"]) await bench.rawDelete(key);
  const api = [];
  for (let i = 0; i < plan.runs && within(); i++) api.push(await rssOf(() => bench.upload(sys, body(`rss-${i}`))));
  const clientDigest = await rssOf(() => uploadWithDigest("rss-digest"));
  const buffered = await rssOf(() => bench.bufferedPut(".bench/rss-buffered", body("rss-buffered")));
  await bench.rawDelete(".bench/rss-buffered");
  return { api, clientDigest, warmUp, buffered };
}

/** Binding calls (KV, R2, Durable Objects) of one operation each, as billed. Returns `{ calls, listed, bigListed }`. */
export async function countBindingCalls({ bench }, { countSys, listSys, bigSys }, plan) {
  await bench.upload(countSys, bodyOf(1024, "warm-up")); // the organisation's ledger builds itself once
  const calls = {};
  const countOne = async (name, minimum, op) => {
    await bench.resetCounters();
    const result = await op();
    calls[name] = { ...billed(await bench.counters()), minimum };
    return result;
  };
  const counted = await countOne("upload (no client digest)", 2, () => bench.upload(countSys, bodyOf(1024, "count")));
  const small = bodyOf(1024, "count-digest");
  await countOne("upload (client digest)", 2, () => bench.upload(countSys, small, { digest: small.sha256() }));
  const smallBody = bodyOf(plan.small.bytes, "count-small");
  await countOne("upload 64 KiB (no client digest)", 2, () => bench.upload(countSys, smallBody));
  await countOne("retry: the same 64 KiB again", 2, () => bench.upload(countSys, smallBody, { status: 200 }));
  await countOne("download", 2, () => bench.download(countSys, counted.id, 1024));
  await countOne("delete", 2, () => bench.remove(countSys, counted.id));
  const listed = await countOne(`list (${plan.list.backups} backups)`, 2, () => bench.list(listSys));
  if (listed.length !== plan.list.backups) throw new Error(`list returned ${listed.length} backups, expected ${plan.list.backups}`);
  const bigListed = await countOne(`list (${plan.bigList.backups} backups)`, 2, () => bench.list(bigSys));
  if (bigListed.length !== plan.bigList.backups) throw new Error(`list returned ${bigListed.length} backups, expected ${plan.bigList.backups}`);
  await countOne("baseline list (bare route)", 2, () => bench.baselineList(listSys));
  // The older protocol, imported credentials (its "last seen" D1 write is once per system and hour per isolate: warmed up first).
  await bench.legacyList(listSys);
  const legacyListed = await countOne(`legacy list (${plan.list.backups} backups)`, 2, () => bench.legacyList(listSys));
  if (legacyListed.length !== plan.list.backups) throw new Error(`legacy list returned ${legacyListed.length} backups, expected ${plan.list.backups}`);
  await bench.legacyList(countSys);
  await countOne("legacy upload 64 KiB (PUT)", 2, () => bench.legacyUpload(countSys, bodyOf(plan.small.bytes, "count-legacy-small")));
  return calls;
}

/** Latency of lists and 1 KiB uploads (with and without a client digest), one request at a time, in ms. */
export async function measureLatency({ bench, within }, { listSys, latSys }, plan) {
  for (let i = 0; i < plan.warmup; i++) await bench.list(listSys);
  const list = [];
  for (let i = 0; i < plan.list && within(); i++) list.push((await bench.listTimed(listSys)).ms);
  const upload = [];
  const uploadDigest = [];
  for (let i = 0; i < plan.upload && within(); i++) {
    upload.push((await bench.upload(latSys, bodyOf(1024, `lat-${i}`))).ms);
    const b = bodyOf(1024, `lat-d-${i}`);
    uploadDigest.push((await bench.upload(latSys, b, { digest: b.sha256() })).ms);
  }
  return { list, upload, uploadDigest };
}

/** List throughput, the API against the bare KV read + R2 listing, in rounds alternating which goes first. */
export async function listRounds({ bench, pid, within }, listSys, plan) {
  const rounds = [];
  for (let r = 0; r < plan.rounds && within(); r++) {
    const run = (send) => throughput(send, { concurrency: plan.concurrency, durationMs: plan.roundMs, maxRequests: plan.maxPerRound });
    const pair = {};
    const cpu = {};
    for (const side of r % 2 ? ["baseline", "api"] : ["api", "baseline"]) {
      const before = await cpuMs(pid);
      const result = await run(side === "api" ? () => bench.listRaw(listSys) : () => bench.baselineListRaw(listSys));
      pair[side] = result.rps;
      cpu[side] = ((await cpuMs(pid)) - before) / result.requests;
    }
    rounds.push({ api: pair.api, baseline: pair.baseline, ratio: pair.api / pair.baseline, cpuApi: cpu.api, cpuBaseline: cpu.baseline });
  }
  return rounds;
}

/** List throughput of the older protocol against the appliance API's list (same system, same backups), alternating which goes first. */
export async function legacyListRounds({ bench, within }, listSys, plan) {
  const rounds = [];
  for (let r = 0; r < plan.rounds && within(); r++) {
    const run = (send) => throughput(send, { concurrency: plan.concurrency, durationMs: plan.roundMs, maxRequests: plan.maxPerRound });
    const pair = {};
    for (const side of r % 2 ? ["api", "legacy"] : ["legacy", "api"]) pair[side] = (await run(side === "api" ? () => bench.listRaw(listSys) : () => bench.legacyListRaw(listSys))).rps;
    rounds.push({ legacy: pair.legacy, api: pair.api, ratio: pair.legacy / pair.api });
  }
  return rounds;
}

/**
 * Upload throughput: the API with and without a client digest against a bare put, in rotated order.
 * At the retention cap each upload prunes a 64 MiB victim, copied into the recovery window after
 * the answer. That copy is waited for after each upload, untimed (`afterAnswerMs`): on this one
 * machine its work would otherwise land on whichever upload comes next, the bare put included.
 */
export async function uploadRounds({ bench, pid, within }, upSys, plan) {
  const rounds = [];
  const kinds = ["api", "raw", "digest"];
  for (let r = 0; r < plan.rounds && within(); r++) {
    const ms = {};
    const cpu = {};
    const afterAnswerMs = {};
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(r + k) % kinds.length];
      const body = bodyOf(plan.bytes, `up-${r}-${kind}`);
      const digest = kind === "digest" ? body.sha256() : undefined;
      const before = await cpuMs(pid);
      ms[kind] = kind === "raw" ? (await bench.rawPut(`.bench/raw-${r}`, body)).ms : (await bench.upload(upSys, body, { digest })).ms;
      if (kind !== "raw") afterAnswerMs[kind] = await bench.settle(upSys);
      cpu[kind] = (await cpuMs(pid)) - before;
    }
    await bench.rawDelete(`.bench/raw-${r}`);
    const mibS = (kind) => plan.bytes / MiB / (ms[kind] / 1000);
    rounds.push({ api: mibS("api"), raw: mibS("raw"), digest: mibS("digest"), ratio: ms.raw / ms.api, digestRatio: ms.raw / ms.digest, cpu, afterAnswerMs });
  }
  return rounds;
}

/** Download throughput: the API against the same object streamed by a bare `R2.get`, alternating which goes first. */
export async function downloadRounds({ bench, pid, within }, dlSys, backupId, plan) {
  const rounds = [];
  for (let r = 0; r < plan.rounds && within(); r++) {
    const t = {};
    const cpu = {};
    for (const side of r % 2 ? ["raw", "api"] : ["api", "raw"]) {
      let ms = 0;
      const before = await cpuMs(pid);
      for (let i = 0; i < plan.perRound; i++)
        ms += (side === "api" ? await bench.download(dlSys, backupId, plan.bytes) : await bench.rawGet(backupKey(dlSys, backupId), plan.bytes)).ms;
      cpu[side] = ((await cpuMs(pid)) - before) / plan.perRound;
      t[side] = (plan.perRound * plan.bytes) / MiB / (ms / 1000);
    }
    rounds.push({ ...t, ratio: t.api / t.raw, cpu });
  }
  return rounds;
}
