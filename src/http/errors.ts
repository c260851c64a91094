import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { BodyLengthError, ChecksumMismatchError, StorageUnavailableError } from "../backups/store";
import { ConfigError } from "../config";
import { envelope } from "./envelope";

/** An error with a status and a message that is safe to show the client. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly data: unknown = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** A platform dependency (KV, R2, the ledger) failed: 503, never 401 or 500. */
export class UnavailableError extends ApiError {
  constructor(message: string, readonly cause?: unknown) {
    super(503, message, { "Retry-After": "30" });
    this.name = "UnavailableError";
  }
}

export const AUTH_CHALLENGE = { "WWW-Authenticate": 'Basic realm="System Authentication"' } as const;

/** The one place where anything thrown becomes an envelope; unknown errors are logged, not shown. */
export function errorResponse(err: unknown, c: Context): Response {
  if (err instanceof ApiError) {
    if (err instanceof UnavailableError) logError(c, "dependency unavailable", err.cause ?? err);
    return envelope(err.status, err.message, err.data, err.headers);
  }
  if (err instanceof BodyLengthError || err instanceof ChecksumMismatchError) return envelope(400, err.message, null);
  if (err instanceof StorageUnavailableError) {
    logError(c, `storage unavailable: ${err.operation}`, err.cause);
    return envelope(503, "backup storage unavailable", null, { "Retry-After": "30" });
  }
  if (err instanceof HTTPException) return envelope(err.status, err.message || statusText(err.status), null);
  if (err instanceof ConfigError) {
    logError(c, "invalid configuration", err);
    return envelope(500, "service misconfigured", null);
  }
  logError(c, "unhandled error", err);
  return envelope(500, "internal error", null);
}

/** Unknown route: 404 in the envelope. */
export function notFoundResponse(): Response {
  return envelope(404, "not found", null);
}

/** Logs one structured line with the request's context; never headers (they carry credentials). */
export function logError(c: Context, event: string, err: unknown): void {
  const e = err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : { message: String(err) };
  console.error(
    JSON.stringify({
      level: "error",
      event,
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      ray: c.req.header("cf-ray") ?? null,
      system: c.get("system")?.systemKey ?? null,
      error: e,
    }),
  );
}

function statusText(status: number): string {
  return status === 400 ? "bad request" : status === 413 ? "payload too large" : "error";
}
