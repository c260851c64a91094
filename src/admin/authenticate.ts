// The operator plane's authentication middleware: `Authorization: Bearer op_<public>.<secret>`.

import type { MiddlewareHandler } from "hono";
import { bearerToken, parseOperatorToken, verifyOperatorToken } from "../auth/operator-token";
import { isThrottled, recordAuthFailure, throttleSecondsLeft } from "../auth/throttle";
import { ApiError } from "../errors";
import { clientAddress } from "../http/client-address";
import { readOperatorToken } from "../operator/token-store";
import type { AdminEnv } from "./app-env";

const CHALLENGE = { "WWW-Authenticate": 'Bearer realm="Operator API"' } as const;

/**
 * Authenticates an operator token against its D1 record and puts the operator on the context.
 * Missing, malformed, unknown, expired and revoked tokens all get the same 401; an unknown
 * token costs the same read, hash and comparison as a known one. Appliance credentials (Basic)
 * never work here. Addresses with a burst of failures are answered 429 without a read.
 */
export const authenticateOperator: MiddlewareHandler<AdminEnv> = async (c, next) => {
  const address = clientAddress(c.req.raw);
  if (isThrottled(address)) throw throttled(address);
  const token = bearerToken(c.req.header("Authorization"));
  const parts = token ? parseOperatorToken(token) : null;
  const record = parts ? await readOperatorToken(c.env.OPERATOR_DB, parts.publicId) : null;
  const ok = await verifyOperatorToken(record, token ?? "");
  if (!ok || !record) {
    if (await recordAuthFailure(c.env.AUTH_FAILURES, address)) throw throttled(address);
    throw new ApiError(401, "invalid token", { headers: { ...CHALLENGE } });
  }
  c.set("operator", { name: record.name, role: record.role, organizations: record.organizations });
  await next();
};

function throttled(address: string): ApiError {
  return new ApiError(429, "too many failed authentication attempts", { headers: { "Retry-After": String(throttleSecondsLeft(address)) } });
}
