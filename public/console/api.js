// The operator API as the console calls it: bearer token from the tab's session, the
// {code, message, data} envelope unwrapped, and every failure turned into plain words.

import { currentToken } from "./session.js";

/** How long the console waits for any answer before it gives up and offers Retry. */
export const REQUEST_TIMEOUT_MS = 15_000;

/** A failed call: `status` is the HTTP status (0 when the vault could not be reached or did not answer in time). */
export class ApiProblem extends Error {
  constructor(status, message, detail = "") {
    super(message);
    this.status = status;
    this.detail = detail;
  }

  /** Whether trying the same call again may work (no answer, too many requests, storage unavailable). */
  get retryable() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

/**
 * Calls the operator API and returns the envelope's `data`.
 * @example const { systems } = await call("GET", `/api/admin/organizations/${org}/systems`, { query: { limit: 100 } })
 */
export async function call(method, path, { query, body } = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query ?? {})) if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
  const headers = { Accept: "application/json", Authorization: `Bearer ${currentToken()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  // One deadline for the whole exchange, answer and body: a hung vault never leaves "Loading…" for ever.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), REQUEST_TIMEOUT_MS);
  let response;
  let envelope = null;
  try {
    try {
      response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store", credentials: "same-origin", redirect: "error", signal: deadline.signal });
    } catch {
      throw deadline.signal.aborted ? timedOut() : new ApiProblem(0, "The vault could not be reached. Check the connection; behind Cloudflare Access, reload the page to sign in to Access again.");
    }
    try {
      envelope = await response.json();
    } catch {
      if (deadline.signal.aborted) throw timedOut();
      envelope = null;
    }
  } finally {
    clearTimeout(timer);
  }
  if (response.ok && envelope && typeof envelope === "object") return envelope.data;
  const message = envelope && typeof envelope.message === "string" ? envelope.message : "";
  throw new ApiProblem(response.status, plainWords(response.status, message, response.headers.get("Retry-After"), envelope !== null), message);
}

function timedOut() {
  return new ApiProblem(0, `The vault did not answer within ${REQUEST_TIMEOUT_MS / 1000} seconds. It may be overloaded or unreachable; try again.`, "timeout");
}

/** Every item of a paginated list (`data[key]`, `data.cursor`), up to `maxPages` pages; `complete` says whether all came. */
export async function callAllPages(path, key, { limit = 1000, maxPages = 20 } = {}) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < maxPages; page++) {
    const data = await call("GET", path, { query: { limit, cursor } });
    items.push(...(data[key] ?? []));
    cursor = data.cursor ?? null;
    if (!cursor) return { items, complete: true };
  }
  return { items, complete: false };
}

/** What a status means to the person at the keyboard; the vault's own message is kept as detail. */
export function plainWords(status, message, retryAfter, isEnvelope = true) {
  const wait = retryAfter && /^\d+$/.test(retryAfter) ? ` Try again in ${retryAfter} seconds.` : " Try again in a moment.";
  if (!isEnvelope && status !== 0) return `The vault answered with something other than the API (HTTP ${status}). Behind Cloudflare Access, reload the page to sign in again.`;
  switch (status) {
    case 400: return `The vault refused the request as malformed${message ? `: ${message}` : ""}.`;
    case 401: return "The token was not accepted: it is wrong, expired or revoked. Sign in again.";
    case 403: return "Your token's role does not allow this action.";
    case 404: return "Not found, or outside the organisations your token may see.";
    case 409: return `That conflicts with the current state${message ? `: ${message}` : ""}.`;
    case 410: return "That link has expired; make a new one.";
    case 413: return `Too large${message ? `: ${message}` : ""}.`;
    case 429: return `Too many requests.${wait}`;
    case 503: return `Storage is unavailable for a moment.${wait}`;
    default:
      if (status >= 500) return "The vault failed to answer this request. Try again; if it keeps failing, the operators should look at the worker's logs.";
      return `The vault refused this (HTTP ${status})${message ? `: ${message}` : ""}.`;
  }
}
