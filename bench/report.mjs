// The bench's result: its targets (each met or missed by comparison, never by hand), the figures
// behind them, and the printed report. Medians and percentiles are the harness's nearest-rank ones.
import { CONSOLE_BUDGET_GZIP_BYTES, WORKER_BUDGET_GZIP_BYTES } from "../scripts/harness/bundle-weights.mjs";
import { median, percentile, round } from "../scripts/harness/statistics.mjs";

/** One target row: `met` follows from the comparison, never set by hand. */
function target(name, value, unit, op, bound, baseline) {
  const met = op === ">=" ? value >= bound : op === "<=" ? value <= bound : value === bound;
  return { name, value, unit, target: `${op} ${bound}`, met, baseline };
}

/**
 * The targets and the figures of a run, from each scenario's raw measurements (scenarios.mjs),
 * the bundle size, the binding calls and the run's setup.
 */
export function benchResult({ plan, bundle, consoleAssets, calls, listWaits, legacyListWaits, memory, latency, list, legacyList, upload, smallUploads, download, ledger, admin, fleet, setup }) {
  const med = (rounds, pick, digits) => round(median(rounds.map(pick)), digits);
  const listRatio = med(list, (r) => r.ratio, 3);
  const rssGrowth = median(memory.api.map((r) => r.growth));
  const targets = [
    target("list_vs_baseline", listRatio, "ratio of req/s", ">=", 0.85, "bare route: the same KV read and R2 listing with metadata"),
    target("list_subrequests", listWaits.blocking, "blocking calls", "=", 2, `minimum: 1 KV read + 1 R2 list; the system's first call of the hour (last_seen_at recorded), ${listWaits.backups} backups`),
    target("list_background_calls", listWaits.background, "calls", "<=", 1, "the last-seen write (D1, ctx.waitUntil), once per system, hour and isolate; the response does not wait for it"),
    target("upload_vs_raw_put", med(upload, (r) => r.ratio, 3), "ratio of MiB/s", ">=", 0.45, "bare route: request body straight into R2.put"),
    target("upload_rss_growth_mib", rssGrowth, "MiB", "<=", 32, `workerd RSS just before each 100 MiB upload (median of ${memory.api.length}, after a warm-up)`),
    target("download_vs_raw_get", med(download, (r) => r.ratio, 3), "ratio of MiB/s", ">=", 0.9, "bare route: R2.get body streamed"),
    target("admin_org_systems_ops", admin.operations, "storage calls", "=", 3, "minimum: the token's D1 row, one D1 page of the index, one ledger call"),
    target("admin_org_systems_vs_baseline", admin.ratio, "ratio of req/s", ">=", 0.8, `bare route: the same 3 calls for ${admin.systems} systems`),
    target("bundle_gzip_kib", round(bundle.gzipBytes / 1024, 1), "KiB", "<=", WORKER_BUDGET_GZIP_BYTES / 1024, "none (wrangler deploy --dry-run --minify, gzip -9; docs/performance-budget.md)"),
    target("console_gzip_kib", round(consoleAssets.total / 1024, 1), "KiB", "<=", CONSOLE_BUDGET_GZIP_BYTES / 1024, "none (public/console, each file gzipped as it travels)"),
    target("small_upload_class_a_ops", calls["upload 64 KiB (no client digest)"].r2_class_a, "R2 Class A", "=", 1, "64 KiB without a digest: one verified put"),
    target("small_upload_vs_digest_upload", smallUploads.vs_client_digest, "ratio of uploads/s", ">=", 0.9, "64 KiB with X-Checksum-SHA256, rounds interleaved"),
    target("delete_class_a_ops", calls["delete"].r2_class_a, "R2 Class A", "=", 1, "one deletion into the recovery window: the copy's put (its get is Class B, the delete free)"),
    target("retry_upload_class_a_ops", calls["retry: the same 64 KiB again"].r2_class_a, "R2 Class A", "=", 0, "the same 64 KiB sent twice: the second"),
    target("legacy_list_subrequests", legacyListWaits.blocking, "blocking calls", "=", 2, `minimum: 1 KV read (the legacy index entry) + 1 R2 list, imported credentials; the system's first call of the hour (last_seen_at recorded)`),
    target("legacy_list_background_calls", legacyListWaits.background, "calls", "<=", 1, "the last-seen write (D1, ctx.waitUntil), as for the appliance API's list"),
    target("legacy_small_upload_class_a_ops", calls["legacy upload 64 KiB (PUT)"].r2_class_a, "R2 Class A", "=", 1, "64 KiB by PUT (curl --upload-file): one verified put"),
    target("legacy_list_vs_list", med(legacyList, (r) => r.ratio, 3), "ratio of req/s", ">=", 0.95, "the appliance API's list of the same system, same run"),
    target("admin_health_ops", fleet.admin_health.operations, "storage calls", "=", fleet.admin_health.scoped_operations,
      `the same page (?limit=${fleet.admin_health.page_limit}) for a token scoped to ${fleet.admin_health.scoped_organizations} of the ${fleet.organizations} organisations: 1 D1 token row, 1 D1 page, 2 ledger calls per organisation`),
    target("health_sweep_100k_calls", fleet.steady_pass.calls, "storage calls", "<=", healthSweepBound(fleet),
      `the cron's health step on an empty fleet (${fleet.health_step_empty_fleet.calls} a run) + ${fleet.sweep_calls_per_page} D1 calls per ${fleet.sweep_page} systems; ${fleet.systems} systems in ${fleet.organizations} organisations`),
    target("health_sweep_100k_runs", fleet.steady_pass.runs, "cron runs", "<=", Math.ceil(fleet.systems / (fleet.sweep_page * fleet.sweep_pages_per_run)), `${fleet.sweep_pages_per_run} pages of ${fleet.sweep_page} systems a run`),
    target("ledger_reserve_200k_vs_empty", ledger.ratio, "ratio of reserve+release/s", ">=", 0.8, "the same calls on an organisation with no backups"),
  ];
  const latencyOf = (ms) => ({ p50: round(percentile(ms, 50), 1), p99: round(percentile(ms, 99), 1), n: ms.length });
  const figures = {
    admin_org_systems: admin,
    list: {
      api_rps: med(list, (r) => r.api, 0),
      baseline_rps: med(list, (r) => r.baseline, 0),
      rounds: list.length,
      concurrency: plan.list.concurrency,
      round_ratios: list.map((r) => round(r.ratio, 3)),
      workerd_cpu_ms_per_request: { api: med(list, (r) => r.cpuApi, 2), baseline: med(list, (r) => r.cpuBaseline, 2) },
    },
    latency_ms: { list: latencyOf(latency.list), upload_1kib: latencyOf(latency.upload), upload_1kib_client_digest: latencyOf(latency.uploadDigest) },
    upload: {
      api_mib_s: med(upload, (r) => r.api, 1),
      api_client_digest_mib_s: med(upload, (r) => r.digest, 1),
      raw_put_mib_s: med(upload, (r) => r.raw, 1),
      client_digest_vs_raw_put: med(upload, (r) => r.digestRatio, 3),
      rounds: upload.length,
      round_ratios: upload.map((r) => round(r.ratio, 3)),
      workerd_cpu_ms: {
        api: median(upload.map((r) => r.cpu.api)),
        api_client_digest: median(upload.map((r) => r.cpu.digest)),
        raw_put: median(upload.map((r) => r.cpu.raw)),
      },
      // Untimed: the wait, after each API upload's answer, for its 64 MiB victim's copy into the recovery window.
      after_answer_prune_ms: round(median(upload.map((r) => r.afterAnswerMs.api)), 0),
    },
    small_upload: smallUploads,
    legacy_list: { legacy_rps: med(legacyList, (r) => r.legacy, 0), api_rps: med(legacyList, (r) => r.api, 0), round_ratios: legacyList.map((r) => round(r.ratio, 3)) },
    ledger_reserve: ledger,
    download: {
      api_mib_s: med(download, (r) => r.api, 1),
      raw_get_mib_s: med(download, (r) => r.raw, 1),
      rounds: download.length,
      round_ratios: download.map((r) => round(r.ratio, 3)),
      workerd_cpu_ms: { api: med(download, (r) => r.cpu.api, 1), raw_get: med(download, (r) => r.cpu.raw, 1) },
    },
    rss: {
      growth_mib: rssGrowth,
      max_growth_mib: Math.max(...memory.api.map((r) => r.growth)),
      api_runs: memory.api,
      client_digest: memory.clientDigest,
      warm_up: memory.warmUp,
      control_buffered_put: memory.buffered,
      every_ms: plan.rss.everyMs,
    },
    bundle: {
      files: bundle.files,
      raw_kib: round(bundle.rawBytes / 1024, 1),
      gzip_kib: round(bundle.gzipBytes / 1024, 1),
      // What each top-level part of src/ (and each dependency) weighs: minified bytes exact, gzip its proportional share.
      parts: Object.fromEntries(bundle.parts.map((p) => [p.part, { minified_kib: round(p.bytes / 1024, 1), gzip_kib: round(p.gzipBytes / 1024, 1) }])),
    },
    console: { gzip_kib: round(consoleAssets.total / 1024, 1), files: Object.keys(consoleAssets.perFile).length },
    binding_calls: {
      ...calls,
      [`list (${listWaits.backups} backups), the system's first call of the hour`]: { ...listWaits.billed, minimum: 2 },
      [`legacy list (${legacyListWaits.backups} backups), the system's first call of the hour`]: { ...legacyListWaits.billed, minimum: 2 },
    },
    list_waits: listWaits,
    legacy_list_waits: legacyListWaits,
    fleet_health: fleet,
    list_1000_subrequests: calls[`list (${plan.bigList.backups} backups)`].binding_calls,
    setup,
  };
  return { targets, figures };
}

/** The most storage calls a pass of the health step may make: an empty fleet's per run, plus a read and a write per page of systems. */
export function healthSweepBound(fleet) {
  return fleet.health_step_empty_fleet.calls * fleet.steady_pass.runs + fleet.sweep_calls_per_page * Math.ceil(fleet.systems / fleet.sweep_page);
}

/** The human-readable report: the targets table, then the figures. */
export function formatReport({ targets, figures }) {
  const rows = [["name", "value", "unit", "target", "met", "baseline"]];
  for (const t of targets) rows.push([t.name, String(t.value), t.unit, t.target, t.met ? "yes" : "MISSED", t.baseline]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r) => "| " + r.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |";
  const out = [line(rows[0]), "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|", ...rows.slice(1).map(line)];
  const f = figures;
  out.push("");
  out.push(
    `list: ${f.list.api_rps} req/s through the API vs ${f.list.baseline_rps} bare (medians of ${f.list.rounds} ABAB rounds, concurrency ${f.list.concurrency}; workerd CPU ${f.list.workerd_cpu_ms_per_request.api} vs ${f.list.workerd_cpu_ms_per_request.baseline} ms per request); latency p50 ${f.latency_ms.list.p50} ms, p99 ${f.latency_ms.list.p99} ms (n=${f.latency_ms.list.n})`,
  );
  out.push(`1 KiB upload latency: p50 ${f.latency_ms.upload_1kib.p50} ms, p99 ${f.latency_ms.upload_1kib.p99} ms without a digest; p50 ${f.latency_ms.upload_1kib_client_digest.p50} ms, p99 ${f.latency_ms.upload_1kib_client_digest.p99} ms with X-Checksum-SHA256 (n=${f.latency_ms.upload_1kib.n} each)`);
  const uc = f.upload.workerd_cpu_ms;
  out.push(
    `64 MiB upload: ${f.upload.api_mib_s} MiB/s without a client digest, ${f.upload.api_client_digest_mib_s} MiB/s with one (ratio ${f.upload.client_digest_vs_raw_put}), bare put ${f.upload.raw_put_mib_s} MiB/s (${f.upload.rounds} rounds); workerd CPU ${uc.api} / ${uc.api_client_digest} / ${uc.raw_put} ms; the pruned victim's copy after the answer, waited for untimed: ${f.upload.after_answer_prune_ms} ms`,
  );
  const s = f.small_upload;
  out.push(
    `64 KiB upload: ${s.api_per_s}/s without a digest, ${s.client_digest_per_s}/s with one, bare put ${s.raw_put_per_s}/s (${s.rounds} rounds; vs bare put ${s.vs_raw_put}); ms per upload waiting on each call: ${Object.entries(s.fixed_costs_ms_per_upload).map(([k, v]) => `${k} ${v}`).join(", ")}`,
  );
  out.push(
    `64 MiB download: ${f.download.api_mib_s} MiB/s through the API vs ${f.download.raw_get_mib_s} MiB/s bare (${f.download.rounds} rounds); workerd CPU ${f.download.workerd_cpu_ms.api} vs ${f.download.workerd_cpu_ms.raw_get} ms`,
  );
  const r = f.rss;
  out.push(
    `100 MiB upload, workerd RSS growth over the idle just before: ${r.api_runs.map((x) => `+${x.growth}`).join(", ")} MiB (median ${r.growth_mib}, idle ${r.api_runs[0].idle} MiB, every ${r.every_ms} ms); with a client digest +${r.client_digest.growth}`,
  );
  out.push(
    `  warm-up, first of each on this runtime: bare put +${r.warm_up.bare_put_first.growth}, bare verified copy +${r.warm_up.bare_copy.growth}, API upload +${r.warm_up.api_first.growth}, with a client digest +${r.warm_up.api_client_digest_first.growth}; control that buffers the body: +${r.control_buffered_put.growth} MiB`,
  );
  const w = f.list_waits;
  const waits = (x) => `${x.calls.map((c) => `${c.call} ${c.blocking ? "blocking" : "background"}`).join(", ")} (last_seen_at ${x.last_seen_at})`;
  out.push(`list, its system's first call of the hour: ${waits(w)}; the older protocol's list: ${waits(f.legacy_list_waits)}`);
  const h = f.fleet_health;
  const passLine = (p) => `${p.calls} storage calls in ${p.runs} run(s) (${p.d1_statements} D1 statements), ${p.d1_rows_read} D1 rows read, ${p.d1_rows_written} written, ${p.transitions} transitions, ${p.alerts_queued} alerts queued`;
  out.push(`cron health step over ${h.systems} systems in ${h.organizations} organisations: first pass ${passLine(h.first_pass)}; the next hour ${passLine(h.steady_pass)}`);
  out.push(`  the cron's whole run on an empty fleet: ${h.cron_empty_fleet.calls} storage calls (${Object.entries(h.cron_empty_fleet.detail).map(([k, v]) => `${k} ${v}`).join(", ")})`);
  const a = h.admin_health;
  out.push(`GET /api/admin/health?limit=${a.page_limit} over ${h.organizations} organisations: ${a.operations} storage calls (${a.d1_queries} D1 queries reading ${a.d1_rows_read} rows, ${a.do_requests} ledger calls); scoped to ${a.scoped_organizations}: ${a.scoped_operations} (${a.scoped_d1_rows_read} rows read)`);
  out.push(`bundle: ${f.bundle.raw_kib} KiB minified, ${f.bundle.gzip_kib} KiB gzipped (${f.bundle.files.join(", ")}); by part, minified / share of gzipped:`);
  out.push(`  ${Object.entries(f.bundle.parts).map(([part, w]) => `${part} ${w.minified_kib} / ${w.gzip_kib}`).join(", ")} KiB`);
  out.push(`console: ${f.console.gzip_kib} KiB gzipped (${f.console.files} files, each gzipped on its own)`);
  out.push("");
  out.push("binding calls per operation (KV + R2 as billed; Durable Object requests apart) and list price per million operations:");
  const ops = [["operation", "calls", "minimum", "KV reads", "R2 class A", "R2 class B", "R2 free", "DO requests", "USD / million"]];
  for (const [name, c] of Object.entries(f.binding_calls))
    ops.push([name, String(c.binding_calls), String(c.minimum), String(c.kv_read), String(c.r2_class_a), String(c.r2_class_b), String(c.r2_free), String(c.do_request), c.usd_per_million.toFixed(2)]);
  const w2 = ops[0].map((_, i) => Math.max(...ops.map((r) => r[i].length)));
  const line2 = (r) => "| " + r.map((c, i) => (i === 0 ? c.padEnd(w2[i]) : c.padStart(w2[i]))).join(" | ") + " |";
  out.push(line2(ops[0]), "|" + w2.map((w) => "-".repeat(w + 2)).join("|") + "|", ...ops.slice(1).map(line2));
  out.push("");
  out.push(`setup: ${f.setup.note}`);
  return out.join("\n");
}
