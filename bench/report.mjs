// Statistics, billing classes and the printed report of the benchmark.

/** Median of a list of numbers. */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const round = (v, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * Published list prices (USD, Workers Paid, beyond the monthly inclusions), as of 2026:
 * Workers requests, KV operations, R2 Standard operations, Durable Object requests.
 * CPU time, Durable Object duration and storage are not included.
 */
export const PRICES_PER_MILLION = {
  worker_request: 0.3,
  kv_read: 0.5,
  kv_write: 5.0,
  kv_delete: 5.0,
  kv_list: 5.0,
  r2_class_a: 4.5,
  r2_class_b: 0.36,
  r2_free: 0,
  do_request: 0.15,
  // D1 bills rows, not queries: rows read beyond 25 billion a month, rows written beyond 50 million.
  d1_query: 0,
  d1_rows_read: 0.001,
  d1_rows_written: 1.0,
};

// How Cloudflare bills each binding method (R2: ListObjects and PutObject are Class A,
// GetObject and HeadObject Class B, DeleteObject and AbortMultipartUpload free).
const BILLING_CLASS = {
  "kv.get": "kv_read",
  "kv.getWithMetadata": "kv_read",
  "kv.put": "kv_write",
  "kv.delete": "kv_delete",
  "kv.list": "kv_list",
  "r2.put": "r2_class_a",
  "r2.list": "r2_class_a",
  "r2.createMultipartUpload": "r2_class_a",
  "r2.uploadPart": "r2_class_a",
  "r2.complete": "r2_class_a",
  "r2.get": "r2_class_b",
  "r2.head": "r2_class_b",
  "r2.delete": "r2_free",
  "r2.abort": "r2_free",
  "d1.query": "d1_query",
};

/**
 * Turns the bench worker's raw counters (`kv.get`, `r2.put`, `ledger.r2.delete`, `do.reserve`, …)
 * into billed operations: binding calls (KV, R2 and D1 queries, worker and ledger), each billing class,
 * Durable Object requests, and the list price of a million such calls.
 */
export function billed(counters) {
  const out = { binding_calls: 0, kv_read: 0, kv_write: 0, kv_delete: 0, kv_list: 0, r2_class_a: 0, r2_class_b: 0, r2_free: 0, do_request: 0, d1_query: 0, d1_rows_read: 0, d1_rows_written: 0 };
  for (const [name, n] of Object.entries(counters)) {
    if (name.startsWith("do.")) {
      out.do_request += n;
      continue;
    }
    if (name === "d1.rows_read" || name === "d1.rows_written") {
      out[name.replace(".", "_")] += n; // what D1 bills; not calls
      continue;
    }
    const cls = BILLING_CLASS[name.replace(/^ledger\./, "")];
    if (!cls) throw new Error(`no billing class for ${name}`);
    out[cls] += n;
    out.binding_calls += n;
  }
  let usd = PRICES_PER_MILLION.worker_request;
  for (const [cls, price] of Object.entries(PRICES_PER_MILLION)) if (cls !== "worker_request") usd += out[cls] * price;
  return { ...out, usd_per_million: round(usd, 2), detail: counters };
}

/** One target row: `met` follows from the comparison, never set by hand. */
export function target(name, value, unit, op, bound, baseline) {
  const met = op === ">=" ? value >= bound : op === "<=" ? value <= bound : value === bound;
  return { name, value, unit, target: `${op} ${bound}`, met, baseline };
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
    `64 MiB upload: ${f.upload.api_mib_s} MiB/s without a client digest, ${f.upload.api_client_digest_mib_s} MiB/s with one (ratio ${f.upload.client_digest_vs_raw_put}), bare put ${f.upload.raw_put_mib_s} MiB/s (${f.upload.rounds} rounds); workerd CPU ${uc.api} / ${uc.api_client_digest} / ${uc.raw_put} ms`,
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
  out.push(`bundle: ${f.bundle.raw_kib} KiB minified, ${f.bundle.gzip_kib} KiB gzipped (${f.bundle.files.join(", ")})`);
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
