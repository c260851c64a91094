// Listing and finding systems with their health: an organisation's systems (filtered, sorted,
// most silent first by default) and the search across the token's scope. Storage calls per page:
// one D1 query and one ledger call per organisation on the page (docs/api/operator.md).

import type { Context } from "hono";
import { ApiError } from "../errors";
import { organizationUsage } from "../ledger/client";
import type { OrganizationUsage } from "../ledger/org-ledger";
import { queryFleetSystems, type FleetRow } from "../operator/fleet-query";
import type { Health } from "../operator/health";
import { backupAtStatement } from "../operator/system-profile";
import { log } from "../platform/log";
import { pageParams } from "./access";
import type { AdminEnv } from "./app-env";
import { healthParam, searchParam, sortParam } from "./fleet-params";
import { systemView, type SystemView } from "./views";

type Ctx = Context<AdminEnv>;

/** Systems a `bytes_used` sort may order in one answer: it reads the organisation whole. */
export const BYTES_SORT_MAX = 10_000;

/** One page of an organisation's systems, as the listing answers it. */
export async function organizationSystemsPage(c: Ctx, organizationId: string): Promise<{ systems: SystemView[]; cursor: string | null }> {
  const health = healthParam(c);
  const q = searchParam(c, false);
  const { sort, descending } = sortParam(c, true);
  const page = pageParams(c);
  const now = Date.now();
  if (sort === "bytes_used") return bytesSortedPage(c, organizationId, { health, q, descending, ...page }, now);
  const found = await queryFleetSystems(c.env.OPERATOR_DB, { scope: { organization: organizationId }, health, q, sort, descending, ...page }, now);
  if (!found) throw new ApiError(400, "invalid cursor");
  const usage = found.systems.length > 0 ? await organizationUsage(c.env.ORG_LEDGER, organizationId, found.systems.map((s) => s.system_key)) : null;
  return { systems: views(c, found.systems, usage, now), cursor: found.cursor };
}

/** One page of the systems across the token's scope that match `q`, in key order. */
export async function searchSystemsPage(c: Ctx): Promise<{ systems: SystemView[]; cursor: string | null }> {
  const q = searchParam(c, true);
  const health = healthParam(c);
  const operator = c.get("operator");
  const now = Date.now();
  const scope = operator.organizations === "*" ? ("*" as const) : { organizations: operator.organizations };
  const found = await queryFleetSystems(c.env.OPERATOR_DB, { scope, health, q, sort: "system_key", descending: false, ...pageParams(c) }, now);
  if (!found) throw new ApiError(400, "invalid cursor");
  const byOrg = new Map<string, string[]>();
  for (const s of found.systems) byOrg.set(s.organization_id, [...(byOrg.get(s.organization_id) ?? []), s.system_key]);
  const usages = await Promise.all([...byOrg].map(([org, keys]) => organizationUsage(c.env.ORG_LEDGER, org, keys)));
  const usage: OrganizationUsage = { backups: 0, bytes: 0, systems: Object.assign({}, ...usages.map((u) => u.systems)) };
  return { systems: views(c, found.systems, usage, now), cursor: found.cursor };
}

/**
 * `sort=bytes_used` (bytes live in the ledger, not in D1): the organisation's matching rows in one
 * D1 query and every system's usage in one ledger call, sorted here; refused above BYTES_SORT_MAX.
 */
async function bytesSortedPage(
  c: Ctx,
  organizationId: string,
  query: { health: Health | null; q: string | null; descending: boolean; limit: number; cursor: string | null },
  now: number,
) {
  const offset = query.cursor === null ? 0 : /^o[0-9]{1,6}$/.test(query.cursor) ? Number(query.cursor.slice(1)) : NaN;
  if (!Number.isInteger(offset)) throw new ApiError(400, "invalid cursor");
  const scope = { organization: organizationId };
  const all = await queryFleetSystems(c.env.OPERATOR_DB, { scope, health: query.health, q: query.q, sort: "system_key", descending: false, limit: BYTES_SORT_MAX, cursor: null }, now);
  if (!all || all.cursor !== null) throw new ApiError(400, `sort=bytes_used orders at most ${BYTES_SORT_MAX} systems: narrow it with health or q`);
  const usage = all.systems.length > 0 ? await organizationUsage(c.env.ORG_LEDGER, organizationId, null) : null;
  const bytes = (s: FleetRow) => usage?.systems[s.system_key]?.bytes ?? 0;
  const sign = query.descending ? -1 : 1;
  const sorted = [...all.systems].sort((a, b) => sign * (bytes(a) - bytes(b) || (a.system_key < b.system_key ? -1 : 1)));
  const rows = sorted.slice(offset, offset + query.limit);
  const next = offset + query.limit < sorted.length ? `o${offset + query.limit}` : null;
  return { systems: views(c, rows, usage, now), cursor: next };
}

/** The views of a page, and a repair (in the background) of any last_backup_at the ledger knows to be newer. */
function views(c: Ctx, rows: FleetRow[], usage: OrganizationUsage | null, now: number): SystemView[] {
  const shown = rows.map((s) => systemView(s.system_key, s, usage?.systems[s.system_key], s, now, s.stale_after_days));
  const stale = shown.filter((v, i) => v.last_backup_at !== null && v.last_backup_at !== rows[i].last_backup_at);
  if (stale.length > 0) {
    const db = c.env.OPERATOR_DB;
    const repair = db.batch(stale.map((v) => backupAtStatement(db, v.system_key, v.last_backup_at!)));
    c.executionCtx.waitUntil(repair.catch((err) => log.error("last_backup_at repair failed", { error: err })));
  }
  return shown;
}
