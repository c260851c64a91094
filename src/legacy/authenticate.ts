// The older protocol's authentication middleware: HTTP Basic `system_id:secret`, checked in the
// deployment's mode (sign-in.ts), with the appliance API's throttle and the same 401.

import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../api/app-env";
import { parseBasicAuth } from "../auth/basic";
import { authenticatedFromEntry } from "../auth/legacy-credentials";
import { claimedKey, recordAuthFailure, throttleWait } from "../auth/throttle";
import { legacyAuthOf } from "../config";
import { ApiError } from "../errors";
import { clientAddress } from "../http/client-address";
import { noteSeen } from "../operator/appliance-signs";
import { noteLegacyRefusal } from "./activity";
import { signInLegacy } from "./sign-in";

const AUTH_CHALLENGE = { "WWW-Authenticate": 'Basic realm="System Authentication"' } as const;

/** Routes whose refusal is a lost backup: a matching secret of a suspended or retired system is recorded there. */
const isUpload = (method: string) => method === "PUT" || method === "POST";

/**
 * Authenticates a legacy request and puts the system on the context; records it as seen. Unknown
 * id, wrong secret, suspended or retired system: 401 with `WWW-Authenticate: Basic`, counted by
 * the throttle (429 once a key or address has too many failures, without a KV read).
 */
export const authenticateLegacy: MiddlewareHandler<AppEnv> = async (c, next) => {
  const address = clientAddress(c.req.raw);
  const authorization = c.req.header("Authorization") ?? "";
  const credentials = parseBasicAuth(authorization);
  const key = claimedKey(credentials?.user);
  const wait = throttleWait(address, key);
  if (wait > 0) throw new ApiError(429, "too many failed authentication attempts", { headers: { "Retry-After": String(wait) } });
  const result = credentials
    ? await signInLegacy({ kv: c.env.SYSTEMS, db: c.env.OPERATOR_DB, config: legacyAuthOf(c.env), clientIp: address }, credentials.user, credentials.password, authorization)
    : { verdict: "invalid" as const, entry: null };
  if (result.verdict !== "valid" || !result.entry) {
    // The right secret of a system that may not upload: its appliance will count the backup as sent.
    if (result.entry && result.verdict !== "invalid" && isUpload(c.req.method)) {
      const system = authenticatedFromEntry(result.entry);
      c.executionCtx.waitUntil(noteLegacyRefusal(c.env.OPERATOR_DB, system, `system ${result.verdict}`, address));
    }
    const blocked = await recordAuthFailure(c.env, address, key);
    if (blocked > 0) throw new ApiError(429, "too many failed authentication attempts", { headers: { "Retry-After": String(blocked) } });
    throw new ApiError(401, "invalid token", { headers: { ...AUTH_CHALLENGE }, data: {} });
  }
  const system = authenticatedFromEntry(result.entry);
  c.set("system", system);
  const seen = noteSeen(c.env.OPERATOR_DB, system);
  if (seen) c.executionCtx.waitUntil(seen);
  await next();
};
