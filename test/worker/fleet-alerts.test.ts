// Alerts: the cron, judged at its scheduled time, raises exactly one alert per transition into
// stale/never/refused and resolves it on ok, across runs; deliveries are signed with the
// target's own secret (verified here), retried with backoff on 5xx or network errors for 24
// hours, and every outcome is audited.

import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { deliverAlertBatch, retryDelaySeconds } from "../../src/operator/alert-delivery";
import { DELIVERY_WINDOW_MS, type AlertDelivery } from "../../src/operator/alert-messages";
import { bytesToHex } from "../../src/platform/codec";
import { rfc3339 } from "../../src/platform/time";
import { FaultInjector } from "./fault-bindings";
import { json, newOrg, newSystem } from "./helpers";
import { upsertSystemStatement } from "../../src/operator/system-index";
import { admin, newOperator } from "./operator-helpers";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const db = () => env.OPERATOR_DB;

/** Runs the worker's cron handler at `time` with the alert queue wrapped; returns the deliveries it queued. */
async function cronAt(time: number): Promise<AlertDelivery[]> {
  const injector = new FaultInjector();
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: time, cron: "17 * * * *" }), { ...env, ALERTS: injector.wrap(env.ALERTS, "ALERTS") } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return injector.callsTo("ALERTS").flatMap((c) => c.messages as AlertDelivery[]);
}

/** An organisation with one target (http on loopback: the test environment refuses to deliver it) and one system. */
async function alertingOrg(registeredAt: number) {
  const org = newOrg();
  // In KV too: the cron's index sweep removes index rows without a record.
  const { key } = await newSystem({ org, record: { registered_at: rfc3339(registeredAt) } });
  const target = { id: `at_${crypto.randomUUID().slice(0, 8)}`, url: "http://127.0.0.1:9/hook", secret: "whsec_test-secret", created_at: rfc3339(registeredAt) };
  await db().prepare("INSERT INTO organization_settings (organization_id, stale_after_days, alert_targets) VALUES (?, 7, ?)").bind(org, JSON.stringify([target])).run();
  const record = JSON.parse((await env.SYSTEMS.get(key))!);
  await upsertSystemStatement(db(), key, record).run();
  return { org, key, target };
}

const mine = (deliveries: AlertDelivery[], org: string) => deliveries.filter((d) => d.organization_id === org).map((d) => JSON.parse(d.body));

describe("alerts from the cron", () => {
  it("fire once per transition and resolve on ok, as the scheduled time moves across runs", async () => {
    const T0 = Date.UTC(2030, 0, 1, 0, 17);
    const { org, key, target } = await alertingOrg(T0);
    // Registered, no backup: ok for a day, then `never` (once, however many runs see it).
    expect(mine(await cronAt(T0 + HOUR), org)).toEqual([]);
    const never = mine(await cronAt(T0 + DAY + HOUR), org);
    expect(never).toEqual([
      { alert: `${key}@${rfc3339(T0 + DAY + HOUR)}`, status: "firing", organization_id: org, system_key: key, name: null, health: "never", since: rfc3339(T0 + DAY + HOUR), url: `/api/admin/systems/${key}` },
    ]);
    expect(mine(await cronAt(T0 + DAY + 2 * HOUR), org)).toEqual([]);
    // A backup: resolved, carrying the id of the alert it ends.
    await db().prepare("INSERT INTO system_profile (system_key, last_backup_at) VALUES (?, ?)").bind(key, rfc3339(T0 + DAY + 3 * HOUR)).run();
    const resolved = mine(await cronAt(T0 + DAY + 4 * HOUR), org);
    expect(resolved).toMatchObject([{ alert: never[0].alert, status: "resolved", health: "ok" }]);
    // Silent for 7 days after that backup: stale, once.
    const backupAt = T0 + DAY + 3 * HOUR;
    expect(mine(await cronAt(backupAt + 7 * DAY), org)).toEqual([]);
    const staleRun = (await cronAt(backupAt + 7 * DAY + HOUR)).filter((d) => d.organization_id === org);
    expect(staleRun.map((d) => d.target_id)).toEqual([target.id]);
    expect(mine(staleRun, org)).toMatchObject([{ status: "firing", health: "stale" }]);
    expect(mine(await cronAt(backupAt + 8 * DAY), org)).toEqual([]);
    // The organisation's row in the health view follows the last evaluation.
    const reader = await newOperator("reader", [org]);
    const view = await json(await admin(reader, "GET", "/health"));
    expect(view.data.organizations).toMatchObject([{ organization_id: org, systems: { ok: 0, stale: 1, never: 0, refused: 0 }, most_silent: { system_key: key, silent_since: rfc3339(Math.floor(backupAt / 1000) * 1000) } }]);
  });
});

/** A receiver standing in for the target: checks the signature as a receiver must, and answers from a script. */
function receiver(secret: string, answers: (number | "network")[]) {
  const received: { timestamp: string; body: string }[] = [];
  const send = async (request: Request): Promise<Response> => {
    const body = await request.text();
    const timestamp = request.headers.get("X-Vault-Timestamp")!;
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const expected = bytesToHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${timestamp}.${body}`))));
    expect(request.headers.get("X-Vault-Signature")).toBe(`sha256=${expected}`);
    expect(request.method).toBe("POST");
    received.push({ timestamp, body });
    const answer = answers.shift() ?? 200;
    if (answer === "network") throw new TypeError("connection refused");
    return new Response("", { status: answer });
  };
  return { send, received };
}

async function deliver(delivery: AlertDelivery, attempts: number, send: (r: Request) => Promise<Response>, now: number) {
  const batch = createMessageBatch<AlertDelivery>("backup-vault-alerts", [{ id: crypto.randomUUID(), timestamp: now, attempts, body: delivery }]);
  const ctx = createExecutionContext();
  await deliverAlertBatch(batch, { ...env, ALERT_ALLOW_HTTP: "1" } as Env, send, now);
  return getQueueResult(batch, ctx);
}

describe("alert delivery (the queue's consumer)", () => {
  it("signs with the target's own secret, retries 5xx and network errors with backoff, and audits every outcome", async () => {
    const { org, target } = await alertingOrg(Date.now());
    const T = Date.now();
    const delivery: AlertDelivery = { organization_id: org, target_id: target.id, body: JSON.stringify({ alert: "k@t", status: "firing" }), first_at: T };
    const { send, received } = receiver(target.secret, [503, "network", 200]);
    const first = await deliver(delivery, 1, send, T);
    // (The test runtime's queue result does not keep the delay: the audit trail below states it.)
    expect(first.retryMessages).toHaveLength(1);
    const second = await deliver(delivery, 2, send, T + 30_000);
    expect(second.retryMessages).toHaveLength(1);
    const third = await deliver(delivery, 3, send, T + 90_000);
    expect(third.retryMessages).toEqual([]);
    expect(third.explicitAcks).toHaveLength(1);
    expect(received.map((r) => r.body)).toEqual([delivery.body, delivery.body, delivery.body]);
    expect(received.map((r) => Number(r.timestamp))).toEqual([T, T + 30_000, T + 90_000].map((t) => Math.floor(t / 1000)));
    const owner = await newOperator("admin", [org]);
    const audit = await json(await admin(owner, "GET", `/organizations/${org}/audit`));
    expect(audit.data.events.map((e: any) => [e.action, e.outcome])).toEqual([
      ["alert.sent", "ok"],
      ["alert.failed", "failed: network error; retrying in 60 s"],
      ["alert.failed", "failed: answered 503; retrying in 30 s"],
    ]);
  });

  it("gives up after 24 hours, and never retries a 4xx", async () => {
    const { org, target } = await alertingOrg(Date.now());
    const T = Date.now();
    const delivery: AlertDelivery = { organization_id: org, target_id: target.id, body: JSON.stringify({ alert: "k@t2" }), first_at: T };
    const late = await deliver(delivery, 30, receiver(target.secret, [500]).send, T + DELIVERY_WINDOW_MS - 1000);
    expect(late.retryMessages).toEqual([]);
    expect(late.explicitAcks).toHaveLength(1);
    const refused = await deliver({ ...delivery, body: JSON.stringify({ alert: "k@t3" }) }, 1, receiver(target.secret, [410]).send, T);
    expect(refused.retryMessages).toEqual([]);
    const owner = await newOperator("admin", [org]);
    const audit = await json(await admin(owner, "GET", `/organizations/${org}/audit`));
    // The trail reads newest first by event time: the give-up happened 24 hours after the refusal.
    expect(audit.data.events.map((e: any) => e.outcome)).toEqual(["failed: answered 500; gave up after 24 hours (30 attempts)", "failed: answered 410"]);
    expect([1, 2, 3, 8, 50].map(retryDelaySeconds)).toEqual([30, 60, 120, 3600, 3600]);
  });

  it("refuses http targets unless ALERT_ALLOW_HTTP is set, and a removed target", async () => {
    const { org, target } = await alertingOrg(Date.now());
    const { send, received } = receiver(target.secret, []);
    const batch = createMessageBatch<AlertDelivery>("backup-vault-alerts", [
      { id: "a", timestamp: Date.now(), attempts: 1, body: { organization_id: org, target_id: target.id, body: '{"alert":"x"}', first_at: Date.now() } },
      { id: "b", timestamp: Date.now(), attempts: 1, body: { organization_id: org, target_id: "at_gone", body: '{"alert":"y"}', first_at: Date.now() } },
    ]);
    const ctx = createExecutionContext();
    await deliverAlertBatch(batch, env, send);
    expect((await getQueueResult(batch, ctx)).explicitAcks.sort()).toEqual(["a", "b"]);
    expect(received).toEqual([]);
    const owner = await newOperator("admin", [org]);
    const audit = await json(await admin(owner, "GET", `/organizations/${org}/audit`));
    expect(audit.data.events.map((e: any) => e.outcome).sort()).toEqual(["failed: the target was removed", "failed: url must be https"]);
  });
});

describe("test alert", () => {
  it("queues one signed test alert per target (admin only); 409 without targets", async () => {
    const { org, target } = await alertingOrg(Date.now());
    const owner = await newOperator("admin", [org]);
    const injector = new FaultInjector();
    const response = await admin(owner, "POST", `/organizations/${org}/settings/test-alert`, undefined, { ALERTS: injector.wrap(env.ALERTS, "ALERTS") });
    expect(response.status).toBe(202);
    expect((await json(response)).data).toMatchObject({ targets: 1 });
    const [queued] = injector.callsTo("ALERTS").flatMap((c) => c.messages as AlertDelivery[]);
    expect(queued).toMatchObject({ organization_id: org, target_id: target.id });
    expect(JSON.parse(queued.body)).toMatchObject({ status: "firing", health: "test", organization_id: org, system_key: null });
    const empty = newOrg();
    const none = await admin(await newOperator("admin", [empty]), "POST", `/organizations/${empty}/settings/test-alert`);
    expect(none.status).toBe(409);
    await none.body?.cancel();
  });
});
