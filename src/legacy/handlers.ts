// The older service's protocol (docs/api/legacy.md): thin routes that translate its requests into
// the appliance API's use cases (upload, list, download, delete, rotate) and their outcomes back
// into its shapes: `{"backups":[…]}` with Unix-second times, `{"result":"success"}`.

import type { Context } from "hono";
import { withSystemChange } from "../admin/system-change";
import { rotateSystemSecret } from "../admin/system-records";
import type { AppEnv } from "../api/app-env";
import { deleteBindings, deleteSystemBackup } from "../api/delete-backup";
import { parseUpload, uploadWithSigns } from "../api/handlers";
import type { UploadOutcome, UploadRequest } from "../api/upload";
import { serveBackup } from "../backups/download";
import { backupKey, systemPrefix } from "../backups/keys";
import { type BackupMetadata } from "../backups/backup-object";
import { listSystemBackups } from "../backups/store";
import { ApiError } from "../errors";
import { clientAddress } from "../http/client-address";
import { envelope } from "../http/envelope";
import { auditRefusal, refusalReason } from "./activity";

type Ctx = Context<AppEnv>;

/** A backup as the older protocol lists it: `created` in Unix seconds (a number). */
export interface LegacyBackup {
  id: string;
  name: string;
  created: number;
  size: number;
  mimetype: string;
}

/** The older protocol's shape of a backup. */
export function legacyBackup(backup: BackupMetadata): LegacyBackup {
  return { id: backup.id, name: backup.filename, created: Math.floor(Date.parse(backup.uploaded_at) / 1000), size: backup.size, mimetype: backup.mimetype };
}

/** GET /{type}/api/v2/backup/: every backup of the system, newest first (one R2 listing per page). */
export async function legacyList(c: Ctx): Promise<Response> {
  const backups = await listSystemBackups(c.env.BACKUPS, systemPrefix(c.get("system")));
  return json(200, { backups: backups.map(legacyBackup) });
}

/** PUT /{type}/api/v2/backup/{name} (`curl --upload-file`): the upload use case, the `{type}` recorded with it. */
export async function legacyUpload(c: Ctx): Promise<Response> {
  const type = c.req.param("type");
  const { created, backup } = await legacyStore(c, () => ({ ...parseUpload(c, c.req.param("id") ?? null), legacyType: type, firstOfDayExempt: true }));
  return json(created ? 201 : 200, legacyBackup(backup));
}

/** POST /proxy/backup: the released clients' second copy, as `POST /api/systems/backups` (bytes just stored: 200, nothing stored twice). */
export async function proxyUpload(c: Ctx): Promise<Response> {
  const { created, backup } = await legacyStore(c, () => ({ ...parseUpload(c, c.req.header("X-Filename") ?? null), firstOfDayExempt: true }));
  return created ? envelope(201, "backup stored", backup) : envelope(200, "backup already stored", backup);
}

/** GET and HEAD /{type}/api/v2/backup/{id} (`curl -J -o`): the bytes, as an attachment with the stored name. */
export async function legacyDownload(c: Ctx): Promise<Response> {
  return serveBackup(c.req.raw, c.env.BACKUPS, backupKey(c.get("system"), c.get("backupId")));
}

/** DELETE /{type}/api/v2/backup/{id}: the appliance API's delete; the web UI needs exactly `{"result":"success"}`. */
export async function legacyDelete(c: Ctx): Promise<Response> {
  await deleteSystemBackup(deleteBindings(c), c.get("system"), c.get("backupId"), clientAddress(c.req.raw));
  return json(200, { result: "success" });
}

/**
 * GET /proxy/credentials: the appliance API credentials of the same system, for the next release's
 * migration. The vault keeps only hashes, so each call rotates the secret (audited `system.rotate`);
 * the legacy credentials keep working.
 */
export async function proxyCredentials(c: Ctx): Promise<Response> {
  const system = c.get("system");
  const stores = { kv: c.env.SYSTEMS, db: c.env.OPERATOR_DB };
  const actor = { name: system.systemKey, clientIp: clientAddress(c.req.raw) };
  // A rotation is a change to the system: it holds the system and reads its record afresh (docs/consistency.md).
  const { systemSecret } = await withSystemChange(stores, system.systemKey, async (held) => {
    if (!held.record || held.tombstone || held.record.deleted_at || held.record.suspended_at)
      throw new ApiError(401, "invalid token", { headers: { "WWW-Authenticate": 'Basic realm="System Authentication"' }, data: {} });
    return rotateSystemSecret(stores, actor, system.systemKey, held.record);
  });
  return envelope(200, "credentials issued", { system_key: system.systemKey, system_secret: systemSecret });
}

/**
 * Runs the upload use case with fleet health's signs; every refusal (not only 413 and 429: these
 * clients never learn of any) marks the system and is audited `backup.refused` before it is answered.
 */
async function legacyStore(c: Ctx, parse: () => UploadRequest): Promise<UploadOutcome> {
  try {
    return await uploadWithSigns(c, parse, refusalReason);
  } catch (err) {
    c.executionCtx.waitUntil(auditRefusal(c.env.OPERATOR_DB, c.get("system"), refusalReason(err), clientAddress(c.req.raw)));
    throw err;
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store" },
  });
}
