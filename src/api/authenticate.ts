// The appliance plane's authentication middleware.

import type { MiddlewareHandler } from "hono";
import { parseBasicAuth } from "../auth/basic";
import { checkSystemCredentials } from "../auth/credentials";
import { claimedKey, recordAuthFailure, throttleWait } from "../auth/throttle";
import { ApiError } from "../errors";
import { noteSeen } from "../operator/appliance-signs";
import { clientAddress } from "../http/client-address";
import type { AppEnv } from "./app-env";

const AUTH_CHALLENGE = { "WWW-Authenticate": 'Basic realm="System Authentication"' } as const;

// One answer for every credential failure, an unknown key and a wrong secret alike: exactly the
// published example, `{"code": 401, "message": "invalid token", "data": {}}`.
const unauthorized = () => new ApiError(401, "invalid token", { headers: { ...AUTH_CHALLENGE }, data: {} });

/**
 * Authenticates the appliance by HTTP Basic against its KV record and puts the system on the
 * context. A key, or an address, with a burst of failures is answered 429 without a KV read.
 */
export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const address = clientAddress(c.req.raw);
  const credentials = parseBasicAuth(c.req.header("Authorization"));
  const key = claimedKey(credentials?.user);
  const wait = throttleWait(address, key);
  if (wait > 0) throw throttled(wait);
  const system = credentials ? await checkSystemCredentials(c.env.SYSTEMS, credentials.user, credentials.password) : null;
  if (!system) {
    const blocked = await recordAuthFailure(c.env, address, key);
    if (blocked > 0) throw throttled(blocked);
    throw unauthorized();
  }
  c.set("system", system);
  // Last seen, to the hour, in the background: never a blocking call on the appliance's request.
  const seen = noteSeen(c.env.OPERATOR_DB, system);
  if (seen) c.executionCtx.waitUntil(seen);
  await next();
};

function throttled(seconds: number): ApiError {
  return new ApiError(429, "too many failed authentication attempts", { headers: { "Retry-After": String(seconds) } });
}
