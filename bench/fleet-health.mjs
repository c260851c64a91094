// The fleet-health scenarios: what the hourly cron costs (its fixed work on an empty fleet, then
// its health step over 100,000 systems in 10,000 organisations, seeded straight into D1) and
// what one page of GET /api/admin/health costs over those 10,000 organisations, against the same
// page for a token scoped to 100 of them. Runs first, on a fresh state, so that the index holds
// exactly the seeded systems.
import { generateOperatorToken } from "../src/auth/operator-token.ts";
import { billed } from "./billing.mjs";

export const FLEET_PLAN = { organizations: 10_000, perOrg: 10, pageLimit: 100, scoped: 100, maxRuns: 10 };

/** Seeds the fleet, counts the cron and the health view; returns the figures. */
export async function measureFleetHealth(http, { log }) {
  const call = async (method, path, options = {}) => {
    const res = await http.request(method, path, { keep: true, ...options });
    if (res.status !== 200) throw new Error(`${method} ${path}: expected 200, got ${res.status} ${res.text ?? ""}`.trim());
    return JSON.parse(res.text);
  };
  const counted = async (op) => {
    await call("POST", "/__bench/counters/reset");
    const result = await op();
    return { result, calls: billed(await call("GET", "/__bench/counters")) };
  };
  const hour = 3_600_000;
  const now = Math.floor(Date.now() / hour) * hour + 17 * 60_000; // the trigger's minute ("17 * * * *")
  const systems = FLEET_PLAN.organizations * FLEET_PLAN.perOrg;

  log("fleet health: one cron run on an empty fleet (its fixed work), and its health step alone");
  const emptyCron = await counted(() => call("POST", `/__bench/cron?time=${now}`));
  const emptyStep = await counted(() => call("POST", `/__bench/health-evaluation?time=${now}`));

  const prefix = `bench-fleet-${Date.now().toString(36)}`;
  log(`fleet health: seeding ${systems.toLocaleString("en")} systems in ${FLEET_PLAN.organizations.toLocaleString("en")} organisations into D1`);
  const seeded = await call("POST", "/__bench/health-fleet", { body: JSON.stringify({ prefix, organizations: FLEET_PLAN.organizations, per_org: FLEET_PLAN.perOrg, now }) });
  if (seeded.systems !== systems) throw new Error(`seeded ${seeded.systems} systems, expected ${systems}`);

  // A pass: cron runs of the health step until one ends the pass; the first pass sees every system for the first time.
  const pass = async (time) => {
    const runs = [];
    for (let r = 0; r < FLEET_PLAN.maxRuns; r++) {
      const run = await counted(() => call("POST", `/__bench/health-evaluation?time=${time}`));
      runs.push(run);
      if (run.result.pass_ended) break;
    }
    const evaluated = runs.reduce((n, r) => n + r.result.evaluated, 0);
    if (!runs.at(-1).result.pass_ended || evaluated !== systems) throw new Error(`health pass: ${evaluated} systems evaluated in ${runs.length} runs, pass ended: ${runs.at(-1).result.pass_ended}`);
    const sum = (pick) => runs.reduce((n, r) => n + pick(r), 0);
    return {
      runs: runs.length,
      evaluated,
      calls: sum((r) => r.calls.binding_calls + r.calls.do_request),
      d1_statements: sum((r) => r.calls.d1_statements),
      d1_rows_read: sum((r) => r.calls.d1_rows_read),
      d1_rows_written: sum((r) => r.calls.d1_rows_written),
      transitions: sum((r) => r.result.transitions),
      alerts_queued: sum((r) => r.result.alerts),
    };
  };
  log("fleet health: the first pass (every system judged for the first time), then the next hour's");
  const first = await pass(now);
  const steady = await pass(now + hour);

  log(`fleet health: GET /api/admin/health?limit=${FLEET_PLAN.pageLimit} over ${FLEET_PLAN.organizations.toLocaleString("en")} organisations, and for a token scoped to ${FLEET_PLAN.scoped}`);
  const orgName = (i) => `${prefix}-${String(i).padStart(5, "0")}`;
  const tokenOf = async (name, organizations) => {
    const { token, record } = await generateOperatorToken({ name, role: "reader", organizations });
    const row = [record.public_id, record.name, record.role, record.organizations === "*" ? "*" : JSON.stringify(record.organizations), record.secret_sha256, record.created_at, null, null];
    await call("POST", "/__bench/operator-fleet", { body: JSON.stringify({ org: "-", systems: [], token: row }) });
    return { Authorization: `Bearer ${token}` };
  };
  const everyOrg = await tokenOf(`bench-health-all-${prefix}`, "*");
  const someOrgs = await tokenOf(`bench-health-scoped-${prefix}`, Array.from({ length: FLEET_PLAN.scoped }, (_, i) => orgName(i * 7)));
  const page = async (headers) => {
    // Each organisation's ledger builds itself from R2 on its first call (503 meanwhile): warm the page first.
    for (let attempt = 0; attempt < 200; attempt++) if ((await http.request("GET", `/api/admin/health?limit=${FLEET_PLAN.pageLimit}`, { headers, keep: true })).status !== 503) break;
    const { result, calls } = await counted(() => call("GET", `/api/admin/health?limit=${FLEET_PLAN.pageLimit}`, { headers }));
    return { organizations: result.data.organizations, cursor: result.data.cursor, calls };
  };
  const whole = await page(everyOrg);
  const scoped = await page(someOrgs);
  if (whole.organizations.length !== FLEET_PLAN.pageLimit || whole.cursor === null || whole.organizations[0].systems.stale !== 1)
    throw new Error(`the health view returned ${whole.organizations.length} organisations (cursor ${whole.cursor}), not a full page led by one with a stale system`);
  if (scoped.organizations.length !== FLEET_PLAN.scoped || scoped.cursor !== null) throw new Error(`the scoped health view returned ${scoped.organizations.length} organisations, not ${FLEET_PLAN.scoped}`);
  const ops = (c) => c.binding_calls + c.do_request;
  return {
    organizations: FLEET_PLAN.organizations,
    systems,
    cron_empty_fleet: { calls: ops(emptyCron.calls), detail: emptyCron.calls.detail },
    health_step_empty_fleet: { calls: ops(emptyStep.calls), detail: emptyStep.calls.detail },
    // The sweep's page and run sizes (src/operator/health-sweep.ts), and its design: one D1 read and one D1 batch a page.
    sweep_page: emptyStep.result.sweep.page,
    sweep_pages_per_run: emptyStep.result.sweep.pages_per_run,
    sweep_calls_per_page: 2,
    first_pass: first,
    steady_pass: steady,
    admin_health: {
      page_limit: FLEET_PLAN.pageLimit,
      operations: ops(whole.calls),
      d1_queries: whole.calls.d1_query,
      d1_rows_read: whole.calls.d1_rows_read,
      do_requests: whole.calls.do_request,
      scoped_organizations: FLEET_PLAN.scoped,
      scoped_operations: ops(scoped.calls),
      scoped_d1_rows_read: scoped.calls.d1_rows_read,
    },
  };
}
