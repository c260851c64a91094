// Parsing of the upload and download request headers the API honours.

import { base64ToHex } from "../platform/codec";

/** A single byte range as R2 takes it, or a suffix. */
export type ByteRange = { offset: number; length?: number } | { suffix: number };

/**
 * Parses a `Range` header. Returns undefined when there is none or it is to be ignored
 * (another unit, several ranges, bad syntax: RFC 9110 lets a server serve the whole object),
 * "unsatisfiable" for `bytes=-0`, else the range.
 */
export function parseRange(header: string | null): ByteRange | "unsatisfiable" | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  const [first, last] = [m[1], m[2]];
  if (first === "") {
    const suffix = toNumber(last);
    return suffix === 0 ? "unsatisfiable" : { suffix };
  }
  const offset = toNumber(first);
  if (last === "") return { offset };
  const end = toNumber(last);
  if (end < offset) return undefined;
  return { offset, length: Math.min(end - offset + 1, Number.MAX_SAFE_INTEGER - offset) };
}

// Digit strings beyond 2^53 saturate: such an offset is past any object (416), a length is "to the end".
function toNumber(digits: string): number {
  return digits.length > 15 ? Number.MAX_SAFE_INTEGER : Number(digits);
}

/** True when an `If-None-Match` header matches the object's entity tag (weak comparison, or `*`). */
export function etagMatches(ifNoneMatch: string | null, httpEtag: string): boolean {
  if (!ifNoneMatch) return false;
  const wanted = httpEtag.replace(/^W\//, "");
  return ifNoneMatch.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t.replace(/^W\//, "") === wanted;
  });
}

/** The client's declared SHA-256 (hex) from `Content-Digest: sha-256=:b64:` or `X-Checksum-SHA256`; null if none, "invalid" if malformed. */
export function parseClientDigest(headers: Headers): string | null | "invalid" {
  const contentDigest = headers.get("Content-Digest");
  const checksum = headers.get("X-Checksum-SHA256");
  let fromDigest: string | null = null;
  if (contentDigest) {
    const m = /(?:^|,)\s*sha-256=:([A-Za-z0-9+/]{43}=):\s*(?:,|$)/i.exec(contentDigest);
    if (!m) return "invalid";
    fromDigest = base64ToHex(m[1]);
    if (fromDigest === null) return "invalid";
  }
  let fromChecksum: string | null = null;
  if (checksum) {
    if (!/^[0-9a-fA-F]{64}$/.test(checksum.trim())) return "invalid";
    fromChecksum = checksum.trim().toLowerCase();
  }
  if (fromDigest && fromChecksum && fromDigest !== fromChecksum) return "invalid";
  return fromDigest ?? fromChecksum;
}

/** A strictly decimal Content-Length; null when absent, "invalid" when malformed. */
export function parseContentLength(header: string | null): number | null | "invalid" {
  if (header === null) return null;
  const text = header.trim();
  if (!/^\d{1,16}$/.test(text)) return "invalid";
  return Number(text);
}
