// Time formatting. No imports: the Node CLI loads this file directly.

/** A time in RFC 3339 UTC with second precision, as the published API examples show it. */
export function rfc3339(date: Date | number = Date.now()): string {
  return new Date(date).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * The time of an RFC 3339 date-time (§5.6: `T`, an optional fraction, `Z` or a numeric offset) in
 * milliseconds, or null for any other text or an impossible date (§5.7: February 30, hour 24).
 * A leap second (`:60`) reads as `:59`. A space before the offset is read as `+`, the way a `+`
 * left unencoded in a query string arrives.
 */
export function parseRfc3339(text: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:([Zz])|([+ -])(\d{2}):(\d{2}))$/.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeapYear(year) ? 1 : 0);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 60) return null;
  const offset = m[8] ? "Z" : `${m[9] === "-" ? "-" : "+"}${m[10]}:${m[11]}`;
  if (!m[8] && (Number(m[10]) > 23 || Number(m[11]) > 59)) return null;
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${String(Math.min(second, 59)).padStart(2, "0")}${(m[7] ?? "").slice(0, 4)}${offset}`);
  return Number.isNaN(ms) ? null : ms;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}
