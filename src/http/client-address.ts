/** Longest address kept: an IPv6 address takes at most 45 characters; anything longer is cut, so it cannot bloat what is stored. */
const MAX_ADDRESS_LENGTH = 64;

/** The client address as the edge saw it (`CF-Connecting-IP`; never X-Forwarded-For, which the client controls). */
export function clientAddress(request: Request): string {
  return (request.headers.get("CF-Connecting-IP") ?? "unknown").slice(0, MAX_ADDRESS_LENGTH);
}
