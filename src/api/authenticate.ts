// The appliance plane's authentication middleware.

import type { MiddlewareHandler } from "hono";
import { parseBasicAuth } from "../auth/basic";
import { checkSystemCredentials } from "../auth/credentials";
import { isThrottled, recordAuthFailure, throttleSecondsLeft } from "../auth/throttle";
import { ApiError } from "../errors";
import { clientAddress } from "../http/client-address";
import type { AppEnv } from "./app-env";

const AUTH_CHALLENGE = { "WWW-Authenticate": 'Basic realm="System Authentication"' } as const;

// One message for every credential failure: an unknown key and a wrong secret look alike.
const unauthorized = () => new ApiError(401, "invalid token", { headers: { ...AUTH_CHALLENGE } });

/**
 * Authenticates the appliance by HTTP Basic against its KV record and puts the system on the
 * context. Addresses with a burst of failures are answered 429 without a KV read.
 */
export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const address = clientAddress(c.req.raw);
  if (isThrottled(address)) throw throttled(address);
  const credentials = parseBasicAuth(c.req.header("Authorization"));
  const system = credentials ? await checkSystemCredentials(c.env.SYSTEMS, credentials.user, credentials.password) : null;
  if (!system) {
    if (await recordAuthFailure(c.env.AUTH_FAILURES, address)) throw throttled(address);
    throw unauthorized();
  }
  c.set("system", system);
  await next();
};

function throttled(address: string): ApiError {
  return new ApiError(429, "too many failed authentication attempts", { headers: { "Retry-After": String(throttleSecondsLeft(address)) } });
}
