import type { MiddlewareHandler } from "hono";
import { ApiError, AUTH_CHALLENGE } from "../http/errors";
import type { AppEnv } from "../http/app-env";
import { parseBasicAuth } from "./basic";
import { readSystemRecord, toAuthenticatedSystem, verifySystemSecret } from "./credentials";
import { clientAddress, isThrottled, recordAuthFailure, throttleSecondsLeft } from "./throttle";

// One message for every credential failure: an unknown key and a wrong secret look alike.
const unauthorized = () => new ApiError(401, "invalid token", { ...AUTH_CHALLENGE });

/**
 * Authenticates the appliance by HTTP Basic against its KV record and puts the system on the
 * context. Addresses with a burst of failures are answered 429 without a KV read.
 */
export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const address = clientAddress(c.req.raw);
  if (isThrottled(address)) throw throttled(address);
  const credentials = parseBasicAuth(c.req.header("Authorization"));
  const record = credentials ? await readSystemRecord(c.env.SYSTEMS, credentials.user) : null;
  const ok = credentials !== null && (await verifySystemSecret(record, credentials.password));
  if (!ok || !record || !credentials) {
    if (await recordAuthFailure(c.env.AUTH_FAILURES, address)) throw throttled(address);
    throw unauthorized();
  }
  c.set("system", toAuthenticatedSystem(credentials.user, record));
  await next();
};

function throttled(address: string): ApiError {
  return new ApiError(429, "too many failed authentication attempts", { "Retry-After": String(throttleSecondsLeft(address)) });
}
