// The operator plane's authentication middleware: `Authorization: Bearer op_<public>.<secret>`.

import type { MiddlewareHandler } from "hono";
import { bearerToken, parseOperatorToken, verifyOperatorToken } from "../auth/operator-token";
import { claimedKey, recordAuthFailure, throttleWait } from "../auth/throttle";
import { ApiError } from "../errors";
import { clientAddress } from "../http/client-address";
import { readOperatorToken } from "../operator/token-store";
import type { AdminEnv } from "./app-env";

const CHALLENGE = { "WWW-Authenticate": 'Bearer realm="Operator API"' } as const;

/**
 * Authenticates an operator token against its D1 record and puts the operator on the context.
 * Missing, malformed, unknown, expired and revoked tokens all get the same 401; an unknown
 * token costs the same read, hash and comparison as a known one. Appliance credentials (Basic)
 * never work here. A token or an address with a burst of failures is answered 429 without a read.
 */
export const authenticateOperator: MiddlewareHandler<AdminEnv> = async (c, next) => {
  const address = clientAddress(c.req.raw);
  const token = bearerToken(c.req.header("Authorization"));
  const parts = token ? parseOperatorToken(token) : null;
  // Failures count per address and per token (by its public part), as the appliance plane counts keys.
  const key = claimedKey(parts ? `op_${parts.publicId}` : undefined);
  const wait = throttleWait(address, key);
  if (wait > 0) throw throttled(wait);
  const record = parts ? await readOperatorToken(c.env.OPERATOR_DB, parts.publicId) : null;
  const ok = await verifyOperatorToken(record, token ?? "");
  if (!ok || !record) {
    const blocked = await recordAuthFailure(c.env, address, key);
    if (blocked > 0) throw throttled(blocked);
    throw new ApiError(401, "invalid token", { headers: { ...CHALLENGE } });
  }
  c.set("operator", { name: record.name, role: record.role, organizations: record.organizations });
  await next();
};

function throttled(seconds: number): ApiError {
  return new ApiError(429, "too many failed authentication attempts", { headers: { "Retry-After": String(seconds) } });
}
