// Delegated legacy credentials: the vault asks LEGACY_AUTH_URL (the existing portal's auth
// endpoint) with the client's own Basic header and treats a 2xx as valid. Answers are kept in
// this isolate as salted hashes of the secret (never the secret): a positive one for
// LEGACY_AUTH_CACHE_SECONDS, a negative one for less. A delegate that is down, slow (deadline) or
// failing (5xx, 429) is a 503: never a guess, never cached.

import { TIMINGS, type LegacyAuthConfig } from "../config";
import { UnavailableError } from "../errors";
import { bytesToHex, hexToBytes } from "../platform/codec";
import { withDeadline } from "../platform/deadline";
import { digestsEqual, hashSecretPart } from "./secret";

/** What the delegate needs from the outside world: an HTTP client (the global `fetch` in production). */
export type Fetcher = (request: Request) => Promise<Response>;

interface CachedAnswer {
  salt: string;
  digest: string;
  valid: boolean;
  expiresAt: number;
}

const MAX_CACHED = 10_000;
const answers = new Map<string, CachedAnswer>();

/**
 * True when the delegate vouches for `secret` of `legacyId` (asked with `authorization`, the
 * client's own header), false when it refuses; UnavailableError (503) when it cannot say.
 * @example await askDelegate(config, "sys-1", "s3cret", request.headers.get("Authorization")!)
 */
export async function askDelegate(
  config: LegacyAuthConfig & { delegateUrl: string },
  legacyId: string,
  secret: string,
  authorization: string,
  fetcher: Fetcher = (r) => fetch(r),
  now: number = Date.now(),
): Promise<boolean> {
  const cacheKey = `${config.delegateUrl}\n${legacyId}`;
  const cached = answers.get(cacheKey);
  if (cached && cached.expiresAt > now && digestsEqual(hexToBytes(await hashSecretPart(secret, cached.salt)), hexToBytes(cached.digest))) return cached.valid;
  const valid = await callDelegate(config.delegateUrl, authorization, fetcher);
  const seconds = valid ? config.positiveSeconds : config.negativeSeconds;
  if (seconds > 0) {
    const salt = bytesToHex(crypto.getRandomValues(new Uint8Array(16)));
    if (answers.size >= MAX_CACHED && !answers.has(cacheKey)) answers.delete(answers.keys().next().value as string);
    answers.set(cacheKey, { salt, digest: await hashSecretPart(secret, salt), valid, expiresAt: now + seconds * 1000 });
  } else {
    answers.delete(cacheKey);
  }
  return valid;
}

async function callDelegate(url: string, authorization: string, fetcher: Fetcher): Promise<boolean> {
  let response: Response;
  try {
    response = await withDeadline("legacy auth delegate", TIMINGS.legacyDelegateDeadlineMs, () =>
      fetcher(new Request(url, { method: "GET", headers: { Authorization: authorization, Accept: "application/json" }, redirect: "manual" })),
    );
  } catch (err) {
    throw new UnavailableError("authentication service unavailable", err);
  }
  await response.body?.cancel().catch(() => {});
  if (response.status >= 200 && response.status < 300) return true;
  if (response.status >= 500 || response.status === 429)
    throw new UnavailableError("authentication service unavailable", new Error(`the delegate answered ${response.status}`));
  return false;
}
