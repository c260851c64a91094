// The one error family. Anything thrown below the routes is one of these (or an unknown error,
// which the error path logs and answers 500 without internals). Each carries the status, the
// message safe to show the client, its headers (Retry-After, WWW-Authenticate) and its cause.

export interface ApiErrorOptions {
  headers?: Record<string, string>;
  /** The envelope's `data` (null when absent). */
  data?: unknown;
  /** What went wrong underneath: logged, never shown. */
  cause?: unknown;
  /** What the client is told, when the error's own message is for the logs only. */
  publicMessage?: string;
}

/**
 * An error with a status and a message that is safe to show the client.
 * @example throw new ApiError(413, "backup exceeds the maximum upload size")
 */
export class ApiError extends Error {
  readonly headers: Record<string, string>;
  readonly data: unknown;
  /** The envelope's `message`: the error's message unless it is for the logs only. */
  readonly publicMessage: string;
  /** Set once the failure is in the audit trail (a purge or move records its own, with the step that failed). */
  audited = false;

  constructor(
    readonly status: number,
    message: string,
    options: ApiErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ApiError";
    this.headers = options.headers ?? {};
    this.data = options.data ?? null;
    this.publicMessage = options.publicMessage ?? message;
  }
}

/** Seconds a client is asked to wait after a dependency failed. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 30;

/** A platform dependency (KV, R2, the ledger) failed or timed out: 503, never 401 or 500. */
export class UnavailableError extends ApiError {
  constructor(message: string, cause?: unknown) {
    super(503, message, { headers: { "Retry-After": String(UNAVAILABLE_RETRY_AFTER_SECONDS) }, cause });
    this.name = "UnavailableError";
  }
}

/** R2 failed (or timed out) during `operation`: 503 "backup storage unavailable". */
export class StorageUnavailableError extends UnavailableError {
  constructor(
    readonly operation: string,
    cause: unknown,
  ) {
    super("backup storage unavailable", cause);
    this.name = "StorageUnavailableError";
  }
}

/** The request body did not match its Content-Length (or broke off): 400, nothing was kept. */
export class BodyLengthError extends ApiError {
  constructor(readonly kind: "short" | "long" | "aborted") {
    super(400, `request body ${kind === "aborted" ? "was interrupted" : `is ${kind}er than its Content-Length`}`);
    this.name = "BodyLengthError";
  }
}

/**
 * The request body stalled or arrived slower than the minimum pace (config.ts, `TIMINGS.body*`):
 * 408, nothing was kept, and the upload's reservation is released at once.
 */
export class BodyTimeoutError extends ApiError {
  constructor() {
    super(408, "request body stalled or arrived too slowly");
    this.name = "BodyTimeoutError";
  }
}

/** The digest the client declared does not match the bytes R2 received: 400, nothing was kept. */
export class ChecksumMismatchError extends ApiError {
  constructor() {
    super(400, "body does not match the declared SHA-256 digest");
    this.name = "ChecksumMismatchError";
  }
}

/** A configuration variable is missing or invalid: logged with its name, answered 500 "service misconfigured". */
export class ConfigError extends ApiError {
  constructor(detail: string) {
    super(500, detail, { publicMessage: "service misconfigured" });
    this.name = "ConfigError";
  }
}
