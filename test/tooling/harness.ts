// Running the operator scripts and wrangler from the tooling tests, as an operator would, through
// the tooling's own harness (scripts/harness/): the same Node, wrangler and environment.
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { hashSecretPart, parseSystemSecret } from "../../src/auth/secret.ts";
import { tempDir } from "../../scripts/harness/temp-dir.mjs";
import { NODE, REPO_ROOT, runWrangler, wranglerEnv } from "../../scripts/harness/wrangler.mjs";

export { freePort, waitUntilServing } from "../../scripts/harness/loopback.mjs";
export { tempDir };

/**
 * One temporary folder for a test file, made before its tests and removed after them; the
 * function returned names a new state folder in it, so that each test has its own local stores.
 */
export function freshStates(prefix: string): () => string {
  let root: { path: string; remove: () => Promise<void> } | undefined;
  let n = 0;
  beforeAll(async () => {
    root = await tempDir(prefix);
  });
  afterAll(async () => {
    await root?.remove();
  });
  return () => join(root!.path, `state-${++n}`);
}
export { basicAuthorization } from "../../scripts/harness/basic-auth.mjs";
/** The repository root. */
export const ROOT = REPO_ROOT;
/** The scripts need Node 22 (they import src/*.ts); the `node` devDependency provides it. */
export { NODE };
/** The environment every script and wrangler runs with here: offline, no telemetry, no colour. */
export const OFFLINE_ENV = wranglerEnv();

/** What `create --json` and `rotate --json` print. */
export interface Credentials {
  system_key: string;
  system_secret: string;
  system_id: string;
  organization_id: string;
}

/** True when `secret` matches the salted hash of `record` (the worker's check, minus timing care). */
export async function verifies(record: Record<string, unknown>, secret: string): Promise<boolean> {
  const parsed = parseSystemSecret(secret);
  const [salt, hash] = String(record.secret_sha256).split(":");
  return parsed !== null && parsed.publicPart === record.secret_public && (await hashSecretPart(parsed.secretPart, salt)) === hash;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and collects its output. */
export function run(command: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: OFFLINE_ENV, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** `npm run system -- …args`, against the local state in `persistTo`. */
export function system(persistTo: string, ...args: string[]): Promise<Run> {
  return run(NODE, [join(ROOT, "scripts/system.mjs"), ...args, "--persist-to", persistTo]);
}

/** Like system(), for a command that must succeed; returns its stdout parsed as JSON (pass --json). */
export async function systemJson<T = any>(persistTo: string, ...args: string[]): Promise<T> {
  const result = await system(persistTo, ...args);
  if (result.code !== 0) throw new Error(`system ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** The stored value of a key, read with wrangler itself (not through the CLI under test); null when absent. */
export async function storedRecord(persistTo: string, key: string): Promise<Record<string, unknown> | null> {
  const stdout = await runWrangler(["kv", "key", "get", key, "--binding", "SYSTEMS", "--local", "--persist-to", persistTo]);
  return stdout === "Value not found\n" ? null : JSON.parse(stdout);
}

/** The stored values of several keys in one wrangler run (`kv bulk get`), parsed; null for absent keys. */
export async function storedRecords(persistTo: string, keys: string[]): Promise<(Record<string, unknown> | null)[]> {
  const file = join(persistTo + "-keys.json");
  await writeFile(file, JSON.stringify(keys));
  const stdout = await runWrangler(["kv", "bulk", "get", file, "--binding", "SYSTEMS", "--local", "--persist-to", persistTo]);
  const values = JSON.parse(stdout) as Record<string, { value: string | null }>;
  return keys.map((key) => (values[key]?.value == null ? null : JSON.parse(values[key].value!)));
}

/** Rows of the last statement on the local operator database (D1), run with wrangler itself (not through the CLI under test). */
export async function d1Rows(persistTo: string, sql: string): Promise<Record<string, unknown>[]> {
  const stdout = await runWrangler(["d1", "execute", "OPERATOR_DB", "--local", "--persist-to", persistTo, "--json", "--command", sql]);
  const results = JSON.parse(stdout) as { results: Record<string, unknown>[] }[];
  return results[results.length - 1].results;
}
