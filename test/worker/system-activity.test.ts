// The activity seam (`system_activity`): last seen kept to the hour and never moved back,
// the last refusal overwritten by the next, one row per system.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readActivity, recordRefusal, recordSeen, seenHour } from "../../src/operator/system-activity";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 11, 5, 10, 42, 17);

describe("system activity", () => {
  it("keeps last_seen_at to the hour and never moves it back as the clock moves", async () => {
    const subject = { systemKey: `act-${crypto.randomUUID()}`, organizationId: "org-act" };
    expect((await readActivity(env.OPERATOR_DB, subject.systemKey)).last_seen_at).toBeNull();
    await recordSeen(env.OPERATOR_DB, subject, T0);
    expect((await readActivity(env.OPERATOR_DB, subject.systemKey)).last_seen_at).toBe("2026-12-05T10:00:00Z");
    await recordSeen(env.OPERATOR_DB, subject, T0 + 2 * HOUR);
    expect((await readActivity(env.OPERATOR_DB, subject.systemKey)).last_seen_at).toBe(seenHour(T0 + 2 * HOUR));
    await recordSeen(env.OPERATOR_DB, subject, T0 - 5 * HOUR); // a late write from an earlier hour
    expect((await readActivity(env.OPERATOR_DB, subject.systemKey)).last_seen_at).toBe("2026-12-05T12:00:00Z");
  });

  it("records the last refusal with its reason, next to last_seen_at, in one row", async () => {
    const subject = { systemKey: `act-${crypto.randomUUID()}`, organizationId: "org-act" };
    await recordSeen(env.OPERATOR_DB, subject, T0);
    await recordRefusal(env.OPERATOR_DB, subject, "quota", T0 + 1000);
    await recordRefusal(env.OPERATOR_DB, subject, "rate", T0 + 2000);
    expect(await readActivity(env.OPERATOR_DB, subject.systemKey)).toEqual({
      last_seen_at: "2026-12-05T10:00:00Z",
      last_refused_at: "2026-12-05T10:42:19Z",
      last_refused_reason: "rate",
    });
    const rows = await env.OPERATOR_DB.prepare("SELECT COUNT(*) AS n FROM system_activity WHERE system_key = ?").bind(subject.systemKey).first<{ n: number }>();
    expect(rows?.n).toBe(1);
  });
});
