// Operator endpoints across the fleet: the health view (worst organisations first) and the
// search for systems across the token's scope.

import type { Context } from "hono";
import { limitsOf } from "../config";
import { ApiError } from "../errors";
import { envelope } from "../http/envelope";
import { organizationUsage } from "../ledger/client";
import { recoverableBytes } from "../ledger/recovery-client";
import { listOrganizationHealth } from "../operator/fleet-health";
import { rfc3339 } from "../platform/time";
import { pageParams } from "./access";
import type { AdminEnv } from "./app-env";
import { searchSystemsPage } from "./fleet-systems";

type Ctx = Context<AdminEnv>;

/** Ledger calls made at once when a health page is filled in. */
const USAGE_CONCURRENCY = 32;

/**
 * GET /api/admin/health: one row per organisation in scope, worst first, as of the cron's last
 * evaluation. Storage calls per page: one D1 query, and two ledger calls per organisation on it (usage, recoverable bytes).
 */
export async function fleetHealth(c: Ctx): Promise<Response> {
  const page = await listOrganizationHealth(c.env.OPERATOR_DB, c.get("operator").organizations, pageParams(c));
  if (!page) throw new ApiError(400, "invalid cursor");
  const quota = limitsOf(c.env).maxSizePerOrg;
  const organizations: Record<string, unknown>[] = [];
  for (let i = 0; i < page.organizations.length; i += USAGE_CONCURRENCY) {
    const batch = page.organizations.slice(i, i + USAGE_CONCURRENCY);
    const usages = await Promise.all(batch.map((o) => organizationUsage(c.env.ORG_LEDGER, o.organization_id, [])));
    const recoverable = await Promise.all(batch.map((o) => recoverableBytes(c.env.ORG_LEDGER, o.organization_id)));
    batch.forEach((o, j) =>
      organizations.push({
        organization_id: o.organization_id,
        systems: { ok: o.ok, stale: o.stale, never: o.never, refused: o.refused, suspended: o.suspended, retired: o.retired },
        backups: usages[j].backups,
        bytes_used: usages[j].bytes,
        quota_bytes: quota === 0 ? null : quota,
        recoverable_bytes: recoverable[j],
        most_silent:
          o.most_silent_key === null ? null : { system_key: o.most_silent_key, name: o.most_silent_name, silent_since: rfc3339((o.silent_since ?? 0) * 1000) },
        evaluated_at: o.evaluated_at,
      }),
    );
  }
  return envelope(200, "fleet health listed", { organizations, cursor: page.cursor });
}

/** GET /api/admin/systems?q=: systems across the token's scope whose key, system id or name starts with q. */
export async function searchSystems(c: Ctx): Promise<Response> {
  return envelope(200, "systems found", await searchSystemsPage(c));
}
