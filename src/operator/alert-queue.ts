// Raising alerts: each transition becomes one queued delivery per target of its organisation
// (Cloudflare Queue `ALERTS`); the queue's consumer (alert-delivery.ts) sends and retries them.

import { d1 } from "./d1";
import { transitionPayload, type AlertDelivery, type AlertPayload } from "./alert-messages";
import type { HealthTransition } from "./health-sweep";
import type { AlertTarget } from "./org-settings";

/** Messages per `sendBatch` (the platform's limit). */
const SEND_BATCH = 100;
/** Organisations per settings read. */
const ORGS_PER_READ = 100;

/** Queues the deliveries of these transitions; returns how many were queued. D1 reads: one per 100 organisations. */
export async function queueTransitionAlerts(db: D1Database, queue: Queue<AlertDelivery>, transitions: HealthTransition[], now: number): Promise<number> {
  if (transitions.length === 0) return 0;
  const orgs = [...new Set(transitions.map((t) => t.organization_id))];
  const targets = new Map<string, AlertTarget[]>();
  for (let i = 0; i < orgs.length; i += ORGS_PER_READ) {
    const { results } = await d1("alert targets", () =>
      db
        .prepare("SELECT organization_id, alert_targets FROM organization_settings WHERE organization_id IN (SELECT value FROM json_each(?)) AND alert_targets <> '[]'")
        .bind(JSON.stringify(orgs.slice(i, i + ORGS_PER_READ)))
        .all<{ organization_id: string; alert_targets: string }>(),
    );
    for (const row of results) targets.set(row.organization_id, JSON.parse(row.alert_targets) as AlertTarget[]);
  }
  const deliveries = transitions.flatMap((t) => deliveriesOf(t.organization_id, targets.get(t.organization_id) ?? [], transitionPayload(t), now));
  await sendDeliveries(queue, deliveries);
  return deliveries.length;
}

/** One delivery of `payload` to each of `targets`. */
export function deliveriesOf(organizationId: string, targets: Pick<AlertTarget, "id">[], payload: AlertPayload, now: number): AlertDelivery[] {
  const body = JSON.stringify(payload);
  return targets.map((t) => ({ organization_id: organizationId, target_id: t.id, body, first_at: now }));
}

/** Sends deliveries to the queue, 100 a call. */
export async function sendDeliveries(queue: Queue<AlertDelivery>, deliveries: AlertDelivery[]): Promise<void> {
  for (let i = 0; i < deliveries.length; i += SEND_BATCH) await queue.sendBatch(deliveries.slice(i, i + SEND_BATCH).map((body) => ({ body, contentType: "json" as const })));
}
