/** Credentials from an HTTP Basic header. */
export interface BasicCredentials {
  user: string;
  password: string;
}

// Longest header we decode: a system key (≤128) and a secret (≤ ~650) in base64 fit easily.
const MAX_HEADER_LENGTH = 2048;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Parses `Authorization: Basic <base64(user:password)>`; null for anything else
 * (missing, another scheme, bad base64, bad UTF-8, no colon, empty user or password, too long).
 */
export function parseBasicAuth(header: string | null | undefined): BasicCredentials | null {
  if (!header || header.length > MAX_HEADER_LENGTH) return null;
  const match = /^basic +(\S+) *$/i.exec(header);
  if (!match) return null;
  const token = match[1];
  if (token.length % 4 !== 0 || !BASE64.test(token)) return null;
  let decoded: string;
  try {
    const binary = atob(token);
    const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
    decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  if (colon <= 0 || colon === decoded.length - 1) return null;
  // Control characters never belong in a key or a secret.
  if (/[\x00-\x1f\x7f]/.test(decoded)) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
