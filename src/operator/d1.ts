// Every call to the operator database (D1) goes through here: a deadline, and a failure
// turned into a 503 (the operator plane fails closed; it never guesses).

import { TIMINGS } from "../config";
import { UnavailableError } from "../errors";
import { withDeadline } from "../platform/deadline";

/** Runs one D1 call with its deadline; any failure becomes UnavailableError (503, Retry-After). */
export async function d1<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await withDeadline(`D1 ${operation}`, TIMINGS.d1DeadlineMs, call);
  } catch (err) {
    throw new UnavailableError("operator database unavailable", err);
  }
}

/** An opaque page cursor: the last sort key of the page, base64url-encoded. */
export function encodeCursor(lastKey: string | number): string {
  return btoa(String(lastKey)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * The sort key inside a cursor, or null when the cursor is not one of ours: not canonical
 * base64url, or a key that does not match `shape` (so a malformed cursor is 400, never an empty page).
 */
export function decodeCursor(cursor: string, shape: RegExp = /^[\x21-\x7e]{1,300}$/): string | null {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) return null;
  let key: string;
  try {
    key = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    return null;
  }
  return shape.test(key) && encodeCursor(key) === cursor ? key : null;
}
