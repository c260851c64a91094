// The soak's memory watch. The leak criterion is the worker isolate's V8 heap, measured through
// wrangler's inspector after a full garbage collection at quiet moments. The workerd processes'
// resident memory is sampled and reported too, but not judged: under `wrangler dev` it climbs for
// tens of thousands of requests even for a worker that only answers a constant 404 (the dev
// proxy and local simulators warming up), so over a few minutes it cannot tell a leak in this
// worker from the runtime's own warm-up.
import { setTimeout as sleep } from "node:timers/promises";
import { descendantsNamed, sampleResidentMemory } from "../harness/processes.mjs";
import { leastSquaresSlope, median } from "../harness/statistics.mjs";

/** How often workerd's resident memory is sampled. */
export const RSS_EVERY_MS = 2_000;
/** How often the worker's heap is measured (traffic pauses for each measurement). */
export const HEAP_EVERY_MS = 20_000;

/**
 * Samples the resident memory of every workerd under wrangler's `rootPid` every RSS_EVERY_MS
 * (the harness's sampler; the processes are looked up again at each sample). Rejects when there is none.
 */
export async function sampleWorkerdMemory(rootPid) {
  let pids = await descendantsNamed(rootPid, "workerd");
  if (pids.length === 0) throw new Error("no workerd process found under wrangler dev");
  return sampleResidentMemory(async () => {
    const current = await descendantsNamed(rootPid, "workerd");
    if (current.length) pids = current;
    return pids;
  }, RSS_EVERY_MS);
}

/**
 * Watches the worker's heap: one sample at once (cold, before traffic), then, once `during()` is
 * given traffic's `quiesced`, one every HEAP_EVERY_MS counted from `t0` with traffic paused, and a
 * last one at `stop()` (after traffic). Samples are `{ t (ms since t0), kib }`.
 */
export async function watchWorkerHeap(inspectorPort, t0) {
  const heap = await inspectWorkerHeap(inspectorPort);
  const measure = async (quiesced = (fn) => fn()) => ({ t: Date.now() - t0, kib: (await quiesced(() => heap.liveBytes())) / 1024 });
  const samples = [{ ...(await measure()), t: 0 }];
  const stopped = new AbortController();
  let periodic = Promise.resolve();
  return {
    samples,
    /** Starts the periodic samples, each taken while `quiesced` holds traffic back. */
    during(quiesced) {
      periodic = (async () => {
        for (let next = HEAP_EVERY_MS; ; next += HEAP_EVERY_MS) {
          await sleep(Math.max(0, t0 + next - Date.now()), undefined, { signal: stopped.signal }).catch(() => {});
          if (stopped.signal.aborted) return;
          samples.push(await measure(quiesced));
        }
      })();
    },
    /** Stops the periodic samples, takes the last one, closes the inspector; returns every sample. */
    async stop() {
      stopped.abort();
      await periodic;
      samples.push(await measure());
      heap.close();
      return samples;
    },
  };
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

/** Least-squares slope of `{ t (ms), kib }` samples, in MiB per minute. */
function slopeMiBPerMinute(samples) {
  return leastSquaresSlope(
    samples.map((s) => s.t / 60_000),
    samples.map((s) => s.kib / 1024),
  );
}

/**
 * The worker's heap at quiet moments: the sample before traffic is cold, the first one during
 * traffic is the warm baseline. A leak grows with the requests served, so it shows as a positive
 * slope over the warm samples: growth over the run (slope × time) above max(2 MiB, 25 % of the
 * baseline), with the last sample above the baseline by as much.
 */
export function heapTrend(samples) {
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
 * Growth that continues after warm-up, for the report: the first third of the run is warm-up;
 * the median of the last third against the median of the middle third (growth above 10 % of it
 * and above `minimumGrowthKiB` would be a trend).
 */
export function residentTrend(samples, minimumGrowthKiB) {
  const third = Math.floor(samples.length / 3);
  const m = median(samples.slice(third, 2 * third).map((s) => s.kib));
  const l = median(samples.slice(2 * third).map((s) => s.kib));
  const growthKiB = l - m;
  const grows = samples.length >= 6 && growthKiB > Math.max(0.1 * m, minimumGrowthKiB);
  return { middleMiB: m / 1024, lastMiB: l / 1024, growthMiB: growthKiB / 1024, slope: slopeMiBPerMinute(samples.slice(third)), grows };
}
