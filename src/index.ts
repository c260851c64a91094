import { Hono } from "hono";
import { DurableObject } from "cloudflare:workers";
const app = new Hono<{ Bindings: Env }>();
app.get("/", (c) => c.json({ ok: true }));
export class OrgLedger extends DurableObject {}
export default app;
