// GET /api/admin/token: who the calling token is. Not in OPERATOR.md's table; added for clients
// such as the operator console, which offer only the actions the token's role allows (the API
// still checks every call). Answers from the authenticated token alone: no storage call.

import type { Context } from "hono";
import { envelope } from "../http/envelope";
import type { AdminEnv } from "./app-env";

/** The calling token's name, role and organisations in scope (`*` for all); never its hash. */
export function showCallingToken(c: Context<AdminEnv>): Response {
  const { name, role, organizations } = c.get("operator");
  return envelope(200, "token", { name, role, organizations });
}
