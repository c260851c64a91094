import type { Handler } from "hono";
import { envelope } from "./envelope";

/** A known path asked with a method it does not serve: 405 with `Allow`. */
export function methodNotAllowed(allow: string): Handler {
  return () => envelope(405, "method not allowed", null, { Allow: allow });
}
