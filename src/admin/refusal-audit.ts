// Every refusal of an authenticated operator is audited (docs/api/operator.md, "Changes to one
// system happen in one order"): 403, 404, 409 and 413 as `denied`, 503 as `failed`, with the
// status and the reason the caller was given. The event goes to the trail of the organisation the
// request resolved to inside the caller's scope; a refusal outside it (or of something that does
// not exist) goes to the fleet-wide trail `*`, which only all-organisation tokens read, so that no
// organisation learns of another's operators.

import type { MiddlewareHandler } from "hono";
import { ApiError } from "../errors";
import { clientAddress } from "../http/client-address";
import { recordAuditQuietly, type AuditAction } from "../operator/audit";
import type { AdminEnv } from "./app-env";

const DENIED = new Set([403, 404, 409, 413]);

/** Middleware (after authentication): records the refusal the request ended in, if any. */
export const auditRefusals: MiddlewareHandler<AdminEnv> = async (c, next) => {
  await next();
  const err = c.error;
  if (!(err instanceof ApiError) || !(DENIED.has(err.status) || err.status === 503)) return;
  const path = new URL(c.req.url).pathname;
  const action = attemptedAction(c.req.method, path, c.req.query("purge") === "true");
  if (err.audited) return; // a purge or move that failed recorded its own failure, with the step that failed
  const outcome = `${DENIED.has(err.status) ? "denied" : "failed"}: ${err.status} ${err.publicMessage}`;
  await recordAuditQuietly(c.env.OPERATOR_DB, [
    {
      organizationId: c.get("auditOrganization") ?? "*",
      actor: c.get("operator").name,
      action,
      target: refusedTarget(c.req.method, path),
      outcome,
      clientIp: clientAddress(c.req.raw),
    },
  ]);
};

/** The action a request attempted, from its method and path (`request.refused` for reads). */
export function attemptedAction(method: string, path: string, purge: boolean): AuditAction {
  const system = /^\/api\/admin\/systems\/[^/]+(\/[a-z_]+)?(\/[^/]+)?(\/link)?$/.exec(path.replace(/\/+$/, ""));
  if (system) {
    const [, sub, id, link] = system;
    if (link && method === "POST") return "backup.link";
    if (sub === "/backups" && id && method === "DELETE") return "backup.delete";
    if (!sub && method === "PATCH") return "system.append_only";
    if (!sub && method === "DELETE") return purge ? "system.purge" : "system.retire";
    const verb = { "/suspend": "system.suspend", "/resume": "system.resume", "/rotate": "system.rotate", "/move": "system.move" } as const;
    if (method === "POST" && sub && sub in verb) return verb[sub as keyof typeof verb];
  }
  if (method === "POST" && /^\/api\/admin\/organizations\/[^/]+\/systems\/?$/.test(path)) return "system.create";
  if (method === "POST" && /^\/api\/admin\/tokens\/?$/.test(path)) return "token.create";
  if (method === "DELETE" && /^\/api\/admin\/tokens\/[^/]+\/?$/.test(path)) return "token.revoke";
  return "request.refused";
}

/** What a refused request aimed at: the system key (`{key}/{id}` for a backup), else the method and path. */
function refusedTarget(method: string, path: string): string {
  const match = /^\/api\/admin\/systems\/([^/]+)(?:\/backups\/([^/]+))?/.exec(path);
  if (!match) return `${method} ${path}`;
  return match[2] ? `${decodeURIComponent(match[1])}/${decodeURIComponent(match[2])}` : decodeURIComponent(match[1]);
}
