// A system's health (docs/api/operator.md, "Health of a system"): a pure function of what the
// index knows and the time, and the same rule as one SQL expression so that a listing filters,
// counts and sorts by it in D1. `health.test.ts` checks that both agree over generated inputs.

export const HEALTH_STATES = ["ok", "stale", "never", "refused", "suspended", "retired"] as const;
export type Health = (typeof HEALTH_STATES)[number];
/** The states that raise an alert when a system enters them. */
export const ALERTING: readonly Health[] = ["stale", "never", "refused"];

export const DEFAULT_STALE_AFTER_DAYS = 7;
const DAY_S = 86_400;

/** What health is judged from (RFC 3339 UTC times, or null). */
export interface HealthInputs {
  registered_at: string | null;
  suspended_at: string | null;
  deleted_at: string | null;
  last_backup_at: string | null;
  last_seen_at: string | null;
  last_refused_at: string | null;
}

function epoch(at: string | null): number {
  return at ? Math.floor(Date.parse(at) / 1000) : 0;
}

/** Epoch seconds of the system's last sign of life: the later of its newest backup, last call and registration. */
export function lastSign(s: HealthInputs): number {
  return Math.max(epoch(s.last_backup_at), epoch(s.last_seen_at), epoch(s.registered_at));
}

/**
 * The health at `now` (ms). Precedence: retired, suspended, refused (refused after the newest
 * backup), never (registered over a day ago, or unregistered, with no backup), stale (last sign
 * older than `staleAfterDays`), ok.
 */
export function systemHealth(s: HealthInputs, now: number, staleAfterDays = DEFAULT_STALE_AFTER_DAYS): Health {
  const nowS = Math.floor(now / 1000);
  if (s.deleted_at) return "retired";
  if (s.suspended_at) return "suspended";
  if (s.last_refused_at && (!s.last_backup_at || epoch(s.last_refused_at) > epoch(s.last_backup_at))) return "refused";
  if (!s.last_backup_at && (!s.registered_at || epoch(s.registered_at) <= nowS - DAY_S)) return "never";
  if (lastSign(s) < nowS - staleAfterDays * DAY_S) return "stale";
  return "ok";
}

/**
 * The FROM clause every health query reads: the index row `s`, its profile `p`, its activity `a`
 * and its organisation's settings `o` (all keyed lookups).
 */
export const HEALTH_FROM = `systems s
  LEFT JOIN system_profile p ON p.system_key = s.system_key
  LEFT JOIN system_activity a ON a.system_key = s.system_key
  LEFT JOIN organization_settings o ON o.organization_id = s.organization_id`;

const SIGN_SQL = `MAX(COALESCE(unixepoch(p.last_backup_at), 0), COALESCE(unixepoch(a.last_seen_at), 0), COALESCE(unixepoch(s.registered_at), 0))`;

/** SQL for `lastSign` over HEALTH_FROM. */
export const LAST_SIGN_SQL = SIGN_SQL;

/** SQL for `systemHealth` over HEALTH_FROM; binds one parameter, `?1`, the time in epoch seconds. */
export const HEALTH_SQL = `CASE
  WHEN s.deleted_at IS NOT NULL AND s.deleted_at <> '' THEN 'retired'
  WHEN s.suspended_at IS NOT NULL AND s.suspended_at <> '' THEN 'suspended'
  WHEN a.last_refused_at IS NOT NULL AND (p.last_backup_at IS NULL OR unixepoch(a.last_refused_at) > unixepoch(p.last_backup_at)) THEN 'refused'
  WHEN p.last_backup_at IS NULL AND (s.registered_at IS NULL OR s.registered_at = '' OR unixepoch(s.registered_at) <= ?1 - ${DAY_S}) THEN 'never'
  WHEN ${SIGN_SQL} < ?1 - COALESCE(o.stale_after_days, ${DEFAULT_STALE_AFTER_DAYS}) * ${DAY_S} THEN 'stale'
  ELSE 'ok' END`;

/** Columns the health queries select beside the index row. */
export const HEALTH_COLUMNS = `s.*, p.name, p.notes, p.last_backup_at, a.last_seen_at, a.last_refused_at, a.last_refused_reason,
  COALESCE(o.stale_after_days, ${DEFAULT_STALE_AFTER_DAYS}) AS stale_after_days, ${HEALTH_SQL} AS health, ${SIGN_SQL} AS last_sign`;
