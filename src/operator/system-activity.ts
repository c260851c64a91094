// What each system's appliance last did (`system_activity` in D1): its last authenticated call,
// kept to the hour, and the last upload the vault refused with the reason. Written off the
// appliance's critical path (callers pass these to `ctx.waitUntil`); read by the operator views.

import { rfc3339 } from "../platform/time";
import { d1 } from "./d1";

/** A system's activity as the operator views show it. */
export interface SystemActivity {
  last_seen_at: string | null;
  last_refused_at: string | null;
  last_refused_reason: string | null;
}

/** Who the activity is about. */
export interface ActivitySubject {
  systemKey: string;
  organizationId: string;
}

const HOUR_MS = 3_600_000;

/** The start of the UTC hour that holds `at`, as RFC 3339. */
export function seenHour(at: number): string {
  return rfc3339(Math.floor(at / HOUR_MS) * HOUR_MS);
}

/** Records an authenticated appliance call; writes nothing when this hour is already recorded. */
export async function recordSeen(db: D1Database, subject: ActivitySubject, at = Date.now()): Promise<void> {
  const hour = seenHour(at);
  await d1("activity seen", () =>
    db
      .prepare(
        `INSERT INTO system_activity (system_key, organization_id, last_seen_at) VALUES (?, ?, ?)
         ON CONFLICT (system_key) DO UPDATE SET organization_id = excluded.organization_id, last_seen_at = excluded.last_seen_at
         WHERE last_seen_at IS NULL OR last_seen_at < excluded.last_seen_at`,
      )
      .bind(subject.systemKey, subject.organizationId, hour)
      .run(),
  );
}

/** Records an upload the vault refused, with the reason (`quota`, `size`, `rate`, …). */
export async function recordRefusal(db: D1Database, subject: ActivitySubject, reason: string, at = Date.now()): Promise<void> {
  await d1("activity refusal", () => refusalStatement(db, subject, reason, at).run());
}

/** The statement behind `recordRefusal`, to batch with another write. */
export function refusalStatement(db: D1Database, subject: ActivitySubject, reason: string, at = Date.now()): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO system_activity (system_key, organization_id, last_refused_at, last_refused_reason) VALUES (?, ?, ?, ?)
       ON CONFLICT (system_key) DO UPDATE SET organization_id = excluded.organization_id,
         last_refused_at = excluded.last_refused_at, last_refused_reason = excluded.last_refused_reason`,
    )
    .bind(subject.systemKey, subject.organizationId, rfc3339(at), reason.slice(0, 200));
}

/** The activity of one system (all null when nothing was recorded). */
export async function readActivity(db: D1Database, systemKey: string): Promise<SystemActivity> {
  const row = await d1("activity read", () =>
    db.prepare("SELECT last_seen_at, last_refused_at, last_refused_reason FROM system_activity WHERE system_key = ?").bind(systemKey).first<SystemActivity>(),
  );
  return row ?? { last_seen_at: null, last_refused_at: null, last_refused_reason: null };
}
