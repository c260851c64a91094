// Finding systems: one organisation's systems, or every system in a token's scope, filtered by
// health and a search, ordered by silence or a column, in pages. Each page is ONE D1 query: the
// index range of the scope joined with the profile, activity and settings rows by key.

import { base64Url } from "../platform/codec";
import { d1 } from "./d1";
import { HEALTH_COLUMNS, HEALTH_FROM, type Health } from "./health";
import type { IndexedSystem } from "./system-index";

/** The orders a listing accepts (`-` in front: descending); `silence` is the default, most silent first. */
export const SORT_KEYS = ["silence", "last_backup_at", "last_seen_at", "name", "system_key"] as const;
export type SortKey = (typeof SORT_KEYS)[number];

const SORT_SQL: Record<SortKey, string> = {
  silence: "last_sign",
  last_backup_at: "COALESCE(last_backup_at, '')",
  last_seen_at: "COALESCE(last_seen_at, '')",
  name: "(COALESCE(name, '') COLLATE NOCASE)",
  system_key: "system_key",
};

/** A system as a health query returns it. */
export interface FleetRow extends IndexedSystem {
  name: string | null;
  notes: string | null;
  last_backup_at: string | null;
  last_seen_at: string | null;
  last_refused_at: string | null;
  last_refused_reason: string | null;
  health: Health;
  stale_after_days: number;
  /** Epoch seconds of the last sign of life (backup, call or registration). */
  last_sign: number;
}

export interface FleetQuery {
  /** One organisation, the organisations of a scoped token, or every organisation. */
  scope: { organization: string } | { organizations: string[] } | "*";
  health: Health | null;
  /** Key, system id or name (prefix of each, case-insensitive for ASCII). */
  q: string | null;
  sort: SortKey;
  descending: boolean;
  limit: number;
  cursor: string | null;
}

/** One page of systems, or null when the cursor is not one of ours. `now` is in ms. */
export async function queryFleetSystems(db: D1Database, query: FleetQuery, now: number): Promise<{ systems: FleetRow[]; cursor: string | null } | null> {
  const position = query.cursor === null ? null : parseCursor(query.cursor);
  if (position === undefined) return null;
  const where: string[] = [];
  const binds: unknown[] = [Math.floor(now / 1000)];
  const bind = (value: unknown) => (binds.push(value), `?${binds.length}`);
  if (query.scope !== "*") {
    if ("organization" in query.scope) where.push(`s.organization_id = ${bind(query.scope.organization)}`);
    else where.push(`s.organization_id IN (SELECT value FROM json_each(${bind(JSON.stringify(query.scope.organizations))}))`);
  }
  if (query.q !== null) {
    const pattern = bind(`${query.q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`);
    where.push(`(s.system_key LIKE ${pattern} ESCAPE '\\' OR s.system_id LIKE ${pattern} ESCAPE '\\' OR p.name LIKE ${pattern} ESCAPE '\\')`);
  }
  const inner = `SELECT ${HEALTH_COLUMNS} FROM ${HEALTH_FROM}${where.length ? ` WHERE ${where.join(" AND ")}` : ""}`;
  const sortSql = SORT_SQL[query.sort];
  const outer: string[] = [];
  if (query.health !== null) outer.push(`health = ${bind(query.health)}`);
  if (position !== null) {
    const cmp = query.descending ? "<" : ">";
    const value = bind(position.value);
    outer.push(`(${sortSql} ${cmp} ${value} OR (${sortSql} = ${value} AND system_key ${cmp} ${bind(position.key)}))`);
  }
  const direction = query.descending ? "DESC" : "ASC";
  const sql = `SELECT * FROM (${inner})${outer.length ? ` WHERE ${outer.join(" AND ")}` : ""}
    ORDER BY ${sortSql} ${direction}, system_key ${direction} LIMIT ${bind(query.limit + 1)}`;
  const { results } = await d1("fleet list", () =>
    db
      .prepare(sql)
      .bind(...binds)
      .all<Omit<FleetRow, "append_only"> & { append_only: number }>(),
  );
  const systems = results.slice(0, query.limit).map((r) => ({ ...r, append_only: r.append_only === 1 }));
  const last = systems[systems.length - 1];
  const cursor = results.length > query.limit ? base64Url(new TextEncoder().encode(JSON.stringify([sortValue(last, query.sort), last.system_key]))) : null;
  return { systems, cursor };
}

/** The health row of one system (null when not in the index). */
export async function readFleetRow(db: D1Database, systemKey: string, now: number): Promise<FleetRow | null> {
  const row = await d1("fleet read", () =>
    db
      .prepare(`SELECT ${HEALTH_COLUMNS} FROM ${HEALTH_FROM} WHERE s.system_key = ?2`)
      .bind(Math.floor(now / 1000), systemKey)
      .first<Omit<FleetRow, "append_only"> & { append_only: number }>(),
  );
  return row ? { ...row, append_only: row.append_only === 1 } : null;
}

function sortValue(row: FleetRow, sort: SortKey): string | number {
  if (sort === "silence") return row.last_sign;
  if (sort === "system_key") return row.system_key;
  return row[sort] ?? "";
}

/** The position in a cursor; undefined when it is not one of ours. */
function parseCursor(cursor: string): { value: string | number; key: string } | undefined {
  if (!/^[A-Za-z0-9_-]{1,1000}$/.test(cursor)) return undefined;
  try {
    const bytes = Uint8Array.from(atob(cursor.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
    const parsed: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
    if (Array.isArray(parsed) && parsed.length === 2 && (typeof parsed[0] === "string" || typeof parsed[0] === "number") && typeof parsed[1] === "string") {
      return { value: parsed[0], key: parsed[1] };
    }
  } catch {
    // not ours
  }
  return undefined;
}
