// The benchmark's runtime side: the bench worker served by workerd through wrangler's own dev
// API, in this process (so that requests go straight to the runtime, not through wrangler's dev
// proxy). What the bundle and the console weigh is the harness's (scripts/harness/bundle-weights.mjs).
import { join } from "node:path";
import { descendantListeningOn } from "../scripts/harness/processes.mjs";
import { REPO_ROOT, WRANGLER_QUIET } from "../scripts/harness/wrangler.mjs";

// The dev API runs inside this process: the same quiet, offline environment as every wrangler we spawn.
Object.assign(process.env, WRANGLER_QUIET);

/**
 * Serves bench/worker.ts with the bindings of the real wrangler.toml on workerd, loopback
 * only, state in `persistTo`, file watching off (others may edit src/ meanwhile: the bench
 * runs the code as it was at start). Returns the user worker's own URL (requests go straight
 * to the runtime that runs the worker, not through wrangler's dev proxy), its workerd pid and
 * `stop()`.
 */
export async function startBenchWorker({ persistTo, vars, entrypoint = join(REPO_ROOT, "bench", "worker.ts"), timeoutMs = 90_000 }) {
  const { unstable_DevEnv: DevEnv } = await import(join(REPO_ROOT, "node_modules", "wrangler", "wrangler-dist", "cli.js"));
  const devEnv = new DevEnv();
  let userWorkerUrl = null;
  const reloaded = new Promise((resolve) => {
    devEnv.on("reloadComplete", (event) => {
      const { protocol, hostname, port } = event.proxyData.userWorkerUrl;
      userWorkerUrl = `${protocol}//${hostname}:${port}`;
      resolve();
    });
  });
  const bindings = Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, { type: "plain_text", value: String(value) }]));
  let worker;
  const stop = async () => {
    await Promise.race([worker?.dispose(), new Promise((r) => setTimeout(r, 15_000))]).catch(() => {});
  };
  try {
    worker = await withTimeout(
      devEnv.startWorker({
        config: join(REPO_ROOT, "wrangler.toml"),
        entrypoint,
        bindings,
        dev: { watch: false, inspector: false, persist: persistTo, server: { hostname: "127.0.0.1", port: 0 }, logLevel: "warn" },
      }),
      timeoutMs,
      "starting the bench worker",
    );
    await withTimeout(Promise.all([worker.ready, reloaded]), timeoutMs, "waiting for the bench worker");
    const proxyUrl = String(await worker.url).replace(/\/$/, "");
    const pid = await descendantListeningOn(process.pid, "workerd", new URL(userWorkerUrl).port);
    return { url: userWorkerUrl, proxyUrl, pid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms))),
  ]);
}
