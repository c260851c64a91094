// How Cloudflare bills the calls the bench worker counts, and what a million of them cost.
import { round } from "../scripts/harness/statistics.mjs";

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
  d1_statements: 0,
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
  const out = { binding_calls: 0, kv_read: 0, kv_write: 0, kv_delete: 0, kv_list: 0, r2_class_a: 0, r2_class_b: 0, r2_free: 0, do_request: 0, d1_query: 0, d1_statements: 0, d1_rows_read: 0, d1_rows_written: 0 };
  for (const [name, n] of Object.entries(counters)) {
    if (name.startsWith("do.")) {
      out.do_request += n;
      continue;
    }
    if (name === "d1.rows_read" || name === "d1.rows_written" || name === "d1.statements") {
      out[name.replace(".", "_")] += n; // what D1 bills, and the statements a batch carried; not calls
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
