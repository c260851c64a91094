// The one structured logger: one JSON line per event, readable in Workers Logs and `wrangler
// tail`. It needs no request context; callers pass the fields that matter (never headers,
// which carry credentials, and never secrets).

type Level = "error" | "warn" | "info";
export type LogFields = Record<string, unknown>;

function write(level: Level, event: string, fields: LogFields): void {
  const line: LogFields = { level, event };
  for (const [name, value] of Object.entries(fields)) line[name] = value instanceof Error ? describeError(value) : value;
  const text = JSON.stringify(line);
  if (level === "error") console.error(text);
  else if (level === "warn") console.warn(text);
  else console.log(text);
}

/** An error as a log field: its name, message and stack, and its cause's message when it has one. */
export function describeError(err: unknown): LogFields {
  if (!(err instanceof Error)) return { message: String(err) };
  const cause = (err as { cause?: unknown }).cause;
  return { name: err.name, message: err.message, stack: err.stack, ...(cause !== undefined ? { cause: String(cause instanceof Error ? cause.message : cause) } : {}) };
}

/**
 * Logs one structured line.
 * @example log.error("removal of an unrecorded blob failed", { key, error: err })
 */
export const log = {
  error: (event: string, fields: LogFields = {}) => write("error", event, fields),
  warn: (event: string, fields: LogFields = {}) => write("warn", event, fields),
  info: (event: string, fields: LogFields = {}) => write("info", event, fields),
};
