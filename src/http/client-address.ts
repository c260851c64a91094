/** The client address as the edge saw it (`CF-Connecting-IP`; never X-Forwarded-For, which the client controls). */
export function clientAddress(request: Request): string {
  return request.headers.get("CF-Connecting-IP") ?? "unknown";
}
