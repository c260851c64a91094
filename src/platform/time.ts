// Time formatting. No imports: the Node CLI loads this file directly.

/** A time in RFC 3339 UTC with second precision, as the published API examples show it. */
export function rfc3339(date: Date | number = Date.now()): string {
  return new Date(date).toISOString().replace(/\.\d{3}Z$/, "Z");
}
