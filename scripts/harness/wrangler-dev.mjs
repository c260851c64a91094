// `wrangler dev` as a server the tooling starts and stops: loopback only, its output kept.
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, waitUntilServing } from "./loopback.mjs";
import { spawnWrangler } from "./wrangler.mjs";

/** Output kept for scanning, at most this much (a soak's info log grows with every request). */
const MAX_KEPT_OUTPUT = 256 * 1024 * 1024;

/**
 * Starts `wrangler dev` on 127.0.0.1 with state in `persistTo`, `vars` as `--var NAME:VALUE`, and
 * (when `inspector` is set) its inspector on a free loopback port; resolves once it answers HTTP.
 * Returns `{ base, inspectorPort, pid, log(), stop() }`: `pid` is wrangler's, `log()` all it printed.
 */
export async function startWranglerDev({ persistTo, vars = {}, inspector = false, logLevel = "info", readyTimeoutMs = 90_000 }) {
  const port = await freePort();
  const inspectorPort = inspector ? await freePort() : null;
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persistTo, "--show-interactive-dev-session=false", "--log-level", logLevel];
  if (inspector) args.push("--inspector-ip", "127.0.0.1", "--inspector-port", String(inspectorPort));
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  // Its own process group, so that stopping it stops its workerd too, and nothing else.
  const child = spawnWrangler(args, { detached: true });
  const output = [];
  let outputBytes = 0;
  const keep = (chunk) => {
    outputBytes += chunk.length;
    if (outputBytes < MAX_KEPT_OUTPUT) output.push(chunk);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const log = () => Buffer.concat(output).toString("utf8");
  const signalGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    signalGroup("SIGTERM");
    if (await Promise.race([exited, sleep(10_000).then(() => null)])) return;
    signalGroup("SIGKILL");
    await exited;
  };
  const base = `http://127.0.0.1:${port}`;
  try {
    // Only wrangler's own "Ready on" line for this port counts (at log levels that print it).
    const ready = ["info", "log", "debug"].includes(logLevel) ? () => log().includes(`Ready on ${base}`) : () => true;
    await waitUntilServing(`${base}/`, { timeoutMs: readyTimeoutMs, exited, describe: log, ready });
  } catch (error) {
    await stop();
    throw new Error(`wrangler dev: ${error.message}`);
  }
  return { base, inspectorPort, pid: child.pid, log, stop };
}
