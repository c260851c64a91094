// The route table: the app, its middleware, its routes and the exported Durable Object.

import { Hono } from "hono";
import { authenticateOperator } from "./admin/authenticate";
import type { AdminEnv } from "./admin/app-env";
import { createDownloadLink, deleteBackupAdmin, listBackupsAdmin } from "./admin/backups";
import { downloadByLink } from "./admin/downloads";
import { fleetHealth, searchSystems } from "./admin/fleet";
import { metrics } from "./admin/metrics";
import { createSystem, listAudit, listOrganizations, listSystems } from "./admin/organizations";
import { listRecoverableAdmin, restoreBackupAdmin, restoreSystemAdmin } from "./admin/recovery";
import { deleteSystem, moveSystemHandler, patchSystem, resumeSystem, rotateSystem, showSystem, suspendSystem } from "./admin/systems";
import { auditRefusals } from "./admin/refusal-audit";
import { patchSettings, sendTestAlert, showSettings } from "./admin/settings";
import { showCallingToken } from "./admin/token-identity";
import { createToken, listTokens, revokeToken } from "./admin/tokens";
import type { AppEnv } from "./api/app-env";
import { authenticate } from "./api/authenticate";
import { deleteBackup, downloadBackup, listBackups, requireBackupId, uploadBackup } from "./api/handlers";
import { canonicalPath } from "./http/canonical-path";
import { authenticateLegacy } from "./legacy/authenticate";
import { legacyDelete, legacyDownload, legacyList, legacyUpload, proxyCredentials, proxyUpload } from "./legacy/handlers";
import { errorResponse, notFoundResponse } from "./http/error-response";
import { methodNotAllowed } from "./http/method-not-allowed";
import { eraseEndedWindows } from "./ledger/recovery-client";
import { deliverAlertBatch } from "./operator/alert-delivery";
import type { AlertDelivery } from "./operator/alert-messages";
import { hourlyMaintenance } from "./operator/maintenance";

const BACKUPS = "/api/systems/backups";
const BACKUP = "/api/systems/backups/:id";
const LEGACY_BACKUPS = "/:type{enterprise|community}/api/v2/backup";
const LEGACY_BACKUP = `${LEGACY_BACKUPS}/:id`;

// Paths are matched as the proxies match them: `//` is `/`, a trailing slash is ignored.
const app = new Hono<AppEnv>({ getPath: canonicalPath });

// The appliance plane (docs/api/appliance.md): HTTP Basic with the system's credentials.
app.get(BACKUPS, authenticate, listBackups);
app.post(BACKUPS, authenticate, uploadBackup);
app.on(["GET", "HEAD"], BACKUP, requireBackupId, authenticate, downloadBackup);
app.delete(BACKUP, requireBackupId, authenticate, deleteBackup);
app.all(BACKUPS, methodNotAllowed("GET, HEAD, POST"));
app.all(BACKUP, methodNotAllowed("GET, HEAD, DELETE"));

// The older service's protocol (docs/api/legacy.md), for the released appliances: HTTP Basic with
// the legacy id and secret, over the same use cases. `PUT …/{name}` shares the pattern of `…/{id}`.
app.get(LEGACY_BACKUPS, authenticateLegacy, legacyList);
app.put(LEGACY_BACKUPS, authenticateLegacy, legacyUpload);
app.put(LEGACY_BACKUP, authenticateLegacy, legacyUpload);
app.on(["GET", "HEAD"], LEGACY_BACKUP, requireBackupId, authenticateLegacy, legacyDownload);
app.delete(LEGACY_BACKUP, requireBackupId, authenticateLegacy, legacyDelete);
app.all(LEGACY_BACKUPS, methodNotAllowed("GET, HEAD, PUT"));
app.all(LEGACY_BACKUP, methodNotAllowed("GET, HEAD, PUT, DELETE"));
app.post("/proxy/backup", authenticateLegacy, proxyUpload);
app.get("/proxy/credentials", authenticateLegacy, proxyCredentials);
app.all("/proxy/backup", methodNotAllowed("POST"));
app.all("/proxy/credentials", methodNotAllowed("GET, HEAD"));

// The operator plane (docs/api/operator.md): Bearer operator tokens; every path answers 401 without one.
const admin = new Hono<AdminEnv>();
admin.use("*", authenticateOperator, auditRefusals);
admin.get("/token", showCallingToken);
admin.get("/tokens", listTokens);
admin.post("/tokens", createToken);
admin.delete("/tokens/:name", revokeToken);
admin.get("/health", fleetHealth);
admin.get("/metrics", metrics);
admin.get("/systems", searchSystems);
admin.get("/organizations", listOrganizations);
admin.get("/organizations/:org/systems", listSystems);
admin.post("/organizations/:org/systems", createSystem);
admin.get("/organizations/:org/audit", listAudit);
admin.get("/organizations/:org/settings", showSettings);
admin.patch("/organizations/:org/settings", patchSettings);
admin.post("/organizations/:org/settings/test-alert", sendTestAlert);
admin.get("/systems/:key", showSystem);
admin.patch("/systems/:key", patchSystem);
admin.delete("/systems/:key", deleteSystem);
admin.post("/systems/:key/suspend", suspendSystem);
admin.post("/systems/:key/resume", resumeSystem);
admin.post("/systems/:key/rotate", rotateSystem);
admin.post("/systems/:key/move", moveSystemHandler);
admin.get("/systems/:key/backups", listBackupsAdmin);
admin.delete("/systems/:key/backups/:id", deleteBackupAdmin);
admin.post("/systems/:key/backups/:id/link", createDownloadLink);
admin.get("/systems/:key/recoverable", listRecoverableAdmin);
admin.post("/systems/:key/recoverable/:id/restore", restoreBackupAdmin);
admin.post("/systems/:key/restore", restoreSystemAdmin);
admin.all("/token", methodNotAllowed("GET, HEAD"));
admin.all("/tokens", methodNotAllowed("GET, HEAD, POST"));
admin.all("/tokens/:name", methodNotAllowed("DELETE"));
admin.all("/organizations", methodNotAllowed("GET, HEAD"));
admin.all("/health", methodNotAllowed("GET, HEAD"));
admin.all("/metrics", methodNotAllowed("GET, HEAD"));
admin.all("/systems", methodNotAllowed("GET, HEAD"));
admin.all("/organizations/:org/systems", methodNotAllowed("GET, HEAD, POST"));
admin.all("/organizations/:org/audit", methodNotAllowed("GET, HEAD"));
admin.all("/organizations/:org/settings", methodNotAllowed("GET, HEAD, PATCH"));
admin.all("/organizations/:org/settings/test-alert", methodNotAllowed("POST"));
admin.all("/systems/:key", methodNotAllowed("GET, HEAD, PATCH, DELETE"));
admin.all("/systems/:key/:action{suspend|resume|rotate|move|restore}", methodNotAllowed("POST"));
admin.all("/systems/:key/backups", methodNotAllowed("GET, HEAD"));
admin.all("/systems/:key/backups/:id", methodNotAllowed("DELETE"));
admin.all("/systems/:key/backups/:id/link", methodNotAllowed("POST"));
admin.all("/systems/:key/recoverable", methodNotAllowed("GET, HEAD"));
admin.all("/systems/:key/recoverable/:id/restore", methodNotAllowed("POST"));
app.route("/api/admin", admin);

// Signed download links (no other credential), and the OpenAPI document of both planes.
app.on(["GET", "HEAD"], "/api/downloads/:token", downloadByLink);
app.all("/api/downloads/:token", methodNotAllowed("GET, HEAD"));
// Fetched by its canonical path: the asset layer would answer `//openapi.json` with a redirect, and /api/ never redirects.
app.on(["GET", "HEAD"], "/api/openapi.json", (c) => c.env.ASSETS.fetch(new Request(new URL("/api/openapi.json", c.req.url), c.req.raw)));
app.all("/api/openapi.json", methodNotAllowed("GET, HEAD"));

app.notFound(notFoundResponse);
app.onError(errorResponse);

export { OrgLedger } from "./ledger/org-ledger";
export default {
  fetch: app.fetch,
  /**
   * Hourly (wrangler.toml `[triggers]`): audit retention, the index sweep, health and alerts, and
   * the erasure of what has passed its recovery window, all judged by the trigger's scheduled time.
   */
  scheduled: (controller: ScheduledController, env: Env, ctx: ExecutionContext) =>
    ctx.waitUntil(Promise.all([hourlyMaintenance(env, controller.scheduledTime), eraseEndedWindows(env, controller.scheduledTime)])),
  /** The alert queue's consumer (wrangler.toml `[[queues.consumers]]`): signed webhook deliveries with retries. */
  queue: (batch: MessageBatch, env: Env) => deliverAlertBatch(batch as MessageBatch<AlertDelivery>, env),
} satisfies ExportedHandler<Env>;
