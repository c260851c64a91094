// Running the project's own wrangler (node_modules/.bin) from the operator scripts.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: wrangler runs here so that it finds wrangler.toml wherever the script was started. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const WRANGLER_BIN = join(REPO_ROOT, "node_modules", ".bin", "wrangler");
/** Where `wrangler dev` and `wrangler kv --local` keep local state unless told otherwise. */
export const DEFAULT_PERSIST_TO = join(REPO_ROOT, ".wrangler", "state");

/** A failed wrangler run: the message is the one line that says why, `output` all it printed. */
export class WranglerError extends Error {
  constructor(message, output = "") {
    super(message);
    this.output = output;
  }
}

/**
 * The environment for every wrangler we spawn: no telemetry, no network look-ups of Cloudflare's IP
 * ranges, no colour codes. Node's compile cache makes each of the CLI's short wrangler runs start
 * faster (wrangler's bundle is large; about a third of a second saved per run).
 */
export function wranglerEnv(base = process.env) {
  return {
    NODE_COMPILE_CACHE: join(REPO_ROOT, "node_modules", ".cache", "node-compile-cache"),
    ...base,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    FORCE_COLOR: "0",
  };
}

/**
 * Spawns wrangler with the Node that runs this script (Node 22 under npm) and collects its output.
 * Resolves with stdout; rejects with a WranglerError carrying wrangler's own error line.
 */
export function runWrangler(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRANGLER_BIN, ...args], {
      cwd: REPO_ROOT,
      env: wranglerEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stdout = [];
    const stderr = [];
    child.stdout.on("data", (chunk) => stdout.push(chunk));
    child.stderr.on("data", (chunk) => stderr.push(chunk));
    child.on("error", (error) => reject(new WranglerError(`cannot run wrangler: ${error.message}`)));
    child.on("close", (code, signal) => {
      const out = Buffer.concat(stdout).toString("utf8");
      if (code === 0) return resolve(out);
      const err = Buffer.concat(stderr).toString("utf8");
      const command = args.slice(0, 3).filter((a) => !a.startsWith("-")).join(" ");
      const reason = wranglerErrorLine(err + "\n" + out) ?? (signal ? `killed by ${signal}` : `exit code ${code}`);
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

function stripColours(text) {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}
