// The one way the tooling runs wrangler: the project's own wrangler (node_modules/.bin) on the
// project's own Node 22, from the repository root, with the same quiet, offline environment.
// `spawnWrangler` is the only place a wrangler process is started; `runWrangler` (a command to
// completion) and `startWranglerDev` (wrangler-dev.mjs) are built on it.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: wrangler runs here so that it finds wrangler.toml wherever the script was started. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Node 22 from the `node` devDependency (wrangler needs it, and the scripts load src/*.ts), else this Node. */
export const NODE = existsSync(join(REPO_ROOT, "node_modules", ".bin", "node")) ? join(REPO_ROOT, "node_modules", ".bin", "node") : process.execPath;
export const WRANGLER_BIN = join(REPO_ROOT, "node_modules", ".bin", "wrangler");
/** Where `wrangler dev` and `wrangler kv --local` keep local state unless told otherwise. */
export const DEFAULT_PERSIST_TO = join(REPO_ROOT, ".wrangler", "state");
/** No telemetry, no network look-ups of Cloudflare's IP ranges, no colour codes. */
export const WRANGLER_QUIET = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", FORCE_COLOR: "0" };

/** A failed wrangler run: the message is the one line that says why, `output` all it printed. */
export class WranglerError extends Error {
  constructor(message, output = "") {
    super(message);
    this.output = output;
  }
}

/**
 * The environment for every wrangler we spawn: `base` plus WRANGLER_QUIET. Node's compile cache
 * makes each short wrangler run start faster (wrangler's bundle is large; about a third of a
 * second saved per run).
 */
export function wranglerEnv(base = process.env) {
  return { NODE_COMPILE_CACHE: join(REPO_ROOT, "node_modules", ".cache", "node-compile-cache"), ...base, ...WRANGLER_QUIET };
}

/**
 * Starts `wrangler ...args` and returns the child process. Options go to `child_process.spawn`
 * (stdio, detached, cwd); the defaults are the repository root, wranglerEnv() and piped output.
 */
export function spawnWrangler(args, options = {}) {
  return spawn(NODE, [WRANGLER_BIN, ...args], { cwd: REPO_ROOT, env: wranglerEnv(), stdio: ["ignore", "pipe", "pipe"], ...options });
}

/**
 * Runs `wrangler ...args` to completion and collects its output. Resolves with stdout; rejects
 * with a WranglerError carrying wrangler's own error line, also when it ran longer than `timeoutMs`.
 */
export function runWrangler(args, { timeoutMs } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawnWrangler(args);
    const stdout = [];
    const stderr = [];
    child.stdout.on("data", (chunk) => stdout.push(chunk));
    child.stderr.on("data", (chunk) => stderr.push(chunk));
    let timedOut = false;
    const timer = timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill("SIGKILL");
        }, timeoutMs)
      : null;
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new WranglerError(`cannot run wrangler: ${error.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const out = Buffer.concat(stdout).toString("utf8");
      if (code === 0) return resolve(out);
      const err = Buffer.concat(stderr).toString("utf8");
      const command = args.slice(0, 3).filter((a) => !a.startsWith("-")).join(" ");
      const reason = timedOut
        ? `took longer than ${timeoutMs / 1000} s`
        : (wranglerErrorLine(err + "\n" + out) ?? (signal ? `killed by ${signal}` : `exit code ${code}`));
      reject(new WranglerError(`wrangler ${command} failed: ${reason}`, stripColours(err + "\n" + out)));
    });
  });
}

/** The `✘ [ERROR] …` line wrangler prints, or the last meaningful line; colour codes removed. */
export function wranglerErrorLine(output) {
  const lines = stripColours(output).split("\n").map((line) => line.trim()).filter(Boolean);
  const error = lines.find((line) => line.includes("[ERROR]"));
  if (error) return error.slice(error.indexOf("[ERROR]") + "[ERROR]".length).trim();
  const meaningful = lines.filter((line) => !line.startsWith("🪵") && !/^[─⛅]/.test(line));
  return meaningful.at(-1) ?? null;
}

/** The installed wrangler's version, for reports. */
export function wranglerVersion() {
  return JSON.parse(readFileSync(join(REPO_ROOT, "node_modules", "wrangler", "package.json"), "utf8")).version;
}

function stripColours(text) {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}
