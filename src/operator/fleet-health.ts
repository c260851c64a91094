// The fleet's first screen: one row per organisation from the cron's last health evaluation
// (`organization_health`), worst first, in pages. One D1 query per page, through an index that
// holds the order, whatever the number of organisations.

import { d1 } from "./d1";

/** Sorts organisations without a system in trouble after every one with. */
const NO_SILENCE = 9007199254740991;
const ORDER_SQL = `COALESCE(h.silent_since, ${NO_SILENCE})`;

export interface OrganizationHealthRow {
  organization_id: string;
  ok: number;
  stale: number;
  never: number;
  refused: number;
  suspended: number;
  retired: number;
  bad: number;
  silent_since: number | null;
  most_silent_key: string | null;
  most_silent_name: string | null;
  evaluated_at: string;
}

/** One page of organisations in scope, worst first; null when the cursor is not one of ours. */
export async function listOrganizationHealth(
  db: D1Database,
  scope: string[] | "*",
  page: { limit: number; cursor: string | null },
): Promise<{ organizations: OrganizationHealthRow[]; cursor: string | null } | null> {
  let position: { bad: number; silence: number; org: string } | null = null;
  if (page.cursor !== null) {
    const m = /^(\d{1,9})\.(\d{1,16})\.([A-Za-z0-9][A-Za-z0-9._-]{0,127})$/.exec(page.cursor);
    if (!m) return null;
    position = { bad: Number(m[1]), silence: Number(m[2]), org: m[3] };
  }
  const where: string[] = [];
  const binds: unknown[] = [];
  if (scope !== "*") (where.push("h.organization_id IN (SELECT value FROM json_each(?))"), binds.push(JSON.stringify(scope)));
  if (position) {
    where.push(`(h.bad < ? OR (h.bad = ? AND (${ORDER_SQL} > ? OR (${ORDER_SQL} = ? AND h.organization_id > ?))))`);
    binds.push(position.bad, position.bad, position.silence, position.silence, position.org);
  }
  const sql = `SELECT h.*, p.name AS most_silent_name FROM organization_health h
    LEFT JOIN system_profile p ON p.system_key = h.most_silent_key
    ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY h.bad DESC, ${ORDER_SQL}, h.organization_id LIMIT ?`;
  binds.push(page.limit + 1);
  const { results } = await d1("fleet health", () =>
    db
      .prepare(sql)
      .bind(...binds)
      .all<OrganizationHealthRow>(),
  );
  const organizations = results.slice(0, page.limit);
  const last = organizations[organizations.length - 1];
  const cursor = results.length > page.limit ? `${last.bad}.${last.silent_since ?? NO_SILENCE}.${last.organization_id}` : null;
  return { organizations, cursor };
}
