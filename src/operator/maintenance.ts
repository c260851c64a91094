// The hourly cron's work: the audit trail's retention, and one page of the index sweep.

import { limitsOf } from "../config";
import { log } from "../platform/log";
import { pruneAuditEvents } from "./audit";
import { sweepIndexPage } from "./index-sweep";

/** Removes audit events past AUDIT_RETENTION_DAYS (judged at `now`: the cron's scheduled time), then sweeps one page of KV into the index. */
export async function hourlyMaintenance(env: Env, now = Date.now()): Promise<{ auditPruned: number; upserted: number; removed: number }> {
  const auditPruned = await pruneAuditEvents(env.OPERATOR_DB, limitsOf(env).auditRetentionDays, now);
  const { upserted, removed, passEnded } = await sweepIndexPage(env.SYSTEMS, env.OPERATOR_DB);
  if (auditPruned + upserted + removed > 0 || passEnded) log.info("maintenance", { auditPruned, upserted, removed, passEnded });
  return { auditPruned, upserted, removed };
}
