// The bench's verdicts (bench/report.mjs, bench/billing.mjs): every target is met or missed by
// comparing the measured value with its bound, never set by hand; the list's target counts only
// the calls its response waits for; the fleet targets compare with what the same run measured.
import { describe, it } from "vitest";
import { billed } from "../../bench/billing.mjs";
import { benchResult, formatReport, healthSweepBound } from "../../bench/report.mjs";

const call = (counters: Record<string, number>, minimum = 2) => ({ ...billed(counters), minimum });

/** What a list waits for on its system's first call of the hour (either protocol): a new object each time, as tests edit it. */
const listWaits = () => ({
  backups: 10,
  blocking: 2,
  background: 1,
  calls: [
    { call: "kv.get", blocking: true },
    { call: "d1.query", blocking: false },
    { call: "r2.list", blocking: true },
  ],
  last_seen_at: "2026-12-05T10:00:00Z",
  billed: billed({ "kv.get": 1, "d1.query": 1, "d1.statements": 1, "r2.list": 1 }),
});

/** A run's raw measurements, every target met; `change` edits them before the verdict. */
function run(change: (r: any) => void = () => {}) {
  const pass = { runs: 1, evaluated: 100_000, calls: 203, d1_statements: 10_204, d1_rows_read: 416_202, d1_rows_written: 10_101, transitions: 0, alerts_queued: 0 };
  const r: any = {
    plan: { list: { backups: 10, concurrency: 4 }, bigList: { backups: 1000 }, rss: { everyMs: 50 } },
    bundle: { gzipBytes: 40 * 1024, rawBytes: 120 * 1024, files: ["index.js"], parts: [{ part: "src/api", bytes: 4000, gzipBytes: 1300 }] },
    consoleAssets: { total: 20 * 1024, perFile: { "index.html": 2048 } },
    calls: {
      "upload 64 KiB (no client digest)": call({ "kv.get": 1, "do.reserve": 1, "r2.put": 1, "do.commit": 1 }),
      "retry: the same 64 KiB again": call({ "kv.get": 1, "do.reserve": 1, "r2.head": 1, "do.settleRepeat": 1 }),
      delete: call({ "kv.get": 1, "do.removeBackups": 1, "ledger.r2.get": 1, "ledger.r2.put": 1, "ledger.r2.delete": 1 }),
      "list (10 backups)": call({ "kv.get": 1, "r2.list": 1 }),
      "list (1000 backups)": call({ "kv.get": 1, "r2.list": 10 }),
      "legacy list (10 backups)": call({ "kv.get": 1, "r2.list": 1 }),
      "legacy upload 64 KiB (PUT)": call({ "kv.get": 1, "do.reserve": 1, "r2.put": 1, "do.commit": 1 }),
    },
    listWaits: listWaits(),
    legacyListWaits: listWaits(),
    memory: { api: [{ idle: 100, peak: 110, growth: 10 }], clientDigest: { growth: 9 }, warmUp: { bare_put_first: { growth: 30 }, bare_copy: { growth: 1 }, api_first: { growth: 5 }, api_client_digest_first: { growth: 2 } }, buffered: { growth: 200 } },
    latency: { list: [5, 6], upload: [20, 25], uploadDigest: [18, 19] },
    list: [{ api: 1000, baseline: 1000, ratio: 1, cpuApi: 1, cpuBaseline: 1 }],
    legacyList: [{ legacy: 990, api: 1000, ratio: 0.99 }],
    upload: [{ api: 50, raw: 100, digest: 90, ratio: 0.5, digestRatio: 0.9, cpu: { api: 2000, raw: 1000, digest: 1100 }, afterAnswerMs: { api: 1500, digest: 1400 } }],
    smallUploads: { vs_client_digest: 1, vs_raw_put: 0.5, api_per_s: 14, client_digest_per_s: 14, raw_put_per_s: 28, rounds: 9, fixed_costs_ms_per_upload: { request: 80 } },
    download: [{ api: 100, raw: 100, ratio: 1, cpu: { api: 10, raw: 10 } }],
    ledger: { ratio: 1 },
    admin: { operations: 3, ratio: 1, systems: 1000 },
    fleet: {
      organizations: 10_000,
      systems: 100_000,
      cron_empty_fleet: { calls: 9, detail: { "d1.query": 8, "kv.list": 1 } },
      health_step_empty_fleet: { calls: 3, detail: { "d1.query": 3 } },
      sweep_page: 1000,
      sweep_pages_per_run: 120,
      sweep_calls_per_page: 2,
      first_pass: { ...pass, calls: 223, transitions: 6000 },
      steady_pass: pass,
      admin_health: { page_limit: 100, operations: 202, d1_queries: 2, d1_rows_read: 102, do_requests: 200, scoped_organizations: 100, scoped_operations: 202, scoped_d1_rows_read: 401 },
    },
    setup: { note: "test" },
  };
  change(r);
  return benchResult(r);
}
const verdict = (result: ReturnType<typeof benchResult>, name: string) => {
  const t = result.targets.find((x: { name: string }) => x.name === name);
  if (!t) throw new Error(`no target ${name}`);
  return t;
};

describe("bench report: targets are comparisons", () => {
  it("a run that meets every bound meets every target, and the report prints each one", ({ expect }) => {
    const result = run();
    expect(result.targets.filter((t: { met: boolean }) => !t.met).map((t: { name: string }) => t.name)).toEqual([]);
    const names = ["list_subrequests", "list_background_calls", "legacy_list_subrequests", "legacy_list_background_calls", "legacy_small_upload_class_a_ops", "legacy_list_vs_list", "delete_class_a_ops", "admin_health_ops", "health_sweep_100k_calls", "health_sweep_100k_runs"];
    const text = formatReport(result);
    for (const name of names) expect(text).toContain(`| ${name} `);
    expect(text).toContain("kv.get blocking, d1.query background, r2.list blocking");
    // The pruned victim's copy after each API upload's answer, waited for untimed, is reported.
    expect(result.figures.upload.after_answer_prune_ms).toBe(1500);
    expect(text).toContain("waited for untimed: 1500 ms");
  });

  it("list_subrequests counts only the calls the response waits for; a third blocking call misses it", ({ expect }) => {
    expect(verdict(run(), "list_subrequests")).toMatchObject({ value: 2, met: true });
    expect(verdict(run(), "list_background_calls")).toMatchObject({ value: 1, met: true });
    const slower = run((r) => Object.assign(r.listWaits, { blocking: 3, background: 0 }));
    expect(verdict(slower, "list_subrequests")).toMatchObject({ value: 3, met: false });
    expect(verdict(run((r) => Object.assign(r.listWaits, { background: 2 })), "list_background_calls").met).toBe(false);
    // The binding-calls table shows the first-of-the-hour list with its background write.
    expect(run().figures.binding_calls["list (10 backups), the system's first call of the hour"]).toMatchObject({ binding_calls: 3, d1_query: 1, minimum: 2 });
  });

  it("legacy_list_subrequests counts the older protocol's blocking calls the same way; legacy_list_vs_list is a ratio against the API's list", ({ expect }) => {
    expect(verdict(run(), "legacy_list_subrequests")).toMatchObject({ value: 2, met: true });
    expect(verdict(run((r) => Object.assign(r.legacyListWaits, { blocking: 3, background: 0 })), "legacy_list_subrequests").met).toBe(false);
    expect(verdict(run((r) => (r.legacyList = [{ legacy: 900, api: 1000, ratio: 0.9 }])), "legacy_list_vs_list")).toMatchObject({ value: 0.9, met: false });
    expect(verdict(run((r) => (r.calls["legacy upload 64 KiB (PUT)"] = call({ "kv.get": 1, "r2.put": 2, "r2.get": 1 }))), "legacy_small_upload_class_a_ops").met).toBe(false);
  });

  it("delete_class_a_ops is the Class A operations of one deletion, ledger's included", ({ expect }) => {
    expect(verdict(run(), "delete_class_a_ops")).toMatchObject({ value: 1, met: true });
    const twoWrites = run((r) => (r.calls.delete = call({ "kv.get": 1, "ledger.r2.put": 2, "ledger.r2.get": 1 })));
    expect(verdict(twoWrites, "delete_class_a_ops")).toMatchObject({ value: 2, met: false });
  });

  it("admin_health_ops must equal the same page's cost for a token scoped to 100 organisations", ({ expect }) => {
    expect(verdict(run(), "admin_health_ops")).toMatchObject({ value: 202, target: "= 202", met: true });
    const grows = run((r) => (r.fleet.admin_health.operations = 203));
    expect(verdict(grows, "admin_health_ops").met).toBe(false);
  });

  it("health_sweep_100k_calls is bounded by an empty fleet's step plus 2 D1 calls per 1,000 systems; one cron run", ({ expect }) => {
    expect(healthSweepBound(run().figures.fleet_health)).toBe(3 + 200);
    expect(verdict(run(), "health_sweep_100k_calls")).toMatchObject({ value: 203, target: "<= 203", met: true });
    expect(verdict(run((r) => (r.fleet.steady_pass = { ...r.fleet.steady_pass, calls: 204 })), "health_sweep_100k_calls").met).toBe(false);
    // Two runs for the pass: the bound allows the fixed part twice, but the runs target is missed.
    const twoRuns = run((r) => (r.fleet.steady_pass = { ...r.fleet.steady_pass, runs: 2, calls: 206 }));
    expect(verdict(twoRuns, "health_sweep_100k_calls")).toMatchObject({ target: "<= 206", met: true });
    expect(verdict(twoRuns, "health_sweep_100k_runs")).toMatchObject({ value: 2, target: "<= 1", met: false });
  });
});

describe("bench billing: what counts as a call", () => {
  it("a D1 batch is one call; its statements and rows are metered, not counted as calls", ({ expect }) => {
    const b = billed({ "d1.query": 2, "d1.statements": 1001, "d1.rows_read": 4000, "d1.rows_written": 1000, "kv.get": 1, "do.reserve": 1 });
    expect(b).toMatchObject({ binding_calls: 3, d1_query: 2, d1_statements: 1001, d1_rows_read: 4000, kv_read: 1, do_request: 1 });
  });

  it("the ledger's own R2 calls are billed in their class, and an unknown counter is an error, not a free call", ({ expect }) => {
    expect(billed({ "ledger.r2.put": 1, "ledger.r2.get": 1, "ledger.r2.delete": 1 })).toMatchObject({ r2_class_a: 1, r2_class_b: 1, r2_free: 1, binding_calls: 3 });
    expect(() => billed({ "queue.send": 1 })).toThrow(/no billing class/);
  });
});
