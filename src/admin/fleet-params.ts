// The query parameters of the fleet listings: `health`, `sort` and `q`, each 400 when malformed.

import type { Context } from "hono";
import { ApiError } from "../errors";
import { SORT_KEYS, type SortKey } from "../operator/fleet-query";
import { HEALTH_STATES, type Health } from "../operator/health";
import type { AdminEnv } from "./app-env";

/** Sort keys a listing accepts beside the D1 ones: `bytes_used` is the ledger's. */
export type ListSort = SortKey | "bytes_used";

/** `?health=` (one state), or null. */
export function healthParam(c: Context<AdminEnv>): Health | null {
  const raw = c.req.query("health");
  if (raw === undefined) return null;
  if (!(HEALTH_STATES as readonly string[]).includes(raw)) throw new ApiError(400, `health must be one of ${HEALTH_STATES.join(", ")}`);
  return raw as Health;
}

/** `?sort=` (`-` in front: descending); by default the most silent first. */
export function sortParam(c: Context<AdminEnv>, allowBytes: boolean): { sort: ListSort; descending: boolean } {
  const raw = c.req.query("sort");
  if (raw === undefined) return { sort: "silence", descending: false };
  const descending = raw.startsWith("-");
  const key = descending ? raw.slice(1) : raw;
  const accepted: string[] = [...SORT_KEYS.filter((k) => k !== "silence"), ...(allowBytes ? ["bytes_used"] : [])];
  if (!accepted.includes(key)) throw new ApiError(400, `sort must be one of ${accepted.join(", ")}, optionally with a leading -`);
  return { sort: key as ListSort, descending };
}

/** `?q=`: 1 to 128 characters, or null. */
export function searchParam(c: Context<AdminEnv>, required: boolean): string | null {
  const raw = c.req.query("q");
  if (raw === undefined || raw === "") {
    if (required) throw new ApiError(400, "q is required: a system key, system id or name (or the start of one)");
    return null;
  }
  if ([...raw].length > 128 || /[\u0000-\u001f\u007f]/.test(raw)) throw new ApiError(400, "q must be 1 to 128 printable characters");
  return raw;
}
