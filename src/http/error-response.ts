// The one place where anything thrown becomes an envelope (Hono's `onError` and `notFound`).

import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError } from "../errors";
import { log } from "../platform/log";
import { envelope } from "./envelope";

/** Answers any error in the envelope; server-side failures are logged with the request's context, never shown. */
export function errorResponse(err: unknown, c: Context): Response {
  if (err instanceof ApiError) {
    if (err.status >= 500) log.error(err.name, { ...requestFields(c), error: err });
    return envelope(err.status, err.publicMessage, err.data, err.headers);
  }
  if (err instanceof HTTPException) return envelope(err.status, err.message || statusText(err.status), null);
  log.error("unhandled error", { ...requestFields(c), error: err });
  return envelope(500, "internal error", null);
}

/** Unknown route: 404 in the envelope. */
export function notFoundResponse(): Response {
  return envelope(404, "not found", null);
}

/** What identifies a request in a log line: never headers (they carry credentials). */
export function requestFields(c: Context): Record<string, unknown> {
  const caller = c.get("system") as { systemKey?: string } | undefined;
  return {
    method: c.req.method,
    path: redactedPath(new URL(c.req.url).pathname),
    ray: c.req.header("cf-ray") ?? null,
    system: caller?.systemKey ?? null,
  };
}

/** A path as it may be logged: a download link's token is a credential, so it is cut out. */
export function redactedPath(path: string): string {
  return path.replace(/^(\/+api\/+downloads\/+)[^/]*/, "$1[redacted]");
}

function statusText(status: number): string {
  return status === 400 ? "bad request" : status === 413 ? "payload too large" : "error";
}
