// The SYSTEMS KV namespace (credential records) as the wrangler CLI reaches it,
// either the local state that `wrangler dev` uses or the deployed namespace.
import { writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { withTempDir } from "../harness/temp-dir.mjs";
import { DEFAULT_PERSIST_TO, REPO_ROOT, runWrangler, WranglerError } from "../harness/wrangler.mjs";

const BINDING = "SYSTEMS";
/** Keys per `kv bulk get` call (the remote API's limit). */
const BULK_GET_CHUNK = 100;
/** Values and key lists reach wrangler through files in a private temporary directory with this prefix. */
const TEMP_PREFIX = "backup-vault-kv-";

/**
 * Describes where the records live. Local by default, in `persistTo` (`.wrangler/state`);
 * remote means the namespace bound as SYSTEMS in wrangler.toml, for `env` if given.
 */
export function kvTarget({ remote = false, env, persistTo } = {}) {
  if (remote) return { remote: true, env, persistTo: undefined };
  return { remote: false, env, persistTo: resolve(persistTo ?? DEFAULT_PERSIST_TO) };
}

/** `local KV (.wrangler/state)` or `remote KV (env production)`, for messages. */
export function describeTarget(target) {
  if (target.remote) return target.env ? `remote KV (env ${target.env})` : "remote KV";
  const shown = relative(REPO_ROOT, target.persistTo);
  return `local KV (${shown && !shown.startsWith("..") ? shown : target.persistTo})`;
}

/** The flags that point a `wrangler kv …` command at the target. */
function targetFlags(target) {
  // `--preview false`: the production namespace id, even if a preview_id is ever added to wrangler.toml.
  const flags = ["--binding", BINDING, "--preview", "false"];
  if (target.env) flags.push("--env", target.env);
  if (target.remote) flags.push("--remote");
  else flags.push("--local", "--persist-to", target.persistTo);
  return flags;
}

/** Attempts per wrangler run on local state (see runOnTarget). */
const LOCAL_ATTEMPTS = 4;
/** What wrangler prints when another process holds the local SQLite state at the same moment. */
const LOCAL_CONTENTION = /SQLITE_BUSY|database is locked|KV (GET|PUT|DELETE) failed: 500 Internal Server Error/;

/**
 * Runs one `wrangler kv …` (or `d1 …`) command. Locally, wrangler processes that open the same state at the
 * same moment (npm start and a CLI command, two CLI commands, or a fresh directory being created)
 * can find its SQLite database locked; every operation here is idempotent, so such a run is
 * repeated after a short, jittered pause.
 */
export async function runOnTarget(target, args) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runWrangler(args);
    } catch (error) {
      const contention = !target.remote && error instanceof WranglerError && LOCAL_CONTENTION.test(error.output);
      if (!contention || attempt >= LOCAL_ATTEMPTS) {
        if (contention) error.message += " (the local state is locked by another wrangler process)";
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, (200 + Math.random() * 300) * attempt));
    }
  }
}

/** Operations on the SYSTEMS namespace of a target; every call is one wrangler process. */
export function systemsKv(target) {
  const flags = targetFlags(target);
  const run = (args) => runOnTarget(target, args);
  return {
    target,

    /** The value stored under `key`, or null when there is none. */
    async get(key) {
      try {
        const out = await run(["kv", "key", "get", key, ...flags]);
        // Locally wrangler reports a missing key on stdout with exit code 0; records are JSON objects,
        // so this text can never be a stored record.
        if (!target.remote && out === "Value not found\n") return null;
        return out;
      } catch (error) {
        // Remotely a missing key is an HTTP 404 from the API.
        if (target.remote && error instanceof WranglerError && / - 404: /.test(error.message)) return null;
        throw error;
      }
    },

    /** The values of many keys at once, as a Map (null for missing keys). */
    async getMany(keys) {
      const values = new Map();
      for (let i = 0; i < keys.length; i += BULK_GET_CHUNK) {
        const chunk = keys.slice(i, i + BULK_GET_CHUNK);
        const result = await withTempDir(TEMP_PREFIX, async (dir) => {
          const file = join(dir, "keys.json");
          await writeFile(file, JSON.stringify(chunk), { mode: 0o600 });
          return JSON.parse(await run(["kv", "bulk", "get", file, ...flags]));
        });
        for (const key of chunk) values.set(key, bulkGetValue(result, key));
      }
      return values;
    },

    /** Writes one value. */
    async put(key, value) {
      await withTempDir(TEMP_PREFIX, async (dir) => {
        // Through a file, so that record contents never appear in a process list.
        const file = join(dir, "value");
        await writeFile(file, value, { mode: 0o600 });
        await run(["kv", "key", "put", key, "--path", file, ...flags]);
      });
    },

    /** Writes many values in one `wrangler kv bulk put`; `entries` is an array of {key, value}. */
    async bulkPut(entries) {
      await withTempDir(TEMP_PREFIX, async (dir) => {
        const file = join(dir, "entries.json");
        await writeFile(file, JSON.stringify(entries), { mode: 0o600 });
        await run(["kv", "bulk", "put", file, ...flags]);
      });
    },

    /** Every key in the namespace (wrangler follows all pages). */
    async list() {
      const keys = JSON.parse(await run(["kv", "key", "list", ...flags]));
      return keys.map((entry) => entry.name);
    },

    /** Removes one key. */
    async delete(key) {
      await run(["kv", "key", "delete", key, ...flags]);
    },
  };
}

/** Wrangler prints `{key: {value}}` for local bulk gets and the API's `{values: {key: value}}` for remote ones. */
function bulkGetValue(result, key) {
  if (result && typeof result.values === "object" && result.values !== null) {
    const value = result.values[key];
    if (value === undefined || value === null) return null;
    return typeof value === "string" ? value : JSON.stringify(value);
  }
  return result?.[key]?.value ?? null;
}
