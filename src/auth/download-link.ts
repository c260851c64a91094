// Signed download links: `/api/downloads/{token}`, where the token carries the backup's
// organisation, system, id and expiry, and an HMAC-SHA-256 of them under the worker secret
// DOWNLOAD_LINK_SECRET. Pure (Web Crypto only): the clock and the secret are parameters.

import { base64Url } from "../platform/codec";

/** What a link grants: one backup object, until a time. */
export interface DownloadClaims {
  organizationId: string;
  systemKey: string;
  backupId: string;
  /** Expiry, seconds since the epoch. */
  expiresAt: number;
  /** The system's change count when the link was made: any change (suspend, rotate, retire, purge, move) ends the link. */
  generation?: number;
}

export type LinkVerdict = { ok: true; claims: DownloadClaims } | { ok: false; reason: "invalid" | "expired" };

/** Default and longest lifetime of a link, in seconds (docs/api/operator.md). */
export const LINK_TTL_DEFAULT_SECONDS = 300;
export const LINK_TTL_MAX_SECONDS = 900;

const VERSION = "v2";
/** Longer than any token this module makes; anything longer is refused before any crypto. */
const MAX_TOKEN_LENGTH = 600;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/;

const keys = new Map<string, Promise<CryptoKey>>();

/** Signs a link token for the claims. */
export async function signDownloadLink(secret: string, claims: DownloadClaims): Promise<string> {
  const payload = [VERSION, claims.expiresAt, claims.organizationId, claims.systemKey, claims.backupId, claims.generation ?? 0].join("|");
  const bytes = new TextEncoder().encode(payload);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await keyFor(secret), bytes));
  return `${base64Url(bytes)}.${base64Url(mac)}`;
}

/**
 * Checks a link token: "invalid" for anything not signed by this secret (tampered, truncated,
 * signed with a former secret), "expired" for a genuine link past its expiry at `nowSeconds`.
 * The signature is checked first, so an expired answer is only given for a genuine link.
 */
export async function verifyDownloadLink(secret: string, token: string, nowSeconds: number): Promise<LinkVerdict> {
  if (token.length > MAX_TOKEN_LENGTH || !TOKEN_PATTERN.test(token)) return { ok: false, reason: "invalid" };
  const [payloadPart, macPart] = token.split(".");
  const payload = base64UrlDecode(payloadPart);
  const mac = base64UrlDecode(macPart);
  // Only the canonical spelling: base64url's last character has spare bits, and a changed link must never pass.
  if (!payload || !mac || base64Url(payload) !== payloadPart || base64Url(mac) !== macPart) return { ok: false, reason: "invalid" };
  // crypto.subtle.verify compares the MAC in constant time.
  if (!(await crypto.subtle.verify("HMAC", await keyFor(secret), mac, payload))) return { ok: false, reason: "invalid" };
  const fields = new TextDecoder().decode(payload).split("|");
  const [version, expiry, organizationId, systemKey, backupId, generation] = fields;
  if (fields.length !== 6 || version !== VERSION || !/^\d{1,12}$/.test(expiry) || !/^\d{1,15}$/.test(generation)) return { ok: false, reason: "invalid" };
  const expiresAt = Number(expiry);
  // No link is ever made for longer than the longest lifetime: one that claims more is forged (or signed by a leaked secret).
  if (expiresAt > nowSeconds + LINK_TTL_MAX_SECONDS) return { ok: false, reason: "invalid" };
  if (expiresAt <= nowSeconds) return { ok: false, reason: "expired" };
  return { ok: true, claims: { organizationId, systemKey, backupId, expiresAt, generation: Number(generation) } };
}

/** The lifetime asked for with `?ttl=`: the default when absent, null when not an integer in 1..900. */
export function parseLinkTtl(raw: string | undefined): number | null {
  if (raw === undefined) return LINK_TTL_DEFAULT_SECONDS;
  if (!/^\d{1,4}$/.test(raw)) return null;
  const ttl = Number(raw);
  return ttl >= 1 && ttl <= LINK_TTL_MAX_SECONDS ? ttl : null;
}

function keyFor(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    if (keys.size > 4) keys.clear(); // a rotated secret replaces the old one; never grows
    keys.set(secret, key);
  }
  return key;
}

function base64UrlDecode(text: string): Uint8Array | null {
  try {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}
