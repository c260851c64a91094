// The small-upload scenario: what the fleet really sends (configuration backups of tens to
// hundreds of KiB), which the worker reads whole and writes once.
import { bodyOf } from "./load.mjs";
import { median, round } from "../scripts/harness/statistics.mjs";

/**
 * Rounds of `perRound` sequential 64 KiB uploads each way, rotated: through the API without a
 * digest, with X-Checksum-SHA256, and as a bare R2 put. Then `fixedCosts` uploads with the bench
 * worker timing each binding call, to show where a small upload's time goes.
 */
export async function measureSmallUploads(bench, sys, { bytes, rounds, perRound, fixedCosts }, more) {
  const kinds = ["api", "digest", "raw"];
  const results = [];
  for (let r = 0; r < rounds && more(); r++) {
    const perSecond = {};
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(r + k) % kinds.length];
      let ms = 0;
      for (let i = 0; i < perRound; i++) {
        const body = bodyOf(bytes, `small-${r}-${kind}-${i}`);
        const digest = kind === "digest" ? body.sha256() : undefined;
        ms += (kind === "raw" ? await bench.rawPut(".bench/small", body) : await bench.upload(sys, body, { digest })).ms;
      }
      perSecond[kind] = perRound / (ms / 1000);
    }
    results.push({ ...perSecond, ratio: perSecond.api / perSecond.digest, rawRatio: perSecond.api / perSecond.raw });
  }
  await bench.rawDelete(".bench/small");

  // workerd's clock moves on I/O, so the bench worker's per-call waits are the calls' latencies.
  await bench.resetCounters();
  let requestMs = 0;
  for (let i = 0; i < fixedCosts; i++) requestMs += (await bench.upload(sys, bodyOf(bytes, `fixed-${i}`))).ms;
  const perUpload = (ms) => round(ms / fixedCosts, 2);
  const waits = Object.entries(await bench.waited()).map(([name, ms]) => [name, perUpload(ms)]);

  return {
    api_per_s: round(median(results.map((r) => r.api)), 1),
    client_digest_per_s: round(median(results.map((r) => r.digest)), 1),
    raw_put_per_s: round(median(results.map((r) => r.raw)), 1),
    vs_client_digest: round(median(results.map((r) => r.ratio)), 3),
    vs_raw_put: round(median(results.map((r) => r.rawRatio)), 3),
    rounds: results.length,
    round_ratios: results.map((r) => round(r.ratio, 3)),
    fixed_costs_ms_per_upload: { request: perUpload(requestMs), ...Object.fromEntries(waits) },
  };
}
