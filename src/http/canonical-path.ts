import { getPath } from "hono/utils/url";

/**
 * The request's path as the reverse proxies in front of the existing backend match it: runs of
 * slashes count as one and a trailing slash is ignored (`/api/systems//backups/` is the list
 * endpoint). Used as Hono's `getPath`, so every route sees it and nothing is redirected: a
 * redirect would make curl resend the body and, with `--location-trusted`, the credentials.
 * @example canonicalPath(new Request("https://x/api/systems//backups/")) // "/api/systems/backups"
 */
export function canonicalPath(request: Request): string {
  const path = getPath(request).replace(/\/{2,}/g, "/");
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}
