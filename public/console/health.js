// What a system's state means, in words: a badge for its status ("retired", not "deleted") and one
// for its health that says why ("silent 33 days", "never backed up", "last upload refused: quota").
// The vault decides the health (`health` on every system it shows, judged against the
// organisation's own stale_after_days setting); the console only puts it in words, so every
// operator, whatever their browser or role, sees the same state as the alerts and the fleet's health.

import { el } from "./elements.js";
import { ageMs } from "./quantities.js";

const DAY_MS = 86_400_000;
const STATES = ["ok", "stale", "never", "refused", "suspended", "retired"];

/** How a status reads: the API's `deleted` is a retired system (its key is never reused). */
export function statusText(status) {
  return status === "deleted" ? "retired" : String(status ?? "–");
}

/** The status badge. */
export function statusBadge(status) {
  return el("span", { class: `badge ${status}` }, statusText(status));
}

/** Milliseconds since the system last gave a sign of life: its newest backup, its last call or its registration, whichever is latest. */
export function silenceMs(system, now = Date.now()) {
  return Math.min(ageMs(system.last_backup_at, now), ageMs(system.last_seen_at, now), ageMs(system.registered_at, now));
}

/** Days as words: "1 day", "33 days". */
function daysText(ms) {
  const days = Math.floor(ms / DAY_MS);
  return days === 1 ? "1 day" : `${days} days`;
}

/** The vault's health of a system; a system shown without one (an older vault) reads from its status only. */
export function healthState(system) {
  if (STATES.includes(system.health)) return system.health;
  return system.status === "deleted" ? "retired" : system.status === "suspended" ? "suspended" : "ok";
}

/** Whether the vault counts the system among those needing attention (refused, never backed up, silent). */
export function needsAttention(system) {
  return ["refused", "never", "stale"].includes(healthState(system));
}

/**
 * The health of a system as `{state, text}`, the state as the vault judged it, the text saying why.
 * @example healthOf({ health: "stale", last_backup_at: "2026-01-01T00:00:00Z" }, Date.parse("2026-02-03")).text // "silent 33 days"
 */
export function healthOf(system, now = Date.now()) {
  const state = healthState(system);
  switch (state) {
    case "refused": return { state, text: `last upload refused${system.last_refused_reason ? `: ${system.last_refused_reason}` : ""}` };
    case "never": return { state, text: system.last_seen_at ? `never backed up (seen ${daysText(ageMs(system.last_seen_at, now))} ago)` : "never backed up" };
    case "stale": {
      const silence = silenceMs(system, now);
      return { state, text: silence === Infinity ? "silent" : `silent ${daysText(silence)}` };
    }
    default: return { state, text: state };
  }
}

/** The health badge of a system, or null when there is nothing to say beyond its status. */
export function healthBadge(system, now = Date.now()) {
  const { state, text } = healthOf(system, now);
  if (state === "ok" || state === "retired" || state === "suspended") return null;
  return el("span", { class: `badge health ${state}` }, text);
}
