// How sizes, times and ages read in the console.

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
const DAY_MS = 86_400_000;

/** A byte count in binary units: "0 B", "812 B", "4.2 MiB". */
export function bytesText(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return "–";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** The exact byte count with thousands separators, for titles and screen readers. */
export function exactBytes(bytes) {
  return `${Number(bytes).toLocaleString("en")} bytes`;
}

/** A UTC timestamp as "2026-04-12 02:15 UTC" (operators across time zones read the same thing). */
export function timeText(iso, { seconds = false } = {}) {
  if (!iso) return "–";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return `${date.toISOString().slice(0, seconds ? 19 : 16).replace("T", " ")} UTC`;
}

/** Milliseconds since `iso` (Infinity when there is none). */
export function ageMs(iso, now = Date.now()) {
  if (!iso) return Infinity;
  const at = Date.parse(iso);
  return Number.isNaN(at) ? Infinity : Math.max(0, now - at);
}

/** An age as "5 min", "3 h", "4 d"; "never" for none. */
export function ageText(ms) {
  if (ms === Infinity) return "never";
  if (ms < 3_600_000) return `${Math.max(1, Math.round(ms / 60_000))} min`;
  if (ms < DAY_MS) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.floor(ms / DAY_MS)} d`;
}

/** Days as milliseconds. */
export function daysMs(days) {
  return days * DAY_MS;
}

/** A percentage with one decimal below 10 %, whole above. */
export function percentText(part, whole) {
  if (!whole) return "";
  const p = (100 * part) / whole;
  return `${p < 10 ? p.toFixed(1) : Math.round(p)} %`;
}
