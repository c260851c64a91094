// Operator endpoints on one system: show, suspend/resume, append-only, rotate, retire or
// purge, move. Each checks scope (404) before role (403), then calls a use case.

import type { Context } from "hono";
import { ORGANIZATION_ID_PATTERN, type SystemRecord } from "../auth/secret";
import { ApiError } from "../errors";
import { envelope } from "../http/envelope";
import { organizationUsage } from "../ledger/client";
import { d1 } from "../operator/d1";
import { readFleetRow } from "../operator/fleet-query";
import { DEFAULT_STALE_AFTER_DAYS } from "../operator/health";
import { indexMatches, readIndexedSystem, upsertSystemStatement } from "../operator/system-index";
import { rfc3339 } from "../platform/time";
import { inScope } from "../auth/operator-token";
import { actor, guardScope, holdSystem, jsonBody, onlyFields, requireRole, scopedSystem, stores } from "./access";
import type { AdminEnv } from "./app-env";
import { moveSystem } from "./move";
import { purgeSystem } from "./purge";
import { changeSystemRecord, rotateSystemSecret } from "./system-records";
import { systemView } from "./views";
import { changeSystemProfile, profileChange } from "./system-profile";

type Ctx = Context<AdminEnv>;

/** GET /api/admin/systems/{key}: the system from its KV record, repairing its index row if it differs. */
export async function showSystem(c: Ctx): Promise<Response> {
  const { systemKey, record } = await scopedSystem(c);
  const db = c.env.OPERATOR_DB;
  if (!indexMatches(await readIndexedSystem(db, systemKey), record)) await d1("index repair", () => upsertSystemStatement(db, systemKey, record).run());
  return envelope(200, "system found", await view(c, systemKey, record));
}

/** POST /api/admin/systems/{key}/suspend: the appliance's requests are refused until resumed. */
export async function suspendSystem(c: Ctx): Promise<Response> {
  return changeAndShow(c, "manager", "system.suspend", (r) => (r.suspended_at ? null : { ...r, suspended_at: rfc3339() }), "system suspended");
}

/** POST /api/admin/systems/{key}/resume: lifts a suspension. */
export async function resumeSystem(c: Ctx): Promise<Response> {
  return changeAndShow(c, "manager", "system.resume", (r) => (r.suspended_at ? { ...r, suspended_at: null } : null), "system resumed");
}

/** PATCH /api/admin/systems/{key}: `{"append_only": bool, "name": string|null, "notes": string|null}`, any of them. */
export async function patchSystem(c: Ctx): Promise<Response> {
  const { systemKey, record } = await scopedSystem(c);
  requireRole(c, "manager");
  const body = await jsonBody(c);
  onlyFields(body, ["append_only", "name", "notes"]);
  if (Object.keys(body).length === 0) throw new ApiError(400, "nothing to change: give append_only, name or notes");
  if (body.append_only !== undefined && typeof body.append_only !== "boolean") throw new ApiError(400, "append_only must be a boolean");
  const text = profileChange(body);
  const wanted = body.append_only as boolean | undefined;
  if (wanted !== undefined) refuseIfRetired(record);
  // Every change of the system, its name and notes too, in its one change order.
  const next = await holdSystem(c, systemKey, async (held) => {
    let current = held.record;
    if (wanted !== undefined) {
      refuseIfRetired(held.record);
      current = await changeSystemRecord(stores(c), actor(c), "system.append_only", held, (r) => ((r.append_only === true) === wanted ? null : { ...r, append_only: wanted }));
    }
    if (text) await changeSystemProfile(stores(c), actor(c), systemKey, held.record.organization_id, text);
    return current;
  });
  return envelope(200, "system updated", await view(c, systemKey, next));
}

/** POST /api/admin/systems/{key}/rotate: a new secret, shown only in this answer; the old one stops working. */
export async function rotateSystem(c: Ctx): Promise<Response> {
  const { systemKey, record } = await scopedSystem(c);
  requireRole(c, "admin");
  refuseIfRetired(record);
  const { systemSecret, record: rotated } = await holdSystem(c, systemKey, async (held) => {
    refuseIfRetired(held.record);
    return rotateSystemSecret(stores(c), actor(c), systemKey, held.record);
  });
  return envelope(200, "secret rotated", { system_key: systemKey, system_secret: systemSecret, system_id: rotated.system_id, organization_id: rotated.organization_id });
}

/** DELETE /api/admin/systems/{key}: retires the system; with `?purge=true` removes its credentials at once and its backups into the recovery window. */
export async function deleteSystem(c: Ctx): Promise<Response> {
  const { systemKey, record } = await scopedSystem(c);
  requireRole(c, "admin");
  const purge = c.req.query("purge");
  if (purge !== undefined && purge !== "true" && purge !== "false") throw new ApiError(400, "purge must be true or false");
  if (purge === "true") {
    const { deleted, eraseAfter } = await purgeSystem(stores(c), actor(c), systemKey, guardScope(c));
    return envelope(200, "system purged", { system_key: systemKey, purged: true, objects_deleted: deleted, recoverable_until: eraseAfter });
  }
  const next = await holdSystem(c, systemKey, (held) =>
    changeSystemRecord(stores(c), actor(c), "system.retire", held, (r) => (r.deleted_at ? null : { ...r, deleted_at: rfc3339() }), "retired"),
  );
  return envelope(200, "system retired", await view(c, systemKey, next));
}

/** POST /api/admin/systems/{key}/move: `{"organization_id": ORG}`; every backup follows. */
export async function moveSystemHandler(c: Ctx): Promise<Response> {
  const { systemKey, record } = await scopedSystem(c);
  requireRole(c, "admin");
  const body = await jsonBody(c);
  onlyFields(body, ["organization_id"]);
  const to = body.organization_id;
  if (typeof to !== "string" || !ORGANIZATION_ID_PATTERN.test(to)) throw new ApiError(400, "organization_id must be a valid organization id");
  // The destination must be in scope too, and looks just as absent when it is not.
  const operator = c.get("operator");
  if (!inScope(operator, to)) throw new ApiError(404, "organization not found");
  refuseIfRetired(record);
  const { record: moved } = await moveSystem(stores(c), actor(c), systemKey, to, { guard: guardScope(c), mayName: (org) => inScope(operator, org) });
  return envelope(200, "system moved", await view(c, systemKey, moved));
}

async function changeAndShow(c: Ctx, role: "manager", action: "system.suspend" | "system.resume", change: (r: SystemRecord) => SystemRecord | null, message: string) {
  const { systemKey, record } = await scopedSystem(c);
  requireRole(c, role);
  refuseIfRetired(record);
  const next = await holdSystem(c, systemKey, async (held) => {
    refuseIfRetired(held.record);
    return changeSystemRecord(stores(c), actor(c), action, held, change);
  });
  return envelope(200, message, await view(c, systemKey, next));
}

function refuseIfRetired(record: SystemRecord): void {
  if (record.deleted_at) throw new ApiError(409, "the system is retired: it can only be purged");
}

/** The system's view: its usage (one ledger call) and its health facts (one D1 read). */
async function view(c: Ctx, systemKey: string, record: SystemRecord) {
  const now = Date.now();
  const [usage, facts] = await Promise.all([
    organizationUsage(c.env.ORG_LEDGER, record.organization_id, [systemKey]),
    readFleetRow(c.env.OPERATOR_DB, systemKey, now),
  ]);
  return systemView(systemKey, record, usage.systems[systemKey], facts, now, facts?.stale_after_days ?? DEFAULT_STALE_AFTER_DAYS);
}
