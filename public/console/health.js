// What a system's state means, in words: a badge for its status ("retired", not "deleted") and one
// for its health that says why ("silent 33 days", "never backed up", "last upload refused: quota").
// The vault's own `health` decides retired, suspended, refused and never; silence is judged here from
// last_backup_at and last_seen_at against the console's threshold, the same one that marks the
// row's newest backup with ⚠, so that one row never says two things.

import { el } from "./elements.js";
import { ageMs, daysMs } from "./quantities.js";

const DAY_MS = 86_400_000;

/** How a status reads: the API's `deleted` is a retired system (its key is never reused). */
export function statusText(status) {
  return status === "deleted" ? "retired" : String(status ?? "–");
}

/** The status badge. */
export function statusBadge(status) {
  return el("span", { class: `badge ${status}` }, statusText(status));
}

/** Milliseconds since the system was last heard of: its newest backup or its last call, whichever is later. */
export function silenceMs(system, now = Date.now()) {
  return Math.min(ageMs(system.last_backup_at, now), ageMs(system.last_seen_at, now));
}

/** Days as words: "1 day", "33 days". */
function daysText(ms) {
  const days = Math.floor(ms / DAY_MS);
  return days === 1 ? "1 day" : `${days} days`;
}

/**
 * The health of an active system as `{state, text}`: `refused`, `never`, `stale` or `ok`, with why.
 * @example healthOf({ status: "active", last_backup_at: "2026-01-01T00:00:00Z" }, 7).text // "silent 33 days"
 */
export function healthOf(system, staleAfterDays, now = Date.now()) {
  const refusedSince = system.last_refused_at && (!system.last_backup_at || Date.parse(system.last_refused_at) > Date.parse(system.last_backup_at));
  const told = ["retired", "suspended", "refused", "never"].includes(system.health) ? system.health : null;
  const state = told ?? (
    system.status === "deleted" ? "retired"
    : system.status === "suspended" ? "suspended"
    : !system.health && refusedSince ? "refused"
    : !system.health && !system.last_backup_at && ageMs(system.registered_at, now) > DAY_MS ? "never"
    : silenceMs(system, now) > daysMs(staleAfterDays) ? "stale"
    : "ok");
  const silence = silenceMs(system, now);
  switch (state) {
    case "refused": return { state, text: `last upload refused${system.last_refused_reason ? `: ${system.last_refused_reason}` : ""}` };
    case "never": return { state, text: system.last_seen_at ? `never backed up (seen ${daysText(ageMs(system.last_seen_at, now))} ago)` : "never backed up" };
    case "stale": return { state, text: silence === Infinity ? "no backup yet" : `silent ${daysText(silence)}` };
    default: return { state, text: state };
  }
}

/** The health badge of a system, or null when there is nothing to say beyond its status. */
export function healthBadge(system, staleAfterDays, now = Date.now()) {
  const { state, text } = healthOf(system, staleAfterDays, now);
  if (state === "ok" || state === "retired" || state === "suspended") return null;
  return el("span", { class: `badge health ${state}` }, text);
}
