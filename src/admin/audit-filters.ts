// The query of `GET /api/admin/organizations/{org}/audit`: `action`, `target`, `since` and `until`
// (docs/api/operator.md, "Audit trail"), each checked before any storage call.

import type { Context } from "hono";
import { ApiError } from "../errors";
import type { AuditFilter } from "../operator/audit";
import { parseRfc3339 } from "../platform/time";
import type { AdminEnv } from "./app-env";

/** An action (`system.move`), or an object and its dot (`system.`) for every verb of it. */
const ACTION_FILTER = /^[a-z_]{1,32}\.(?:[a-z_]{1,32})?$/;
/** Longest target worth looking for: a system key and a backup id fit with room. */
const MAX_TARGET_LENGTH = 256;

/** The audit list's filters: 400 when one is malformed, or when `since` is after `until`. */
export function auditFilterParams(c: Context<AdminEnv>): AuditFilter {
  const filter: AuditFilter = {};
  const action = c.req.query("action");
  if (action !== undefined) {
    if (!ACTION_FILTER.test(action)) throw new ApiError(400, "action must be an action such as system.move, or an object and its dot such as system.");
    filter.action = action;
  }
  const target = c.req.query("target");
  if (target !== undefined) {
    // Printable only: a target is a system key, `KEY/ID` or a token name, never a control character.
    if (target.length === 0 || target.length > MAX_TARGET_LENGTH || /[\u0000-\u001f\u007f]/.test(target))
      throw new ApiError(400, `target must be 1 to ${MAX_TARGET_LENGTH} printable characters: a system key, KEY/ID or a token name`);
    filter.target = target;
  }
  for (const bound of ["since", "until"] as const) {
    const raw = c.req.query(bound);
    if (raw === undefined) continue;
    const at = parseRfc3339(raw);
    if (at === null) throw new ApiError(400, `${bound} must be an RFC 3339 date-time such as 2026-12-05T07:00:00Z (a + in an offset sent as %2B)`);
    filter[bound] = at;
  }
  if (filter.since !== undefined && filter.until !== undefined && filter.since > filter.until) throw new ApiError(400, "since must not be after until");
  return filter;
}
