// Organisation settings: admin only, validated, audited; a new alert target's secret answered
// once; stale_after_days changes what health says; retention overrides tighten the ledger's
// retention and are refused when looser than the deployment's limits.

import { describe, expect, it } from "vitest";
import { client, json, NO_RATE_LIMITS } from "./helpers";
import { admin, newFleetOrg, newOperator } from "./operator-helpers";

describe("organisation settings", () => {
  it("are read and changed by an admin only, validated, audited, with a target's secret shown once", async () => {
    const { org } = await newFleetOrg();
    const owner = await newOperator("admin", [org]);
    const manager = await newOperator("manager", [org]);
    const defaults = await json(await admin(owner, "GET", `/organizations/${org}/settings`));
    expect(defaults.data).toEqual({ organization_id: org, stale_after_days: 7, keep_last: null, daily: null, weekly: null, monthly: null, alert_targets: [] });
    for (const [method, body] of [["GET", undefined], ["PATCH", { stale_after_days: 3 }]] as const) {
      const refused = await admin(manager, method, `/organizations/${org}/settings`, body);
      expect(refused.status).toBe(403);
      await refused.body?.cancel();
    }
    for (const [body, message] of [
      [{ stale_after_days: 0 }, "stale_after_days must be an integer from 1 to 365"],
      [{ stale_after_days: 2.5 }, "stale_after_days must be an integer from 1 to 365"],
      [{ keep_last: 11 }, "keep_last must be an integer from 1 to 10"],
      [{ daily: 2 }, "daily must be an integer from 0 to 1"],
      [{ alert_targets: [{ url: "http://alerts.example.test/hook" }] }, "url must be https"],
      [{ alert_targets: [{ url: "https://user:pw@alerts.example.test/hook" }] }, "url must not carry credentials"],
      [{ alert_targets: [{ id: "at_missing" }] }, 'no alert target "at_missing"'],
      [{ alert_targets: "https://x.test" }, "alert_targets must be a list of {id} or {url}"],
      [{ colour: "red" }, 'unknown field "colour"'],
    ] as const) {
      const refused = await admin(owner, "PATCH", `/organizations/${org}/settings`, body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect((await json(refused)).message).toBe(message);
    }
    const added = await json(await admin(owner, "PATCH", `/organizations/${org}/settings`, { stale_after_days: 3, keep_last: 2, alert_targets: [{ url: "https://alerts.example.test/hook" }] }));
    expect(added.data).toMatchObject({ stale_after_days: 3, keep_last: 2 });
    const [target] = added.data.alert_targets;
    expect(target).toMatchObject({ url: "https://alerts.example.test/hook" });
    expect(target.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const shown = await json(await admin(owner, "GET", `/organizations/${org}/settings`));
    expect(shown.data.alert_targets).toEqual([{ id: target.id, url: target.url, created_at: target.created_at }]);
    const kept = await json(await admin(owner, "PATCH", `/organizations/${org}/settings`, { alert_targets: [{ id: target.id }, { url: "https://second.example.test/" }] }));
    expect(kept.data.alert_targets.map((t: any) => [t.id === target.id, "secret" in t])).toEqual([[true, false], [false, true]]);
    const removed = await json(await admin(owner, "PATCH", `/organizations/${org}/settings`, { alert_targets: [], keep_last: null }));
    expect(removed.data).toMatchObject({ alert_targets: [], keep_last: null });
    const audit = await json(await admin(owner, "GET", `/organizations/${org}/audit`));
    expect(audit.data.events.filter((e: any) => e.action === "settings.update" && e.target === org)).toHaveLength(3);
  });

  it("keep_last tightens retention at the next commit", async () => {
    const { org, system } = await newFleetOrg();
    const owner = await newOperator("admin", [org]);
    const changed = await admin(owner, "PATCH", `/organizations/${org}/settings`, { keep_last: 2, daily: 0, weekly: 0, monthly: 0 });
    expect(changed.status).toBe(200);
    await changed.body?.cancel();
    for (let i = 0; i < 3; i++) {
      const up = await client(system, NO_RATE_LIMITS).upload(`backup ${i} ${crypto.randomUUID()}`);
      expect(up.status).toBe(201);
      await up.body?.cancel();
    }
    const listed = await json(await client(system).list());
    expect(listed.data.backups).toHaveLength(2);
  });
});
