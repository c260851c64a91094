// The audit trail in D1 (`audit_events`): appended by operator actions, the CLI, appliance
// deletes and retention prunes; read per organisation, newest first, filtered by action, target
// and time over the indexes of migration 0007; removed only by age.

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
  | "backup.restore"
  | "backup.erase"
  | "system.restore"
  | "system.erase"
  | "system.enrol"
  | "backup.refused"
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

/** What `GET …/audit` may filter on; every field optional, all of them must hold. */
export interface AuditFilter {
  /** An exact action (`system.move`), or every verb of one object (`system.`, ending in its dot). */
  action?: string;
  /** A system key or token name (its events and those of `KEY/…`, its backups), or an exact `KEY/ID`. */
  target?: string;
  /** Events at or after this time (milliseconds). */
  since?: number;
  /** Events at or before this time (milliseconds). */
  until?: number;
}

// The expressions of the expression indexes of migration 0007: a query must spell them exactly so.
const SYSTEM_OF_TARGET = "substr(target, 1, instr(target || '/', '/') - 1)";
const OBJECT_OF_ACTION = "substr(action, 1, instr(action, '.'))";
/** Later than every event: the first page's upper bound without `until`. */
const END_OF_TIME = "9999-12-31T23:59:59Z";

/**
 * The SQL of one page of an organisation's events, newest first (`at`, then `seq`), or null for a
 * cursor that is not ours. It names its index: the target's system when `target` is given, else the
 * action's, else the organisation's timeline; the time window and the cursor are one range of it.
 */
export function auditPageQuery(organizationId: string, page: { limit: number; cursor: string | null }, filter: AuditFilter = {}): { sql: string; binds: unknown[] } | null {
  // Events are kept to the second: `since` rounds up and `until` down to whole seconds.
  let upper: [string, number] = [filter.until === undefined ? END_OF_TIME : rfc3339(Math.floor(filter.until / 1000) * 1000), Number.MAX_SAFE_INTEGER];
  if (page.cursor !== null) {
    const after = parseAuditCursor(page.cursor);
    if (!after) return null;
    if (after[0] < upper[0] || (after[0] === upper[0] && after[1] < upper[1])) upper = after;
  }
  const lower = filter.since === undefined ? "" : rfc3339(Math.ceil(filter.since / 1000) * 1000);
  const where = ["organization_id = ?"];
  const binds: unknown[] = [organizationId];
  let index = "audit_events_by_organization_time";
  if (filter.target !== undefined) {
    index = "audit_events_by_system";
    const slash = filter.target.indexOf("/");
    where.push(`${SYSTEM_OF_TARGET} = ?`);
    binds.push(slash < 0 ? filter.target : filter.target.slice(0, slash));
    if (slash >= 0) {
      where.push("target = ?");
      binds.push(filter.target);
    }
  }
  if (filter.action !== undefined) {
    const object = filter.action.endsWith(".");
    if (filter.target === undefined) index = object ? "audit_events_by_object" : "audit_events_by_action";
    where.push(object ? `${OBJECT_OF_ACTION} = ?` : "action = ?");
    binds.push(filter.action);
  }
  where.push("(at, seq) < (?, ?)", "at >= ?");
  binds.push(upper[0], upper[1], lower, page.limit + 1);
  const sql = `SELECT seq, at, actor, action, target, outcome, client_ip FROM audit_events INDEXED BY ${index} WHERE ${where.join(" AND ")} ORDER BY at DESC, seq DESC LIMIT ?`;
  return { sql, binds };
}

/** One page of an organisation's events, newest first, filtered; `cursor` continues after the last one; null for a cursor not ours. */
export async function listAuditEvents(
  db: D1Database,
  organizationId: string,
  page: { limit: number; cursor: string | null },
  filter: AuditFilter = {},
): Promise<{ events: AuditView[]; cursor: string | null } | null> {
  const query = auditPageQuery(organizationId, page, filter);
  if (!query) return null;
  const { results } = await d1("audit list", () =>
    db
      .prepare(query.sql)
      .bind(...query.binds)
      .all<AuditView & { seq: number }>(),
  );
  const rows = results.slice(0, page.limit);
  const events = rows.map(({ seq: _seq, ...view }) => view);
  const last = rows[rows.length - 1];
  return { events, cursor: results.length > page.limit ? encodeCursor(`${last.at}|${last.seq}`) : null };
}

function parseAuditCursor(cursor: string): [string, number] | null {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)\|(\d{1,16})$/.exec(decodeCursor(cursor) ?? "");
  return m && Number.isSafeInteger(Number(m[2])) ? [m[1], Number(m[2])] : null;
}

/** Removes events older than the retention period (the trail's only deletion); returns how many. */
export async function pruneAuditEvents(db: D1Database, retentionDays: number, now = Date.now()): Promise<number> {
  const cutoff = rfc3339(now - retentionDays * 86_400_000);
  const result = await d1("audit prune", () => db.prepare("DELETE FROM audit_events WHERE at < ?").bind(cutoff).run());
  return result.meta.changes ?? 0;
}
