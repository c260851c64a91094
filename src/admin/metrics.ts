// GET /api/admin/metrics (reader): the organisations in scope as OpenMetrics text for Prometheus.
// Storage calls per scrape: one D1 query for the health counts, one for the upload counts, two
// ledger calls per organisation (usage, recoverable bytes) (at most METRICS_MAX_ORGANIZATIONS; narrow a larger scope with
// `?organization=`), and with `?detail=systems` one more D1 query (at most METRICS_MAX_SYSTEMS).

import type { Context } from "hono";
import { ORGANIZATION_ID_PATTERN } from "../auth/secret";
import { limitsOf } from "../config";
import { ApiError } from "../errors";
import { organizationUsage } from "../ledger/client";
import { recoverableBytes } from "../ledger/recovery-client";
import { d1 } from "../operator/d1";
import { HEALTH_STATES } from "../operator/health";
import { OPENMETRICS_CONTENT_TYPE, renderOpenMetrics, type MetricFamily, type Sample } from "../operator/metrics-text";
import { readUploadCounts } from "../operator/upload-counts";
import type { AdminEnv } from "./app-env";

type Ctx = Context<AdminEnv>;

export const METRICS_MAX_ORGANIZATIONS = 500;
export const METRICS_MAX_SYSTEMS = 10_000;
const USAGE_CONCURRENCY = 32;

interface HealthRow {
  organization_id: string;
  ok: number;
  stale: number;
  never: number;
  refused: number;
  suspended: number;
  retired: number;
}

/** GET /api/admin/metrics: `?organization=` (repeatable) narrows the scope; `?detail=systems` adds per-system series. */
export async function metrics(c: Ctx): Promise<Response> {
  const scope = metricsScope(c);
  const detail = c.req.query("detail");
  if (detail !== undefined && detail !== "systems") throw new ApiError(400, "detail must be systems");
  const db = c.env.OPERATOR_DB;
  const where = scope === "*" ? "" : "WHERE organization_id IN (SELECT value FROM json_each(?))";
  const binds = scope === "*" ? [] : [JSON.stringify(scope)];
  const { results: health } = await d1("metrics health", () =>
    db
      .prepare(`SELECT organization_id, ok, stale, never, refused, suspended, retired FROM organization_health ${where} ORDER BY organization_id LIMIT ?`)
      .bind(...binds, METRICS_MAX_ORGANIZATIONS + 1)
      .all<HealthRow>(),
  );
  if (health.length > METRICS_MAX_ORGANIZATIONS)
    throw new ApiError(400, `more than ${METRICS_MAX_ORGANIZATIONS} organizations in scope: narrow the scrape with ?organization=`);
  const uploads = await readUploadCounts(db, scope);
  const orgs = health.map((h) => h.organization_id);
  const usage = new Map<string, { backups: number; bytes: number; recoverable: number }>();
  for (let i = 0; i < orgs.length; i += USAGE_CONCURRENCY) {
    const batch = orgs.slice(i, i + USAGE_CONCURRENCY);
    const answers = await Promise.all(batch.map((o) => organizationUsage(c.env.ORG_LEDGER, o, [])));
    const recoverable = await Promise.all(batch.map((o) => recoverableBytes(c.env.ORG_LEDGER, o)));
    batch.forEach((o, j) => usage.set(o, { backups: answers[j].backups, bytes: answers[j].bytes, recoverable: recoverable[j] }));
  }
  const quota = limitsOf(c.env).maxSizePerOrg;
  const perOrg = (value: (o: string) => number): Sample[] => orgs.map((o) => ({ labels: { organization: o }, value: value(o) }));
  const families: MetricFamily[] = [
    {
      name: "vault_systems",
      type: "gauge",
      help: "Systems per organisation and health, as of the cron's last evaluation.",
      samples: health.flatMap((h) => HEALTH_STATES.map((state) => ({ labels: { organization: h.organization_id, health: state }, value: h[state] }))),
    },
    { name: "vault_backups", type: "gauge", help: "Committed backups per organisation.", samples: perOrg((o) => usage.get(o)!.backups) },
    { name: "vault_stored_bytes", type: "gauge", help: "Bytes of committed backups per organisation.", samples: perOrg((o) => usage.get(o)!.bytes) },
    { name: "vault_quota_bytes", type: "gauge", help: "The organisation quota in bytes (absent when disabled).", samples: quota === 0 ? [] : perOrg(() => quota) },
    { name: "vault_recoverable_bytes", type: "gauge", help: "Bytes still recoverable after deletion (the recovery window; not counted against the quota).", samples: perOrg((o) => usage.get(o)!.recoverable) },
    {
      name: "vault_uploads",
      type: "counter",
      help: "Uploads per organisation by result: stored, or the refusal (size, quota, rate).",
      samples: uploads.map((u) => ({ labels: { organization: u.organization_id, result: u.result }, value: u.count })),
    },
  ];
  if (detail === "systems") families.push(...(await systemFamilies(db, scope)));
  return new Response(renderOpenMetrics(families), { status: 200, headers: { "Content-Type": OPENMETRICS_CONTENT_TYPE, "Cache-Control": "no-store" } });
}

/** The token's scope, narrowed by `?organization=` (each must be in scope, else 404 as for any organisation). */
function metricsScope(c: Ctx): string[] | "*" {
  const asked = c.req.queries("organization") ?? [];
  const scope = c.get("operator").organizations;
  if (asked.length === 0) return scope;
  for (const org of asked) {
    if (!ORGANIZATION_ID_PATTERN.test(org)) throw new ApiError(400, "invalid organization id");
    if (scope !== "*" && !scope.includes(org)) throw new ApiError(404, "organization not found");
  }
  return [...new Set(asked)];
}

async function systemFamilies(db: D1Database, scope: string[] | "*"): Promise<MetricFamily[]> {
  const where = scope === "*" ? "" : "WHERE s.organization_id IN (SELECT value FROM json_each(?))";
  const binds = scope === "*" ? [] : [JSON.stringify(scope)];
  const { results } = await d1("metrics systems", () =>
    db
      .prepare(
        `SELECT s.system_key, s.organization_id, p.last_backup_at, a.last_seen_at FROM systems s
         LEFT JOIN system_profile p ON p.system_key = s.system_key LEFT JOIN system_activity a ON a.system_key = s.system_key
         ${where} ORDER BY s.organization_id, s.system_key LIMIT ?`,
      )
      .bind(...binds, METRICS_MAX_SYSTEMS + 1)
      .all<{ system_key: string; organization_id: string; last_backup_at: string | null; last_seen_at: string | null }>(),
  );
  if (results.length > METRICS_MAX_SYSTEMS) throw new ApiError(400, `more than ${METRICS_MAX_SYSTEMS} systems in scope: narrow the scrape with ?organization=`);
  const series = (field: "last_backup_at" | "last_seen_at"): Sample[] =>
    results.filter((r) => r[field] !== null).map((r) => ({ labels: { organization: r.organization_id, system_key: r.system_key }, value: Date.parse(r[field]!) / 1000 }));
  return [
    { name: "vault_system_last_backup_timestamp_seconds", type: "gauge", help: "When the system's newest backup was committed (Unix time).", samples: series("last_backup_at") },
    { name: "vault_system_last_seen_timestamp_seconds", type: "gauge", help: "The system's last authenticated call, to the hour (Unix time).", samples: series("last_seen_at") },
  ];
}
