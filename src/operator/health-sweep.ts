// The cron's health evaluation: every system, page by page in (organisation, key) order, judged
// at the trigger's scheduled time. A change of health is stored in `system_health` with the time
// it was first seen; entering stale/never/refused, or going back to ok from one of them, is a
// transition the caller turns into alerts. Each organisation's counts go to `organization_health`,
// the rows GET /api/admin/health pages through. Per page: one D1 read and one D1 batch.

import { rfc3339 } from "../platform/time";
import { d1 } from "./d1";
import { ALERTING, HEALTH_COLUMNS, HEALTH_FROM, HEALTH_STATES, type Health } from "./health";

/** Systems read per D1 query. */
export const SWEEP_PAGE = 1000;
/** Pages per cron run: up to 120,000 systems in one run (2 D1 calls per 1,000 systems, one read and one batch). */
export const SWEEP_PAGES_PER_RUN = 120;

/** A change that raises or resolves an alert. */
export interface HealthTransition {
  organization_id: string;
  system_key: string;
  name: string | null;
  status: "firing" | "resolved";
  health: Health;
  /** RFC 3339: when the system entered this health (the evaluation time). */
  since: string;
  /** RFC 3339: when the alert began (for `resolved`, the firing transition's time). */
  alert_since: string;
}

type Tally = Record<Health, number> & { silentSince: number | null; mostSilent: string | null };

interface SweepRow {
  system_key: string;
  organization_id: string;
  name: string | null;
  health: Health;
  last_sign: number;
  prev_health: Health | null;
  prev_since: string | null;
}

/** Whether moving from `previous` (null: never evaluated) to `next` fires or resolves an alert. */
export function alertTransition(previous: Health | null, next: Health): "firing" | "resolved" | null {
  if (previous === next) return null;
  if (ALERTING.includes(next)) return "firing";
  if (next === "ok" && previous !== null && ALERTING.includes(previous)) return "resolved";
  return null;
}

/**
 * Evaluates up to `pages` pages from where the last run stopped, at `now` (ms, the trigger's
 * scheduled time). Returns the transitions, the systems evaluated and whether a pass ended.
 */
export async function sweepHealth(
  db: D1Database,
  now: number,
  pages = SWEEP_PAGES_PER_RUN,
): Promise<{ transitions: HealthTransition[]; evaluated: number; passEnded: boolean; calls: number }> {
  const at = rfc3339(now);
  let calls = 1;
  const state = await d1("health sweep state", () =>
    db.prepare("SELECT after_org, after_key, partial, pass_started_at FROM health_sweep WHERE id = 1").first<{ after_org: string; after_key: string; partial: string | null; pass_started_at: string | null }>(),
  );
  let afterOrg = state?.after_org ?? "";
  let afterKey = state?.after_key ?? "";
  let tally: Tally | null = state?.partial ? (JSON.parse(state.partial) as Tally) : null;
  let passStarted = state?.pass_started_at ?? at;
  const transitions: HealthTransition[] = [];
  let evaluated = 0;
  let passEnded = false;
  for (let page = 0; page < pages && !passEnded; page++) {
    const { results } = await d1("health sweep read", () =>
      db
        .prepare(
          `SELECT ${HEALTH_COLUMNS}, h.health AS prev_health, h.since AS prev_since FROM ${HEALTH_FROM}
           LEFT JOIN system_health h ON h.system_key = s.system_key
           WHERE (s.organization_id, s.system_key) > (?2, ?3) ORDER BY s.organization_id, s.system_key LIMIT ?4`,
        )
        .bind(Math.floor(now / 1000), afterOrg, afterKey, SWEEP_PAGE)
        .all<SweepRow>(),
    );
    calls++;
    const statements: D1PreparedStatement[] = [];
    for (const row of results) {
      if (tally && row.organization_id !== afterOrg) statements.push(summaryStatement(db, afterOrg, tally, at));
      if (row.organization_id !== afterOrg) tally = emptyTally();
      afterOrg = row.organization_id;
      afterKey = row.system_key;
      count(tally!, row);
      if (row.prev_health !== row.health) {
        statements.push(
          db
            .prepare(
              `INSERT INTO system_health (system_key, organization_id, health, since, evaluated_at) VALUES (?1, ?2, ?3, ?4, ?4)
               ON CONFLICT (system_key) DO UPDATE SET organization_id = ?2, health = ?3, since = ?4, evaluated_at = ?4`,
            )
            .bind(row.system_key, row.organization_id, row.health, at),
        );
        const status = alertTransition(row.prev_health, row.health);
        if (status) {
          const alertSince = status === "resolved" ? (row.prev_since ?? at) : at;
          transitions.push({ organization_id: row.organization_id, system_key: row.system_key, name: row.name, status, health: row.health, since: at, alert_since: alertSince });
        }
      }
    }
    evaluated += results.length;
    passEnded = results.length < SWEEP_PAGE;
    if (passEnded) {
      if (tally) statements.push(summaryStatement(db, afterOrg, tally, at));
      // Organisations left without systems since the pass began keep no summary.
      statements.push(db.prepare("DELETE FROM organization_health WHERE evaluated_at < ?").bind(passStarted));
      statements.push(stateStatement(db, "", "", null, null));
      (afterOrg = ""), (afterKey = ""), (tally = null), (passStarted = at);
    } else {
      statements.push(stateStatement(db, afterOrg, afterKey, JSON.stringify(tally), passStarted));
    }
    await d1("health sweep write", () => db.batch(statements));
    calls++;
  }
  return { transitions, evaluated, passEnded, calls };
}

function emptyTally(): Tally {
  return { ok: 0, stale: 0, never: 0, refused: 0, suspended: 0, retired: 0, silentSince: null, mostSilent: null };
}

function count(tally: Tally, row: SweepRow): void {
  tally[row.health]++;
  if (ALERTING.includes(row.health) && (tally.silentSince === null || row.last_sign < tally.silentSince)) {
    tally.silentSince = row.last_sign;
    tally.mostSilent = row.system_key;
  }
}

function summaryStatement(db: D1Database, organizationId: string, t: Tally, at: string): D1PreparedStatement {
  const counts = HEALTH_STATES.map((h) => t[h]);
  return db
    .prepare(
      `INSERT INTO organization_health (organization_id, ok, stale, never, refused, suspended, retired, bad, silent_since, most_silent_key, evaluated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (organization_id) DO UPDATE SET ok = excluded.ok, stale = excluded.stale, never = excluded.never, refused = excluded.refused,
         suspended = excluded.suspended, retired = excluded.retired, bad = excluded.bad, silent_since = excluded.silent_since,
         most_silent_key = excluded.most_silent_key, evaluated_at = excluded.evaluated_at`,
    )
    .bind(organizationId, ...counts, t.stale + t.never + t.refused, t.silentSince, t.mostSilent, at);
}

function stateStatement(db: D1Database, afterOrg: string, afterKey: string, partial: string | null, passStarted: string | null): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO health_sweep (id, after_org, after_key, partial, pass_started_at) VALUES (1, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET after_org = excluded.after_org, after_key = excluded.after_key, partial = excluded.partial, pass_started_at = excluded.pass_started_at`,
    )
    .bind(afterOrg, afterKey, partial, passStarted);
}
