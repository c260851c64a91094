// The operator API (/api/admin) as the CLI calls it over HTTP with an operator token, so that
// day-to-day operations need no Cloudflare account.
import { SystemError } from "./systems.mjs";

/** A client for the worker at `url` (its origin), authenticated with an operator token. */
export function operatorClient(url, token) {
  let origin;
  try {
    origin = new URL(url).origin;
  } catch {
    throw new SystemError(`not a URL: ${JSON.stringify(url)}`);
  }
  /** One call; returns the envelope's `data`, or throws SystemError with the API's message. */
  async function call(method, path, body) {
    let response;
    try {
      response = await fetch(`${origin}/api/admin${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: "manual",
      });
    } catch (error) {
      throw new SystemError(`cannot reach ${origin}: ${error.cause?.code ?? error.message}`);
    }
    let envelope;
    try {
      envelope = await response.json();
    } catch {
      throw new SystemError(`${method} ${path}: HTTP ${response.status} without the API's JSON answer (is ${origin} the vault?)`);
    }
    if (!response.ok) throw new SystemError(`${envelope?.message ?? "refused"} (HTTP ${response.status})`);
    return envelope.data;
  }
  /** Every item of a paginated list, following `data.cursor`. */
  async function all(path, field) {
    const items = [];
    let cursor = null;
    do {
      const separator = path.includes("?") ? "&" : "?";
      const data = await call("GET", `${path}${separator}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      items.push(...data[field]);
      cursor = data.cursor;
    } while (cursor);
    return items;
  }
  return { origin, call, all };
}
