// The operator plane's bench: listing an organisation of 1,000 systems with usage and last
// backup (GET /api/admin/organizations/{org}/systems?limit=1000), its storage calls counted, and
// its throughput against a bare route doing the same platform work (the token's D1 row, one
// D1 page of the index, one ledger call), in interleaved rounds.
import { generateOperatorToken } from "../src/auth/operator-token.ts";
import { generateSystemCredentials } from "../src/auth/secret.ts";
import { throughput } from "./load.mjs";
import { median, round } from "../scripts/harness/statistics.mjs";
import { billed } from "./billing.mjs";

export const ADMIN_PLAN = { systems: 1000, rounds: 6, roundMs: 1500, concurrency: 4, maxPerRound: 5000 };

/** Seeds the organisation, counts one listing's calls, and measures API vs baseline; returns the figures. */
export async function measureAdminListing(http, { log, within }) {
  const org = `bench-admin-${Date.now().toString(36)}`;
  const systems = [];
  for (let i = 0; i < ADMIN_PLAN.systems; i++) {
    const { systemKey, record } = await generateSystemCredentials(org);
    systems.push({ key: systemKey, record });
  }
  const { token, record } = await generateOperatorToken({ name: "bench-reader", role: "reader", organizations: [org] });
  const row = [record.public_id, record.name, record.role, JSON.stringify(record.organizations), record.secret_sha256, record.created_at, null, null];
  log(`operator plane: seeding ${ADMIN_PLAN.systems} systems with one backup each in ${org}`);
  check(await http.request("POST", "/__bench/operator-fleet", { body: JSON.stringify({ org, systems, token: row }), keep: true }), "seed operator fleet");

  const headers = { Authorization: `Bearer ${token}` };
  const api = () => http.request("GET", `/api/admin/organizations/${org}/systems?limit=1000`, { headers });
  const baseline = () => http.request("GET", `/__bench/admin-systems?org=${org}&public=${record.public_id}`);
  // The organisation's ledger rebuilds from R2 a page per call (503 meanwhile): warm it up first.
  let first;
  for (let attempt = 0; attempt < 200; attempt++) {
    first = await http.request("GET", `/api/admin/organizations/${org}/systems?limit=1000`, { headers, keep: true });
    if (first.status !== 503) break;
  }
  const listed = JSON.parse(check(first, "admin listing").text).data;
  if (listed.systems.length !== ADMIN_PLAN.systems || listed.cursor !== null || listed.systems.some((s) => s.backups !== 1))
    throw new Error(`admin listing returned ${listed.systems.length} systems (cursor ${listed.cursor}), not ${ADMIN_PLAN.systems} with one backup each`);

  check(await http.request("POST", "/__bench/counters/reset", { keep: true }), "reset counters");
  check(await api(), "admin listing");
  const calls = billed(JSON.parse(check(await http.request("GET", "/__bench/counters", { keep: true }), "counters").text));

  log(`operator plane: listing throughput, ${ADMIN_PLAN.rounds} rounds of ${ADMIN_PLAN.roundMs} ms each way`);
  const rounds = [];
  for (let r = 0; r < ADMIN_PLAN.rounds && within(); r++) {
    const pair = {};
    for (const side of r % 2 ? ["baseline", "api"] : ["api", "baseline"]) {
      const result = await throughput(side === "api" ? api : baseline, { concurrency: ADMIN_PLAN.concurrency, durationMs: ADMIN_PLAN.roundMs, maxRequests: ADMIN_PLAN.maxPerRound });
      pair[side] = result.rps;
    }
    rounds.push({ ...pair, ratio: pair.api / pair.baseline });
  }
  return {
    systems: ADMIN_PLAN.systems,
    operations: calls.binding_calls + calls.do_request,
    calls,
    ratio: round(median(rounds.map((r) => r.ratio)), 3),
    api_rps: round(median(rounds.map((r) => r.api)), 1),
    baseline_rps: round(median(rounds.map((r) => r.baseline)), 1),
    round_ratios: rounds.map((r) => round(r.ratio, 3)),
  };
}

function check(response, what) {
  if (response.status !== 200) throw new Error(`${what}: expected 200, got ${response.status} ${response.text ?? ""}`.trim());
  return response;
}
