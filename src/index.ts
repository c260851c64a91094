// The route table: the app, its middleware, its routes and the exported Durable Object.

import { Hono } from "hono";
import type { AppEnv } from "./api/app-env";
import { authenticate } from "./api/authenticate";
import { deleteBackup, downloadBackup, listBackups, requireBackupId, uploadBackup } from "./api/handlers";
import { errorResponse, notFoundResponse } from "./http/error-response";
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

export { OrgLedger } from "./ledger/org-ledger";
export default app;
