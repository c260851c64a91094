// What an operator may reach: the organisation or system named in the path must lie in the
// token's scope (else 404, exactly as if it did not exist), and then the role must allow the
// action (else 403). Scope is checked first, so a scoped token learns nothing about the rest.

import type { Context } from "hono";
import { inScope, roleAllows, type OperatorRole } from "../auth/operator-token";
import { readSystemRecord } from "../auth/credentials";
import { ORGANIZATION_ID_PATTERN, SYSTEM_KEY_PATTERN, type SystemRecord } from "../auth/secret";
import { isBackupId } from "../backups/ids";
import { limitsOf } from "../config";
import { ApiError } from "../errors";
import { clientAddress } from "../http/client-address";
import type { AdminEnv } from "./app-env";
import { withSystemChange, type HeldSystem } from "./system-change";

type Ctx = Context<AdminEnv>;

/** The organisation in the path, when in scope: 400 when malformed, 404 when outside the scope. */
export function scopedOrganization(c: Ctx): string {
  const organizationId = c.req.param("org") ?? "";
  if (!ORGANIZATION_ID_PATTERN.test(organizationId)) throw new ApiError(400, "invalid organization id");
  if (!inScope(c.get("operator"), organizationId)) throw new ApiError(404, "organization not found");
  c.set("auditOrganization", organizationId);
  return organizationId;
}

/** The system in the path with its KV record (the truth), when it exists and its organisation is in scope; else 404. */
export async function scopedSystem(c: Ctx): Promise<{ systemKey: string; record: SystemRecord }> {
  const systemKey = c.req.param("key") ?? "";
  if (!SYSTEM_KEY_PATTERN.test(systemKey)) throw new ApiError(400, "invalid system key");
  const record = await readSystemRecord(c.env.SYSTEMS, systemKey);
  if (!record || record.purged_at || !inScope(c.get("operator"), record.organization_id)) throw new ApiError(404, "system not found");
  c.set("auditOrganization", record.organization_id);
  return { systemKey, record };
}

/** 404 unless the record read under a hold is a live system in the caller's scope (it may have moved or gone meanwhile). */
export function guardScope(c: Ctx): (record: SystemRecord) => void {
  return (record) => {
    if (record.purged_at || !inScope(c.get("operator"), record.organization_id)) throw new ApiError(404, "system not found");
  };
}

/**
 * Runs a change holding the system (system-change.ts), with its record read afresh under the
 * hold and checked against the caller's scope again.
 */
export async function holdSystem<T>(c: Ctx, systemKey: string, change: (held: HeldSystem & { record: SystemRecord }) => Promise<T>): Promise<T> {
  return withSystemChange(stores(c), systemKey, async (held) => {
    if (!held.record) throw new ApiError(404, "system not found");
    guardScope(c)(held.record);
    return change({ ...held, record: held.record });
  });
}

/** The backup id in the path: 400 unless it is in the allowlist. */
export function backupIdParam(c: Ctx): string {
  const id = c.req.param("id") ?? "";
  if (!isBackupId(id)) throw new ApiError(400, "invalid backup id");
  return id;
}

/** 403 unless the operator's role includes `needed`. */
export function requireRole(c: Ctx, needed: OperatorRole): void {
  if (!roleAllows(c.get("operator").role, needed)) throw new ApiError(403, `this action needs the ${needed} role`);
}

/** `limit` (default 100, 1..1000) and the opaque `cursor` of a paginated list; 400 when malformed. */
export function pageParams(c: Ctx): { limit: number; cursor: string | null } {
  const rawLimit = c.req.query("limit");
  const limit = rawLimit === undefined ? 100 : /^\d{1,4}$/.test(rawLimit) ? Number(rawLimit) : NaN;
  if (!(limit >= 1 && limit <= 1000)) throw new ApiError(400, "limit must be an integer from 1 to 1000");
  const cursor = c.req.query("cursor");
  if (cursor === "") throw new ApiError(400, "invalid cursor");
  return { limit, cursor: cursor ?? null };
}

/** The longest JSON body an operator request may carry. */
const JSON_BODY_MAX_BYTES = 4096;

/** A JSON object body (optional when `optional`): 400 for anything else; never reads past 4 KiB. */
export async function jsonBody(c: Ctx, optional = false): Promise<Record<string, unknown>> {
  const text = await readBounded(c.req.raw, JSON_BODY_MAX_BYTES);
  if (text === null) throw new ApiError(400, "request body too large");
  if (text.trim() === "" && optional) return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(400, "request body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ApiError(400, "request body must be a JSON object");
  return body as Record<string, unknown>;
}

/** The body as text, or null as soon as it is longer than `max` bytes (the rest is never read). */
async function readBounded(request: Request, max: number): Promise<string | null> {
  if (Number(request.headers.get("Content-Length") ?? 0) > max) return null;
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) (bytes.set(chunk, at), (at += chunk.byteLength));
  return new TextDecoder().decode(bytes);
}

/** Refuses a body with fields other than `allowed`, so a typo is never silently ignored. */
export function onlyFields(body: Record<string, unknown>, allowed: string[]): void {
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw new ApiError(400, `unknown field ${JSON.stringify(unknown[0])}`);
}

/** The stores an operator change touches. */
export function stores(c: Ctx) {
  return { kv: c.env.SYSTEMS, db: c.env.OPERATOR_DB, bucket: c.env.BACKUPS, ledger: c.env.ORG_LEDGER, limits: limitsOf(c.env) };
}

/** The operator behind the request, for the audit trail. */
export function actor(c: Ctx) {
  return { name: c.get("operator").name, clientIp: clientAddress(c.req.raw) };
}
