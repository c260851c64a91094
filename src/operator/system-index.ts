// The operator index of systems in D1 (`systems`): the public fields of each KV credential
// record, so that an organisation's systems are one indexed range read instead of a KV scan.
// KV stays the truth: the index is written through on every change the worker makes, repaired
// on every read of a single system, and swept from a KV listing by the hourly cron.

import { ORGANIZATION_ID_PATTERN, SYSTEM_KEY_PATTERN, type SystemRecord } from "../auth/secret";
import { rfc3339 } from "../platform/time";
import { d1, decodeCursor, encodeCursor } from "./d1";

/** A system as the index holds it (never the secret hash). */
export interface IndexedSystem {
  system_key: string;
  organization_id: string;
  system_id: string;
  registered_at: string | null;
  suspended_at: string | null;
  deleted_at: string | null;
  append_only: boolean;
}

type Row = Omit<IndexedSystem, "append_only"> & { append_only: number };

/** The index row of a record, as a statement (to batch with an audit event). */
export function upsertSystemStatement(db: D1Database, systemKey: string, record: SystemRecord, now = Date.now()): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO systems (system_key, organization_id, system_id, registered_at, suspended_at, deleted_at, append_only, indexed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (system_key) DO UPDATE SET organization_id = excluded.organization_id, system_id = excluded.system_id,
         registered_at = excluded.registered_at, suspended_at = excluded.suspended_at, deleted_at = excluded.deleted_at,
         append_only = excluded.append_only, indexed_at = excluded.indexed_at`,
    )
    .bind(
      systemKey,
      record.organization_id,
      record.system_id,
      record.registered_at ?? null,
      record.suspended_at ?? null,
      record.deleted_at ?? null,
      record.append_only === true ? 1 : 0,
      rfc3339(now),
    );
}

/** Removes a system's row (after its record was purged from KV). */
export function removeSystemStatement(db: D1Database, systemKey: string): D1PreparedStatement {
  return db.prepare("DELETE FROM systems WHERE system_key = ?").bind(systemKey);
}

/** The indexed row of one system, or null. */
export async function readIndexedSystem(db: D1Database, systemKey: string): Promise<IndexedSystem | null> {
  const row = await d1("index read", () => db.prepare("SELECT * FROM systems WHERE system_key = ?").bind(systemKey).first<Row>());
  return row ? fromRow(row) : null;
}

/** True when the index row says what the record says (so read-repair writes nothing). */
export function indexMatches(row: IndexedSystem | null, record: SystemRecord): boolean {
  return (
    row !== null &&
    row.organization_id === record.organization_id &&
    row.system_id === record.system_id &&
    row.registered_at === (record.registered_at ?? null) &&
    row.suspended_at === (record.suspended_at ?? null) &&
    row.deleted_at === (record.deleted_at ?? null) &&
    row.append_only === (record.append_only === true)
  );
}

/** One page of an organisation's systems in key order: one range read of the (organization_id, system_key) index. */
export async function listOrganizationSystems(
  db: D1Database,
  organizationId: string,
  page: { limit: number; cursor: string | null },
): Promise<{ systems: IndexedSystem[]; cursor: string | null } | null> {
  const after = page.cursor === null ? "" : decodeCursor(page.cursor, SYSTEM_KEY_PATTERN);
  if (after === null) return null;
  const { results } = await d1("index list", () =>
    db
      .prepare("SELECT * FROM systems WHERE organization_id = ? AND system_key > ? ORDER BY system_key LIMIT ?")
      .bind(organizationId, after, page.limit + 1)
      .all<Row>(),
  );
  const rows = results.slice(0, page.limit).map(fromRow);
  return { systems: rows, cursor: results.length > page.limit ? encodeCursor(rows[rows.length - 1].system_key) : null };
}

/**
 * One page of organisations with their system counts, in id order. With a scope list, exactly
 * the organisations of the list (those without systems count 0); with `*`, those in the index.
 */
export async function listIndexedOrganizations(
  db: D1Database,
  scope: string[] | "*",
  page: { limit: number; cursor: string | null },
): Promise<{ organizations: { organization_id: string; systems: number }[]; cursor: string | null } | null> {
  const after = page.cursor === null ? "" : decodeCursor(page.cursor, ORGANIZATION_ID_PATTERN);
  if (after === null) return null;
  let rows: { organization_id: string; systems: number }[];
  if (scope === "*") {
    ({ results: rows } = await d1("index organizations", () =>
      db
        .prepare("SELECT organization_id, COUNT(*) AS systems FROM systems WHERE organization_id > ? GROUP BY organization_id ORDER BY organization_id LIMIT ?")
        .bind(after, page.limit + 1)
        .all<{ organization_id: string; systems: number }>(),
    ));
  } else {
    const wanted = [...scope].sort().filter((o) => o > after).slice(0, page.limit + 1);
    const { results } = await d1("index organizations", () =>
      db
        .prepare("SELECT organization_id, COUNT(*) AS systems FROM systems WHERE organization_id IN (SELECT value FROM json_each(?)) GROUP BY organization_id")
        .bind(JSON.stringify(wanted))
        .all<{ organization_id: string; systems: number }>(),
    );
    const counts = new Map(results.map((r) => [r.organization_id, r.systems]));
    rows = wanted.map((organization_id) => ({ organization_id, systems: counts.get(organization_id) ?? 0 }));
  }
  const organizations = rows.slice(0, page.limit);
  return { organizations, cursor: rows.length > page.limit ? encodeCursor(organizations[organizations.length - 1].organization_id) : null };
}

/** Every index row with a key in (after, upTo], or (after, ∞) when upTo is null: what the sweep compares with KV. */
export async function readIndexRange(db: D1Database, after: string, upTo: string | null): Promise<IndexedSystem[]> {
  const statement =
    upTo === null
      ? db.prepare("SELECT * FROM systems WHERE system_key > ?").bind(after)
      : db.prepare("SELECT * FROM systems WHERE system_key > ? AND system_key <= ?").bind(after, upTo);
  const { results } = await d1("index range", () => statement.all<Row>());
  return results.map(fromRow);
}

function fromRow(row: Row): IndexedSystem {
  return {
    system_key: row.system_key,
    organization_id: row.organization_id,
    system_id: row.system_id,
    registered_at: row.registered_at,
    suspended_at: row.suspended_at,
    deleted_at: row.deleted_at,
    append_only: row.append_only === 1,
  };
}
