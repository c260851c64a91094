// The bench worker's routes for the fleet scenarios (fleet-health.mjs, list-waits.mjs): a fleet
// seeded straight into D1 in bulk, the cron and its health step run on the counted bindings, and
// an appliance request replayed with one of its storage calls held back. Seeding is uncounted.

import app from "../src/index";
import { SWEEP_PAGE, SWEEP_PAGES_PER_RUN } from "../src/operator/health-sweep";
import { evaluateHealth } from "../src/operator/maintenance";
import { readActivity } from "../src/operator/system-activity";
import { armProbe, countingEnv, disarmProbe, releaseProbe } from "./counting";

/** How long a held call is held: far below every deadline of the app (10 s), far above a local list (< 50 ms). */
const HOLD_MS = 1500;
const WAITS = "/__bench/waits/";

/** What the driver asks for: `organizations` × `per_org` systems, their health judged at `now` (ms). */
interface HealthFleet {
  prefix: string;
  organizations: number;
  per_org: number;
  now: number;
}

/** Answers a fleet route, or null when the path is not one of them. */
export async function fleetRoute(request: Request, env: Env, url: URL): Promise<Response | null> {
  if (request.method === "GET" && url.pathname.startsWith(WAITS)) return probeWaits(request, env, url);
  const route = `${request.method} ${url.pathname}`;
  const time = Number(url.searchParams.get("time"));
  switch (route) {
    case "POST /__bench/health-fleet":
      return Response.json(await seedHealthFleet(env.OPERATOR_DB, (await request.json()) as HealthFleet));
    case "POST /__bench/cron": {
      // The deployed scheduled handler, as the hourly trigger runs it, on the counted bindings.
      const background: Promise<unknown>[] = [];
      app.scheduled({ scheduledTime: time, cron: "17 * * * *", noRetry() {} } as ScheduledController, countingEnv(env), collecting(background));
      const [maintenance, erasure] = (await settleAll(background))[0] as [unknown, unknown];
      return Response.json({ maintenance, erasure });
    }
    case "POST /__bench/health-evaluation": {
      // The cron's health step (hourlyMaintenance's evaluateHealth), on the counted bindings.
      const { health, alerts } = await evaluateHealth(countingEnv(env), time);
      const sweep = { page: SWEEP_PAGE, pages_per_run: SWEEP_PAGES_PER_RUN };
      return Response.json({ evaluated: health.evaluated, pass_ended: health.passEnded, transitions: health.transitions.length, alerts, sweep });
    }
    case "GET /__bench/activity":
      return Response.json(await readActivity(env.OPERATOR_DB, url.searchParams.get("key") ?? ""));
    default:
      return null;
  }
}

/**
 * Replays `GET /<path>` (headers as sent) through the app on the counted bindings. With `?hold=i`,
 * the i-th storage call (0-based, in the order they start) runs at once but its answer is held
 * for HOLD_MS: if the response comes meanwhile, the response does not wait for that call. Then
 * the call is let go, and every `ctx.waitUntil` promise is awaited before answering.
 */
async function probeWaits(request: Request, env: Env, url: URL): Promise<Response> {
  const hold = url.searchParams.has("hold") ? Number(url.searchParams.get("hold")) : null;
  const inner = new Request(new URL(url.pathname.slice(WAITS.length - 1), url.origin), { headers: request.headers });
  const background: Promise<unknown>[] = [];
  armProbe(hold);
  try {
    const responding = Promise.resolve(app.fetch(inner, countingEnv(env), collecting(background)));
    const answered = await Promise.race([responding.then(() => true, () => true), new Promise<boolean>((r) => setTimeout(() => r(false), HOLD_MS))]);
    releaseProbe();
    const response = await responding;
    const body = await response.text();
    await settleAll(background);
    return Response.json({ status: response.status, body, answered_while_held: hold === null ? null : answered, calls: disarmProbe() });
  } finally {
    disarmProbe();
  }
}

/** An ExecutionContext whose `waitUntil` promises are kept in `background`. */
function collecting(background: Promise<unknown>[]): ExecutionContext {
  return { waitUntil: (p: Promise<unknown>) => void background.push(p), passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
}

/** Awaits every promise in `list`, including those added while waiting; returns their values (undefined for a rejection). */
async function settleAll(list: Promise<unknown>[]): Promise<unknown[]> {
  const values: unknown[] = [];
  while (values.length < list.length) for (const r of await Promise.allSettled(list.slice(values.length))) values.push(r.status === "fulfilled" ? r.value : undefined);
  return values;
}

const RFC3339 = "'%Y-%m-%dT%H:%M:%SZ'";
/** Each seeded system's kind: in every fifth organisation the last three systems are stale, never and refused; all others ok. */
const KINDS = `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1),
  k(i, o, kind) AS (SELECT i, i / ?2, CASE WHEN (i / ?2) % 5 <> 0 THEN 'ok' WHEN i % ?2 = ?2 - 3 THEN 'stale'
    WHEN i % ?2 = ?2 - 2 THEN 'never' WHEN i % ?2 = ?2 - 1 THEN 'refused' ELSE 'ok' END FROM n)`;
const KEY = "printf('NETH-HEALTH-%07d', i)";
const ORG = "printf('%s-%05d', ?4, o)";
const AT = (modifier: string) => `strftime(${RFC3339}, ?3, 'unixepoch', ${modifier})`;
const STALE_SINCE = AT("printf('-%d days', 10 + o % 20)");

/**
 * Seeding, uncounted: the index rows, profiles and activity of a fleet, three statements in all
 * (no KV records: the bench times the cron's health step, which reads D1 only).
 */
async function seedHealthFleet(db: D1Database, fleet: HealthFleet): Promise<{ systems: number }> {
  const binds = [fleet.organizations * fleet.per_org, fleet.per_org, Math.floor(fleet.now / 1000), fleet.prefix];
  await db.batch([
    db
      .prepare(
        `${KINDS} INSERT INTO systems (system_key, organization_id, system_id, registered_at, suspended_at, deleted_at, append_only, indexed_at)
         SELECT ${KEY}, ${ORG}, printf('bench-health-%d', i), ${AT("'-60 days'")}, NULL, NULL, 0, ${AT("'+0 days'")} FROM k`,
      )
      .bind(...binds),
    db
      .prepare(
        `${KINDS} INSERT INTO system_profile (system_key, name, notes, last_backup_at)
         SELECT ${KEY}, printf('site %d', i), NULL, CASE kind WHEN 'stale' THEN ${STALE_SINCE} WHEN 'refused' THEN ${AT("'-3 days'")}
           ELSE ${AT("printf('-%d hours', 24 + i % 23)")} END FROM k WHERE kind <> 'never'`,
      )
      .bind(...binds.slice(0, 3)), // no organisation column: ?4 unused
    db
      .prepare(
        `${KINDS} INSERT INTO system_activity (system_key, organization_id, last_seen_at, last_refused_at, last_refused_reason)
         SELECT ${KEY}, ${ORG}, CASE kind WHEN 'ok' THEN strftime('%Y-%m-%dT%H:00:00Z', ?3, 'unixepoch', '-2 hours') WHEN 'stale' THEN ${STALE_SINCE} END,
           CASE kind WHEN 'refused' THEN ${AT("'-1 days'")} END, CASE kind WHEN 'refused' THEN 'quota' END FROM k WHERE kind <> 'never'`,
      )
      .bind(...binds),
  ]);
  const row = await db.prepare("SELECT COUNT(*) AS n FROM systems WHERE organization_id LIKE ?").bind(`${fleet.prefix}-%`).first<{ n: number }>();
  return { systems: row?.n ?? 0 };
}
