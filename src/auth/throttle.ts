// Failed-authentication throttling that keeps neighbours behind one address (a customer's NAT, a
// carrier's CGNAT) working. Two counts, each in a `[[ratelimits]]` binding and each consulted
// only after a failure, so successful appliances never spend them:
// - per client address and claimed system key (AUTH_FAILURES, 30 a minute): an appliance with a
//   stale secret is refused for the rest of its minute; the other keys behind its address are not;
// - per client address whatever the keys (AUTH_FAILURES_PER_ADDRESS, 100 a minute): a flood of
//   junk credentials, a new key each time, is refused once it has cost 100 KV reads that minute.
//   One key's failures stop at 30, so they alone never reach it.
// Once a count is over, this isolate remembers the block until its minute ends and answers 429
// before reading KV (a fresh isolate spends one KV read to learn it).

import { log } from "../platform/log";
import { SYSTEM_KEY_PATTERN } from "./secret";

const WINDOW_MS = 60_000;
const MAX_TRACKED = 10_000;

/** The rate-limiting bindings the throttle counts failures in (wrangler.toml `[[ratelimits]]`). */
export interface ThrottleBindings {
  AUTH_FAILURES: RateLimit;
  AUTH_FAILURES_PER_ADDRESS: RateLimit;
}

/** Blocks remembered by this isolate: key → end of the block (ms), oldest evicted first. */
class Blocks {
  private readonly until = new Map<string, number>();

  endOf(key: string, now: number): number {
    const until = this.until.get(key) ?? 0;
    if (until > 0 && until <= now) this.until.delete(key);
    return until;
  }

  block(key: string, until: number): void {
    if (this.until.size >= MAX_TRACKED) this.until.delete(this.until.keys().next().value as string);
    this.until.set(key, until);
  }
}

const blockedKeys = new Blocks();
const blockedAddresses = new Blocks();

/** The system key a failure counts against: the one the credentials claim, or "" when they name none. */
export function claimedKey(user: string | undefined): string {
  return user !== undefined && SYSTEM_KEY_PATTERN.test(user) ? user : "";
}

/** Seconds until this address may try this key again; 0 when neither the key nor the address is blocked. */
export function throttleWait(address: string, key: string, now = Date.now()): number {
  const until = Math.max(blockedKeys.endOf(`${key}@${address}`, now), blockedAddresses.endOf(address, now));
  return until > now ? Math.max(1, Math.ceil((until - now) / 1000)) : 0;
}

/** Counts one failure for the address and key; returns the seconds to wait when a count is now over its limit, else 0. */
export async function recordAuthFailure(bindings: ThrottleBindings, address: string, key: string, now = Date.now()): Promise<number> {
  const [keyAllowed, addressAllowed] = await Promise.all([
    allowed(bindings.AUTH_FAILURES, `auth-failure:${key}@${address}`),
    allowed(bindings.AUTH_FAILURES_PER_ADDRESS, `auth-failure:${address}`),
  ]);
  if (!keyAllowed) blockedKeys.block(`${key}@${address}`, now + WINDOW_MS);
  if (!addressAllowed) blockedAddresses.block(address, now + WINDOW_MS);
  return throttleWait(address, key, now);
}

async function allowed(limiter: RateLimit, key: string): Promise<boolean> {
  try {
    return (await limiter.limit({ key })).success;
  } catch (err) {
    // The throttle is a defence in depth: if it is unavailable the 401 still stands.
    log.error("auth throttle unavailable", { error: err });
    return true;
  }
}
