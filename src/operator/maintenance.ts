// The cron's work: the audit trail's retention, one page of the index sweep, and the health
// evaluation with its alerts. Time is the trigger's scheduled time, never the wall clock.

import { limitsOf } from "../config";
import { log } from "../platform/log";
import type { AlertDelivery } from "./alert-messages";
import { queueTransitionAlerts } from "./alert-queue";
import { pruneAuditEvents } from "./audit";
import { sweepHealth } from "./health-sweep";
import { sweepIndexPage } from "./index-sweep";

/**
 * Removes audit events past AUDIT_RETENTION_DAYS, sweeps one page of KV into the index, then
 * evaluates health (up to 120,000 systems a run) and queues one alert per transition, all judged
 * at `now` (the cron's scheduled time).
 */
export async function hourlyMaintenance(env: Env, now = Date.now()) {
  const auditPruned = await pruneAuditEvents(env.OPERATOR_DB, limitsOf(env).auditRetentionDays, now);
  const { upserted, removed, passEnded } = await sweepIndexPage(env.SYSTEMS, env.OPERATOR_DB);
  const { health, alerts } = await evaluateHealth(env, now);
  if (auditPruned + upserted + removed + alerts > 0 || passEnded || health.passEnded)
    log.info("maintenance", { auditPruned, upserted, removed, passEnded, evaluated: health.evaluated, transitions: health.transitions.length, alerts });
  return { auditPruned, upserted, removed, evaluated: health.evaluated, transitions: health.transitions.length, alerts };
}

/**
 * The cron's health step alone: evaluates the next pages of systems at `now` and queues one alert
 * per transition. `npm run bench` counts the storage calls of exactly this step over 100,000 systems.
 */
export async function evaluateHealth(env: Env, now: number) {
  const health = await sweepHealth(env.OPERATOR_DB, now);
  const alerts = await queueTransitionAlerts(env.OPERATOR_DB, env.ALERTS as Queue<AlertDelivery>, health.transitions, now);
  return { health, alerts };
}
