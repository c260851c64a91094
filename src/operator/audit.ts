// The audit trail in D1 (`audit_events`): appended by operator actions, the CLI, appliance
// deletes and retention prunes; read per organisation, newest first; removed only by age.

import { rfc3339 } from "../platform/time";
import { d1, decodeCursor, encodeCursor } from "./d1";

/** The actions the trail records (docs/api/operator.md, "Audit trail"). */
export type AuditAction =
  | "system.create"
  | "system.rotate"
  | "system.suspend"
  | "system.resume"
  | "system.append_only"
  | "system.retire"
  | "system.purge"
  | "system.move"
  | "system.profile"
  | "settings.update"
  | "alert.sent"
  | "alert.failed"
  | "backup.link"
  | "backup.delete"
  | "backup.prune"
  | "token.create"
  | "token.revoke"
  /** A refused read (or any request without an action of its own): outcome `denied: …` or `failed: …`. */
  | "request.refused";

/** One event as it is recorded. `organizationId` is `*` for events about all-organisation tokens. */
export interface AuditEvent {
  organizationId: string;
  actor: string;
  action: AuditAction;
  target: string;
  /** `ok`, `denied: <status> <reason>` when refused, or `failed: <reason>` when the action could not complete. */
  outcome: string;
  clientIp: string | null;
  /** Milliseconds since the epoch; now when omitted. */
  at?: number;
}

/** An event as the API returns it. */
export interface AuditView {
  at: string;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  client_ip: string | null;
}

/** The INSERT for one event, to run alone or in a batch with the change it records (atomic). */
export function auditStatement(db: D1Database, event: AuditEvent): D1PreparedStatement {
  return db
    .prepare("INSERT INTO audit_events (organization_id, at, actor, action, target, outcome, client_ip) VALUES (?, ?, ?, ?, ?, ?, ?)")
    .bind(event.organizationId, rfc3339(event.at ?? Date.now()), event.actor, event.action, event.target, event.outcome, event.clientIp);
}

/** Appends events (one batch); throws UnavailableError when D1 fails. */
export async function recordAudit(db: D1Database, events: AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  await d1("audit insert", () => db.batch(events.map((e) => auditStatement(db, e))));
}

/**
 * Appends events without failing the caller: for hooks on paths whose action has already
 * happened (an appliance's delete, a retention prune). A failure is logged, never thrown.
 */
export async function recordAuditQuietly(db: D1Database | undefined, events: AuditEvent[]): Promise<void> {
  if (!db) return;
  try {
    await recordAudit(db, events);
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause ?? err;
    console.error(JSON.stringify({ level: "error", event: "audit record failed", actions: events.map((e) => e.action), error: String(cause) }));
  }
}

/** One page of an organisation's events, newest first; `cursor` continues after the last one. */
export async function listAuditEvents(
  db: D1Database,
  organizationId: string,
  page: { limit: number; cursor: string | null },
): Promise<{ events: AuditView[]; cursor: string | null } | null> {
  const decoded = page.cursor === null ? null : decodeCursor(page.cursor, /^[1-9]\d{0,15}$/);
  if (page.cursor !== null && decoded === null) return null;
  const before = decoded === null ? Number.MAX_SAFE_INTEGER : Number(decoded);
  if (!Number.isSafeInteger(before)) return null;
  const { results } = await d1("audit list", () =>
    db
      .prepare("SELECT seq, at, actor, action, target, outcome, client_ip FROM audit_events WHERE organization_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?")
      .bind(organizationId, before, page.limit + 1)
      .all<AuditView & { seq: number }>(),
  );
  const rows = results.slice(0, page.limit);
  const events = rows.map(({ seq: _seq, ...view }) => view);
  return { events, cursor: results.length > page.limit ? encodeCursor(rows[rows.length - 1].seq) : null };
}

/** Removes events older than the retention period (the trail's only deletion); returns how many. */
export async function pruneAuditEvents(db: D1Database, retentionDays: number, now = Date.now()): Promise<number> {
  const cutoff = rfc3339(now - retentionDays * 86_400_000);
  const result = await d1("audit prune", () => db.prepare("DELETE FROM audit_events WHERE at < ?").bind(cutoff).run());
  return result.meta.changes ?? 0;
}
