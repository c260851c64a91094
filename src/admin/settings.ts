// GET / PATCH /api/admin/organizations/{org}/settings (admin): stale_after_days, alert targets
// and retention overrides, every change audited. A new target's secret is answered once.

import type { Context } from "hono";
import { limitsOf } from "../config";
import { ApiError } from "../errors";
import { envelope } from "../http/envelope";
import { setRetentionOverrides } from "../ledger/client";
import type { AlertDelivery } from "../operator/alert-messages";
import { deliveriesOf, sendDeliveries } from "../operator/alert-queue";
import { auditStatement } from "../operator/audit";
import { d1 } from "../operator/d1";
import { readSettings, RETENTION_FIELDS, writeSettingsStatement, type AlertTarget, type OrganizationSettings } from "../operator/org-settings";
import { base64Url } from "../platform/codec";
import { rfc3339 } from "../platform/time";
import { actor, jsonBody, onlyFields, requireRole, scopedOrganization } from "./access";
import type { AdminEnv } from "./app-env";
import { alertTargetUrlProblem } from "../operator/alert-targets";

type Ctx = Context<AdminEnv>;

export const MAX_ALERT_TARGETS = 5;

/** GET: the organisation's settings (targets without their secrets). */
export async function showSettings(c: Ctx): Promise<Response> {
  const organizationId = scopedOrganization(c);
  requireRole(c, "admin");
  return envelope(200, "settings found", settingsView(organizationId, await readSettings(c.env.OPERATOR_DB, organizationId)));
}

/** PATCH: any of the fields; `alert_targets` is the whole new list (`{id}` keeps a target, `{url}` adds one). */
export async function patchSettings(c: Ctx): Promise<Response> {
  const organizationId = scopedOrganization(c);
  requireRole(c, "admin");
  const body = await jsonBody(c);
  onlyFields(body, ["stale_after_days", "alert_targets", ...RETENTION_FIELDS]);
  if (Object.keys(body).length === 0) throw new ApiError(400, "nothing to change");
  const current = await readSettings(c.env.OPERATOR_DB, organizationId);
  const next: OrganizationSettings = { ...current };
  if (body.stale_after_days !== undefined) next.stale_after_days = integerIn(body.stale_after_days, "stale_after_days", 1, 365);
  const limits = limitsOf(c.env);
  const ceilings = { keep_last: limits.maxPerSystem, daily: limits.protectDaily, weekly: limits.protectWeekly, monthly: limits.protectMonthly };
  for (const field of RETENTION_FIELDS) {
    if (body[field] === undefined) continue;
    // Never looser than the deployment: at most its limit (and keep_last at least 1).
    next[field] = body[field] === null ? null : integerIn(body[field], field, field === "keep_last" ? 1 : 0, ceilings[field]);
  }
  const created: AlertTarget[] = [];
  if (body.alert_targets !== undefined) next.alert_targets = targetList(c, body.alert_targets, current.alert_targets, created);
  const retentionChanged = RETENTION_FIELDS.some((f) => next[f] !== current[f]);
  // The ledger applies retention at each commit: it learns the overrides first, so that a
  // failure leaves the stored settings as they were (and a retry writes both again).
  if (retentionChanged) await setRetentionOverrides(c.env.ORG_LEDGER, organizationId, next);
  const who = actor(c);
  await d1("settings write", () =>
    c.env.OPERATOR_DB.batch([
      writeSettingsStatement(c.env.OPERATOR_DB, organizationId, next),
      auditStatement(c.env.OPERATOR_DB, { organizationId, actor: who.name, action: "settings.update", target: organizationId, outcome: "ok", clientIp: who.clientIp }),
    ]),
  );
  const view = settingsView(organizationId, next);
  // A new target's secret: in this answer only.
  view.alert_targets = view.alert_targets.map((t) => {
    const fresh = created.find((n) => n.id === t.id);
    return fresh ? { ...t, secret: fresh.secret } : t;
  });
  return envelope(200, "settings updated", view);
}

/** POST …/settings/test-alert: queues a test alert to every target (delivered, signed and audited like any other). */
export async function sendTestAlert(c: Ctx): Promise<Response> {
  const organizationId = scopedOrganization(c);
  requireRole(c, "admin");
  const { alert_targets } = await readSettings(c.env.OPERATOR_DB, organizationId);
  if (alert_targets.length === 0) throw new ApiError(409, "the organization has no alert targets");
  const now = Date.now();
  const since = rfc3339(now);
  const payload = { alert: `test@${since}`, status: "firing" as const, organization_id: organizationId, system_key: null, name: null, health: "test", since, url: null };
  await sendDeliveries(c.env.ALERTS as Queue<AlertDelivery>, deliveriesOf(organizationId, alert_targets, payload, now));
  return envelope(202, "test alert queued", { alert: payload.alert, targets: alert_targets.length });
}

function settingsView(organizationId: string, s: OrganizationSettings) {
  return {
    organization_id: organizationId,
    stale_after_days: s.stale_after_days,
    keep_last: s.keep_last,
    daily: s.daily,
    weekly: s.weekly,
    monthly: s.monthly,
    alert_targets: s.alert_targets.map((t) => ({ id: t.id, url: t.url, created_at: t.created_at }) as { id: string; url: string; created_at: string; secret?: string }),
  };
}

function integerIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) throw new ApiError(400, `${field} must be an integer from ${min} to ${max}`);
  return value;
}

function targetList(c: Ctx, value: unknown, current: AlertTarget[], created: AlertTarget[]): AlertTarget[] {
  if (!Array.isArray(value)) throw new ApiError(400, "alert_targets must be a list of {id} or {url}");
  if (value.length > MAX_ALERT_TARGETS) throw new ApiError(400, `at most ${MAX_ALERT_TARGETS} alert targets`);
  const list: AlertTarget[] = [];
  for (const item of value) {
    if (typeof item !== "object" || item === null || Array.isArray(item)) throw new ApiError(400, "alert_targets must be a list of {id} or {url}");
    const entry = item as Record<string, unknown>;
    const keys = Object.keys(entry);
    if (keys.length === 1 && typeof entry.id === "string") {
      const kept = current.find((t) => t.id === entry.id);
      if (!kept) throw new ApiError(400, `no alert target ${JSON.stringify(entry.id.slice(0, 40))}`);
      if (!list.includes(kept)) list.push(kept);
    } else if (keys.length === 1 && typeof entry.url === "string") {
      const problem = alertTargetUrlProblem(entry.url, c.env.ALERT_ALLOW_HTTP === "1");
      if (problem) throw new ApiError(400, problem);
      const target = { id: `at_${base64Url(crypto.getRandomValues(new Uint8Array(9)))}`, url: entry.url, secret: `whsec_${base64Url(crypto.getRandomValues(new Uint8Array(32)))}`, created_at: rfc3339() };
      created.push(target);
      list.push(target);
    } else throw new ApiError(400, "each alert target is {\"id\": …} (keep) or {\"url\": …} (add)");
  }
  return list;
}
