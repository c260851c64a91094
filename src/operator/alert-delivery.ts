// The alert queue's consumer: signs and POSTs each delivery to its target; a 2xx is `alert.sent`,
// a network error or a 5xx is retried with backoff until 24 hours after the alert was raised,
// anything else (or the end of the window, or a target removed) is `alert.failed`. Every
// attempt's outcome is audited.

import { log } from "../platform/log";
import { DELIVERY_WINDOW_MS, signedHeaders, type AlertDelivery } from "./alert-messages";
import { alertTargetUrlProblem } from "./alert-targets";
import { recordAuditQuietly, type AuditEvent } from "./audit";
import { readSettings, type AlertTarget } from "./org-settings";

/** How long one delivery attempt may take. */
const ATTEMPT_TIMEOUT_MS = 10_000;

/** What to do with a message after an attempt. */
export type DeliveryOutcome = { ack: true } | { ack: false; delaySeconds: number };

/** Seconds before retry `attempts` (1, 2, …): 30 s doubling, at most an hour. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(3600, 30 * 2 ** Math.max(0, attempts - 1));
}

/** The sender: `fetch`, or in tests a receiver standing in for the network. */
export type Send = (request: Request) => Promise<Response>;

/** Delivers a batch of queued alerts at `now` (ms); acks or retries each message. */
export async function deliverAlertBatch(batch: MessageBatch<AlertDelivery>, env: Env, send: Send = (r) => fetch(r), now = Date.now()): Promise<void> {
  const targets = new Map<string, AlertTarget[]>();
  const events: AuditEvent[] = [];
  for (const message of batch.messages) {
    const delivery = message.body;
    let list = targets.get(delivery.organization_id);
    if (!list) {
      try {
        list = (await readSettings(env.OPERATOR_DB, delivery.organization_id)).alert_targets;
      } catch (err) {
        log.error("alert targets unavailable", { error: err });
        message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
        continue;
      }
      targets.set(delivery.organization_id, list);
    }
    const { outcome, audit } = await attempt(delivery, list.find((t) => t.id === delivery.target_id) ?? null, message.attempts, env.ALERT_ALLOW_HTTP === "1", send, now);
    events.push(audit);
    if (outcome.ack) message.ack();
    else message.retry({ delaySeconds: outcome.delaySeconds });
  }
  await recordAuditQuietly(env.OPERATOR_DB, events);
}

/** One attempt to deliver to one target: what to do with the message, and its audit event. */
async function attempt(delivery: AlertDelivery, target: AlertTarget | null, attempts: number, allowHttp: boolean, send: Send, now: number) {
  const alert = (JSON.parse(delivery.body) as { alert: string }).alert;
  const event = (action: "alert.sent" | "alert.failed", outcome: string): AuditEvent => ({
    organizationId: delivery.organization_id,
    actor: "alerts",
    action,
    target: `${delivery.target_id} ${alert}`.slice(0, 300),
    outcome,
    clientIp: null,
    at: now,
  });
  if (!target) return { outcome: { ack: true } as const, audit: event("alert.failed", "failed: the target was removed") };
  const problem = alertTargetUrlProblem(target.url, allowHttp);
  if (problem) return { outcome: { ack: true } as const, audit: event("alert.failed", `failed: ${problem}`) };
  let reason: string;
  try {
    const headers = await signedHeaders(target.secret, delivery.body, now);
    const request = new Request(target.url, { method: "POST", headers, body: delivery.body, redirect: "manual", signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS) });
    const response = await send(request);
    await response.body?.cancel();
    if (response.status >= 200 && response.status < 300) return { outcome: { ack: true } as const, audit: event("alert.sent", "ok") };
    if (response.status < 500) return { outcome: { ack: true } as const, audit: event("alert.failed", `failed: answered ${response.status}`) };
    reason = `answered ${response.status}`;
  } catch (err) {
    reason = err instanceof Error && err.name === "TimeoutError" ? "timed out" : "network error";
  }
  const delaySeconds = retryDelaySeconds(attempts);
  if (now + delaySeconds * 1000 - delivery.first_at > DELIVERY_WINDOW_MS) {
    return { outcome: { ack: true } as const, audit: event("alert.failed", `failed: ${reason}; gave up after 24 hours (${attempts} attempts)`) };
  }
  return { outcome: { ack: false, delaySeconds } as const, audit: event("alert.failed", `failed: ${reason}; retrying in ${delaySeconds} s`) };
}
