// Loopback networking for the tooling: free ports, and waiting for a server to answer.
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** A TCP port that was free on 127.0.0.1 a moment ago (asked of the kernel, then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Resolves once `url` answers HTTP (any status), polling every 250 ms, and `ready()` holds (the
 * server printed that it listens: a port freePort() handed out may meanwhile be taken by another
 * process, whose answer must not count). Rejects when `exited` (a promise that settles when the
 * server's process ends) settles first, or after `timeoutMs`; `describe()` adds what the server
 * printed to the error.
 * @param {string} url
 * @param {{ timeoutMs?: number, exited?: Promise<unknown>, describe?: () => string, ready?: () => boolean }} [options]
 */
export async function waitUntilServing(url, { timeoutMs = 90_000, exited = new Promise(() => {}), describe = () => "", ready = () => true } = {}) {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  let status;
  exited.then((s) => {
    gone = true;
    status = s;
  });
  for (;;) {
    if (gone) throw new Error(`the server exited before it answered (${JSON.stringify(status)})${tail(describe())}`);
    try {
      if (ready()) {
        const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        await response.arrayBuffer();
        return;
      }
    } catch {
      // not answering yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs / 1000} s${tail(describe())}`);
    await sleep(250);
  }
}

const tail = (output) => (output ? `:\n${output.slice(-2000)}` : "");
