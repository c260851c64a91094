// The soak's printed report: progress lines while it runs, the summary and the verdict at the end.
import { percentile } from "../harness/statistics.mjs";
import { HEAP_EVERY_MS, RSS_EVERY_MS } from "./memory.mjs";
import { MAX_PER_SYSTEM } from "./settings.mjs";

const mib = (kib) => kib / 1024;
const signed = (x) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}`;

/** One progress line: elapsed time, requests, the latest heap and RSS samples, violations so far. */
export function progressLine(seconds, tally, heapSamples, rssSamples) {
  const heap = heapSamples.at(-1);
  const rss = rssSamples.at(-1);
  return `soak: ${Math.round(seconds)} s, ${tally.requests} requests, worker heap ${heap ? mib(heap.kib).toFixed(1) : "?"} MiB, workerd RSS ${rss ? mib(rss.kib).toFixed(1) : "?"} MiB, violations ${tally.violationCount}\n`;
}

/**
 * The summary: traffic and its latencies per operation (nearest-rank percentiles), backups at
 * rest, the heap and RSS samples with their trends, the log audit, every violation kept, and the
 * closing verdict line. Returns `{ text, passed }`.
 */
export function summary({ settings, tally, traffic, listed, heap, rss, logAudit }) {
  const lines = ["", "Soak summary", ""];
  lines.push(`duration          ${traffic.seconds.toFixed(1)} s of traffic (${settings.concurrency} concurrent clients, ${settings.systems} systems, ${settings.orgs} organisations)`);
  lines.push(`requests          ${traffic.requests} during traffic (${(traffic.requests / traffic.seconds).toFixed(1)}/s), ${tally.requests - traffic.requests} in the audit`);
  lines.push(`bytes             ${mib(mib(tally.bytesUp)).toFixed(1)} MiB uploaded, ${mib(mib(tally.bytesDown)).toFixed(1)} MiB downloaded`);
  lines.push("", "operation          count  statuses                          p50 ms  p95 ms  p99 ms");
  for (const [op, e] of [...tally.byOp].sort()) {
    const statuses = [...e.statuses].sort().map(([s, n]) => `${s}×${n}`).join(" ");
    const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(e.latencies, p).toFixed(0));
    lines.push(`${op.padEnd(17)} ${String(e.count).padStart(6)}  ${statuses.padEnd(32)} ${p50.padStart(6)} ${p95.padStart(7)} ${p99.padStart(7)}`);
  }
  const held = [...listed.values()].map((b) => b.length);
  lines.push("", `backups at rest   ${held.reduce((a, b) => a + b, 0)} across ${held.length} systems (max per system ${Math.max(0, ...held)}, retention ${MAX_PER_SYSTEM})`);
  const { trend } = heap;
  lines.push(
    `worker heap       ${heap.samples.length} samples (JS heap + array buffers, after a full GC, traffic paused) every ${HEAP_EVERY_MS / 1000} s: ${heap.samples.map((s) => mib(s.kib).toFixed(2)).join(" ")} MiB`,
    `heap trend        warm baseline ${trend.baselineMiB.toFixed(2)} MiB, last ${trend.lastMiB.toFixed(2)} MiB (${signed(trend.growthMiB)} MiB), slope ${trend.slope.toFixed(3)} MiB/min: ${trend.grows ? "GROWING" : "no growth trend"}`,
  );
  const r = rss.samples.map((s) => mib(s.kib));
  lines.push(
    `workerd RSS       ${rss.samples.length} samples every ${RSS_EVERY_MS / 1000} s (dev proxy + runtime with its local KV/R2/DO): start ${r[0]?.toFixed(1)} MiB, max ${Math.max(...r).toFixed(1)}, end ${r.at(-1)?.toFixed(1)} MiB; middle-third median ${rss.trend.middleMiB.toFixed(1)}, last-third ${rss.trend.lastMiB.toFixed(1)} (${signed(rss.trend.growthMiB)} MiB) — reported, not judged (see scripts/soak/memory.mjs)`,
  );
  const firstEach = new Map(rss.samples[0]?.each ?? []);
  const perProcess = (rss.samples.at(-1)?.each ?? []).map(([pid, kib]) => `pid ${pid} ${mib(firstEach.get(pid) ?? 0).toFixed(0)} → ${mib(kib).toFixed(0)} MiB`);
  lines.push(`                  per process: ${perProcess.join(", ")}`);
  lines.push(`log scan          ${logAudit.leaks === 0 ? "no credential, secret part or hash in the worker's log" : `${logAudit.leaks} leak(s)`}; ${logAudit.errorLines} error line(s)`);
  lines.push(`violations        ${tally.violationCount}`);
  for (const v of tally.violations) lines.push(`  - ${v}`);
  const passed = tally.violationCount === 0 && !trend.grows;
  lines.push(
    "",
    passed
      ? `SOAK PASSED: ${traffic.requests} requests in ${traffic.seconds.toFixed(0)} s, 0 invariant violations, no memory growth trend in the worker`
      : `SOAK FAILED: ${tally.violationCount} invariant violation(s)${trend.grows ? ", the worker's heap keeps growing" : ""}`,
    "",
  );
  return { text: lines.join("\n"), passed };
}
