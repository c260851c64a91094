// The soak's one way to call the worker: every answer checked against the envelope rules and
// counted (status, latency, bytes) in the run's tally, every broken rule kept as a violation.

/** Violations kept word for word; beyond this only counted. */
const KEPT_VIOLATIONS = 50;
/** Latencies kept per operation for the percentiles. */
const KEPT_LATENCIES = 200_000;

/** An empty tally: requests, per-operation statuses and latencies, bytes each way, violations. */
export function createTally() {
  return {
    requests: 0,
    byOp: new Map(), // op -> { count, statuses: Map, latencies: [] }
    violations: [],
    violationCount: 0,
    bytesUp: 0,
    bytesDown: 0,
    /** Records a broken invariant. */
    violation(message) {
      this.violationCount++;
      if (this.violations.length < KEPT_VIOLATIONS) this.violations.push(message);
    },
    /** Records one answer of operation `op`. */
    answer(op, status, ms) {
      let entry = this.byOp.get(op);
      if (!entry) this.byOp.set(op, (entry = { count: 0, statuses: new Map(), latencies: [] }));
      entry.count++;
      entry.statuses.set(status, (entry.statuses.get(status) ?? 0) + 1);
      if (entry.latencies.length < KEPT_LATENCIES) entry.latencies.push(ms);
    },
  };
}

/**
 * A client of the worker at `base` that records into `tally`. `call(op, path, init, allowed)`
 * sends one request and resolves with `{ status, headers, body, json }`; a status outside
 * `allowed`, a JSON answer that is not the envelope, or a missing `Cache-Control: no-store` is a
 * violation.
 */
export function soakClient(base, tally) {
  async function call(op, path, init, allowed) {
    const started = performance.now();
    const response = await fetch(base + path, { ...init, signal: AbortSignal.timeout(60_000) });
    const body = Buffer.from(await response.arrayBuffer());
    tally.requests++;
    tally.bytesDown += body.length;
    tally.answer(op, response.status, performance.now() - started);
    const isJson = (response.headers.get("content-type") ?? "").startsWith("application/json");
    if (!allowed.includes(response.status))
      tally.violation(`${op} ${path}: status ${response.status}${isJson ? " " + body.toString("utf8").slice(0, 200) : ` (${body.length} bytes)`}`);
    let json = null;
    if (isJson && init.method !== "HEAD") {
      try {
        json = JSON.parse(body.toString("utf8"));
        if (json.code !== response.status || typeof json.message !== "string") tally.violation(`${op}: not an envelope`);
      } catch {
        tally.violation(`${op}: unparsable JSON`);
      }
    }
    if (response.headers.get("cache-control") !== "no-store") tally.violation(`${op}: no Cache-Control: no-store`);
    return { status: response.status, headers: response.headers, body, json };
  }
  return { call, tally };
}
