// `npm run soak`: a bounded soak of the worker under `wrangler dev`, on loopback only.
// Many systems in several organisations send mixed traffic (traffic.mjs) for SOAK_SECONDS while
// the worker's memory is watched (memory.mjs); at the end every invariant is checked (audit.mjs):
//   - no 5xx and no answer outside what the contract allows for the request;
//   - every listed backup downloads byte-exact and matches its listed and uploaded SHA-256;
//   - no system ever sees or fetches another's backup (attempts answer 404, lists hold only own ids);
//   - every system holds at most BACKUP_MAX_PER_SYSTEM backups, and its newest is among them;
//   - no secret, secret part, Authorization value or stored hash appears in the worker's log;
//   - the worker's V8 heap, measured after a full garbage collection, does not keep growing once
//     warmed up (workerd's resident memory is reported, not judged: see memory.mjs).
// Prints a summary and a closing verdict (report.mjs); exits 1 on any violation.
// Settings (environment, settings.mjs): SOAK_SECONDS (180), SOAK_SYSTEMS (24), SOAK_ORGS (3),
// SOAK_CONCURRENCY (16), SOAK_MAX_REQUESTS (2 000 000, a safety bound), SOAK_MIX.
import { tempDir } from "../harness/temp-dir.mjs";
import { startWranglerDev } from "../harness/wrangler-dev.mjs";
import { auditLog, auditSystems } from "./audit.mjs";
import { heapTrend, residentTrend, sampleWorkerdMemory, watchWorkerHeap } from "./memory.mjs";
import { progressLine, summary } from "./report.mjs";
import { soakSettings, SOAK_VARS } from "./settings.mjs";
import { seedSystems } from "./systems.mjs";
import { createTally, soakClient } from "./tally.mjs";
import { startTraffic } from "./traffic.mjs";

const PROGRESS_EVERY_MS = 30_000;

async function main() {
  const settings = soakSettings();
  const state = await tempDir("backup-vault-soak-");
  let worker = null;
  const stopOnSignal = async () => {
    await worker?.stop();
    await state.remove();
    process.exit(130);
  };
  process.once("SIGINT", stopOnSignal);
  process.once("SIGTERM", stopOnSignal);
  try {
    process.stdout.write(`soak: ${settings.systems} systems in ${settings.orgs} organisations, ${settings.concurrency} concurrent clients, ${settings.seconds} s, state in ${state.path}\n`);
    const systems = await seedSystems(state.path, { count: settings.systems, orgs: settings.orgs });
    worker = await startWranglerDev({ persistTo: state.path, vars: SOAK_VARS, inspector: true, logLevel: "info" });
    process.stdout.write(`soak: wrangler dev ready at ${worker.base}\n`);
    const tally = createTally();
    const client = soakClient(worker.base, tally);

    const rss = await sampleWorkerdMemory(worker.pid);
    const t0 = Date.now();
    const heap = await watchWorkerHeap(worker.inspectorPort, t0); // its first sample: before any traffic
    const traffic = startTraffic(client, systems, { ...settings, deadline: t0 + settings.seconds * 1000 });
    heap.during(traffic.quiesced);
    const progress = setInterval(() => process.stdout.write(progressLine((Date.now() - t0) / 1000, tally, heap.samples, rss.samples)), PROGRESS_EVERY_MS);
    await traffic.done;
    const trafficSeconds = (Date.now() - t0) / 1000;
    const trafficRequests = tally.requests;
    clearInterval(progress);
    const rssSamples = await rss.stop();
    const heapSamples = await heap.stop();

    process.stdout.write(`soak: traffic done, auditing every system\n`);
    const listed = await auditSystems(client, systems);
    await worker.stop();
    const logAudit = auditLog(worker.log(), systems, tally);
    const { text, passed } = summary({
      settings,
      tally,
      traffic: { seconds: trafficSeconds, requests: trafficRequests },
      listed,
      heap: { samples: heapSamples, trend: heapTrend(heapSamples) },
      rss: { samples: rssSamples, trend: residentTrend(rssSamples, 32 * 1024) },
      logAudit,
    });
    process.stdout.write(text);
    process.exitCode = passed ? 0 : 1;
  } finally {
    await worker?.stop();
    await state.remove();
  }
}

try {
  await main();
} catch (error) {
  process.stderr.write(`soak: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
}
