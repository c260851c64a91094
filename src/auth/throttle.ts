// Failed-authentication throttling per client address.
// The count lives in the `[[ratelimits]]` binding (30 failures per 60 s, per location), which
// is only consulted after a failure, so successful appliances behind a shared address never
// spend it. Once an address is over the limit, this isolate remembers it until the window
// ends and answers 429 before parsing credentials or reading KV.

import { log } from "../platform/log";

const WINDOW_MS = 60_000;
const MAX_TRACKED = 10_000;
const blockedUntil = new Map<string, number>();

/** True while this address is blocked after a burst of failures. */
export function isThrottled(address: string, now = Date.now()): boolean {
  const until = blockedUntil.get(address);
  if (until === undefined) return false;
  if (until > now) return true;
  blockedUntil.delete(address);
  return false;
}

/** Seconds until a blocked address may try again (at least 1). */
export function throttleSecondsLeft(address: string, now = Date.now()): number {
  return Math.max(1, Math.ceil(((blockedUntil.get(address) ?? now) - now) / 1000));
}

/** Counts one failure; returns true when the address is now over its limit (and blocks it here). */
export async function recordAuthFailure(limiter: RateLimit, address: string, now = Date.now()): Promise<boolean> {
  let allowed = true;
  try {
    ({ success: allowed } = await limiter.limit({ key: `auth-failure:${address}` }));
  } catch (err) {
    // The throttle is a defence in depth: if it is unavailable the 401 still stands.
    log.error("auth throttle unavailable", { error: err });
  }
  if (allowed) return false;
  if (blockedUntil.size >= MAX_TRACKED) blockedUntil.delete(blockedUntil.keys().next().value as string);
  blockedUntil.set(address, now + WINDOW_MS);
  return true;
}
