// The route table: the app, its middleware, its routes and the exported Durable Object.

import { Hono } from "hono";
import { authenticate } from "./auth/middleware";
import { deleteBackup, downloadBackup, listBackups, requireBackupId, uploadBackup } from "./backups/handlers";
import type { AppEnv } from "./http/app-env";
import { errorResponse, notFoundResponse } from "./http/errors";
import { methodNotAllowed } from "./http/method-not-allowed";

const BACKUPS = "/api/systems/backups";
const BACKUP = "/api/systems/backups/:id";

const app = new Hono<AppEnv>();

app.get(BACKUPS, authenticate, listBackups);
app.post(BACKUPS, authenticate, uploadBackup);
app.on(["GET", "HEAD"], BACKUP, requireBackupId, authenticate, downloadBackup);
app.delete(BACKUP, requireBackupId, authenticate, deleteBackup);

app.all(BACKUPS, methodNotAllowed("GET, HEAD, POST"));
app.all(BACKUP, methodNotAllowed("GET, HEAD, DELETE"));

app.notFound(notFoundResponse);
app.onError(errorResponse);

export { OrgLedger } from "./coordination/org-ledger";
export default app;
