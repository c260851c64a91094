// The load generator: HTTP/1.1 over keep-alive loopback connections, request bodies generated
// chunk by chunk (never held whole in memory), every request bounded in time.
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import { Readable } from "node:stream";

export const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
// Incompressible bytes, reused chunk after chunk; each body starts with its own salt.
const POOL = randomBytes(MiB);

/** A client of one base URL with a keep-alive pool of at most `sockets` connections. */
export function httpClient(baseUrl, { sockets = 8, timeoutMs = 120_000 } = {}) {
  const base = new URL(baseUrl);
  if (base.hostname !== "127.0.0.1") throw new Error(`load runs on loopback only, not ${base.hostname}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });

  /**
   * Sends one request. `body` is a string, a Buffer or a `bodyOf()` descriptor (streamed with
   * its Content-Length). Resolves with status, headers, elapsed ms, bytes received and, when
   * `keep` is set, the body as text.
   */
  function request(method, path, { headers = {}, body, keep = false } = {}) {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const h = { ...headers };
      let stream = null;
      if (typeof body === "string" || Buffer.isBuffer(body)) h["Content-Length"] = String(Buffer.byteLength(body));
      else if (body) {
        h["Content-Length"] = String(body.length);
        stream = body.stream();
      }
      const req = http.request({ host: base.hostname, port: base.port, method, path, headers: h, agent }, (res) => {
        const parts = [];
        let bytes = 0;
        res.on("data", (chunk) => {
          bytes += chunk.length;
          if (keep) parts.push(chunk);
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode,
            headers: res.headers,
            ms: performance.now() - started,
            bytes,
            text: keep ? Buffer.concat(parts).toString("utf8") : undefined,
          }),
        );
        res.on("error", reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path} took longer than ${timeoutMs / 1000} s`)));
      req.on("error", reject);
      if (stream) {
        stream.on("error", (err) => req.destroy(err));
        stream.pipe(req);
      } else req.end(body);
    });
  }

  return { request, close: () => agent.destroy() };
}

/** A body of `length` incompressible bytes, distinct per `salt`, that can be streamed (and hashed) any number of times. */
export function bodyOf(length, salt) {
  function* chunks() {
    const head = Buffer.from(POOL.subarray(0, Math.min(CHUNK, length)));
    head.write(`${salt}:`.padEnd(Math.min(32, head.length), "#").slice(0, head.length), 0, "latin1");
    yield head;
    for (let sent = head.length; sent < length; ) {
      const offset = sent % MiB;
      const n = Math.min(CHUNK, length - sent, MiB - offset);
      yield POOL.subarray(offset, offset + n);
      sent += n;
    }
  }
  return {
    length,
    stream: () => Readable.from(chunks(), { objectMode: false }),
    /** Hex SHA-256 of the body, computed by generating it once more. */
    sha256() {
      const hash = createHash("sha256");
      for (const chunk of chunks()) hash.update(chunk);
      return hash.digest("hex");
    },
  };
}

/**
 * Runs `send()` from `concurrency` loops until `durationMs` has passed or `maxRequests` were
 * sent; every answer must satisfy `ok`. Returns requests per second.
 */
export async function throughput(send, { concurrency, durationMs, maxRequests, ok = (r) => r.status === 200 }) {
  let sent = 0;
  let done = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent < maxRequests && performance.now() < deadline) {
        sent++;
        const response = await send();
        if (!ok(response)) throw new Error(`unexpected answer ${response.status} during a throughput round`);
        done++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { rps: done / seconds, requests: done, seconds };
}
