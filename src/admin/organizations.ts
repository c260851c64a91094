// Operator endpoints on organisations: the list, an organisation's systems (and creating one),
// and its audit trail. Thin handlers: parse, check scope and role, call the stores, shape.

import type { Context } from "hono";
import { isLegacyId, readLegacyEntry } from "../auth/legacy-credentials";
import { hashLegacySecret, LEGACY_SECRET_MAX, RECORD_BOUNDS } from "../auth/secret";
import { limitsOf } from "../config";
import { ApiError } from "../errors";
import { envelope } from "../http/envelope";
import { organizationUsage } from "../ledger/client";
import { listAuditEvents } from "../operator/audit";
import { listIndexedOrganizations } from "../operator/system-index";
import { auditFilterParams } from "./audit-filters";
import { actor, jsonBody, onlyFields, pageParams, requireRole, scopedOrganization, stores } from "./access";
import type { AdminEnv } from "./app-env";
import { createSystemRecord, type NewSystemOptions } from "./system-records";
import { organizationSystemsPage } from "./fleet-systems";

type Ctx = Context<AdminEnv>;

/** Ledger calls made at once when an organisation page is filled in. */
const USAGE_CONCURRENCY = 32;

/** GET /api/admin/organizations: the organisations in scope, with systems, backups, bytes and quota. */
export async function listOrganizations(c: Ctx): Promise<Response> {
  const page = await listIndexedOrganizations(c.env.OPERATOR_DB, c.get("operator").organizations, pageParams(c));
  if (!page) throw invalidCursor();
  const quota = limitsOf(c.env).maxSizePerOrg;
  const organizations: Record<string, unknown>[] = [];
  for (let i = 0; i < page.organizations.length; i += USAGE_CONCURRENCY) {
    const batch = page.organizations.slice(i, i + USAGE_CONCURRENCY);
    // An organisation without systems in the index holds nothing to count: no ledger call for it.
    const usages = await Promise.all(batch.map((o) => (o.systems === 0 ? { backups: 0, bytes: 0 } : organizationUsage(c.env.ORG_LEDGER, o.organization_id, []))));
    batch.forEach((o, j) =>
      organizations.push({ ...o, backups: usages[j].backups, bytes_used: usages[j].bytes, quota_bytes: quota === 0 ? null : quota }),
    );
  }
  return envelope(200, "organizations listed", { organizations, cursor: page.cursor });
}

/**
 * GET /api/admin/organizations/{org}/systems: `?health=`, `?sort=`, `?q=`, most silent first by
 * default. One D1 query and one ledger call per page (`sort=bytes_used`: the organisation whole in each).
 */
export async function listSystems(c: Ctx): Promise<Response> {
  const organizationId = scopedOrganization(c);
  return envelope(200, "systems listed", await organizationSystemsPage(c, organizationId));
}

/** POST /api/admin/organizations/{org}/systems: a new system; its secret is shown only in this answer. */
export async function createSystem(c: Ctx): Promise<Response> {
  const organizationId = scopedOrganization(c);
  requireRole(c, "admin");
  const body = await jsonBody(c, true);
  onlyFields(body, ["append_only", "system_id", "legacy_secret"]);
  if (body.append_only !== undefined && typeof body.append_only !== "boolean") throw new ApiError(400, "append_only must be a boolean");
  const legacy = await legacyIdentity(c, body);
  const { systemKey, systemSecret, record } = await createSystemRecord(stores(c), actor(c), organizationId, body.append_only === true, legacy);
  return envelope(201, "system created", { system_key: systemKey, system_secret: systemSecret, system_id: record.system_id, organization_id: organizationId });
}

/**
 * GET /api/admin/organizations/{org}/audit: the organisation's events, newest first, filtered by
 * `action`, `target`, `since`, `until` (`*`: events about all-organisation tokens, for those tokens only).
 */
export async function listAudit(c: Ctx): Promise<Response> {
  const fleetWide = c.req.param("org") === "*" && c.get("operator").organizations === "*";
  const organizationId = fleetWide ? "*" : scopedOrganization(c);
  const page = await listAuditEvents(c.env.OPERATOR_DB, organizationId, pageParams(c), auditFilterParams(c));
  if (!page) throw invalidCursor();
  return envelope(200, "audit events listed", page);
}

/**
 * The legacy identity of a new system (docs/api/legacy.md, "Credentials"): `system_id` (the legacy
 * id; 409 when another system has it) and `legacy_secret`, kept only as a salted hash.
 */
async function legacyIdentity(c: Ctx, body: Record<string, unknown>): Promise<NewSystemOptions> {
  const { system_id: systemId, legacy_secret: secret } = body;
  if (systemId === undefined && secret === undefined) return {};
  if (typeof systemId !== "string" || !isLegacyId(systemId)) throw new ApiError(400, `system_id must be 1 to ${RECORD_BOUNDS.systemId} printable ASCII characters`);
  if (secret !== undefined && (typeof secret !== "string" || secret.length === 0 || secret.length > LEGACY_SECRET_MAX || /[\x00-\x1f\x7f]/.test(secret)))
    throw new ApiError(400, `legacy_secret must be 1 to ${LEGACY_SECRET_MAX} characters without control characters`);
  if (await readLegacyEntry(c.env.SYSTEMS, systemId)) throw new ApiError(409, "another system has this system_id");
  return { systemId, ...(typeof secret === "string" ? { legacySecretSha256: await hashLegacySecret(secret) } : {}) };
}

function invalidCursor(): ApiError {
  return new ApiError(400, "invalid cursor");
}
