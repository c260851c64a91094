// Running the operator scripts and wrangler from the tooling tests, as an operator would.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { hashSecretPart, parseSystemSecret } from "../../src/auth/secret.ts";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The scripts need Node 22 (they import src/auth/secret.ts); the `node` devDependency provides it. */
export const NODE = existsSync(join(ROOT, "node_modules/.bin/node")) ? join(ROOT, "node_modules/.bin/node") : process.execPath;
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
export const OFFLINE_ENV = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

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
  const result = await run(NODE, [WRANGLER, "kv", "key", "get", key, "--binding", "SYSTEMS", "--local", "--persist-to", persistTo]);
  if (result.code !== 0) throw new Error(`wrangler kv key get failed: ${result.stderr}`);
  return result.stdout === "Value not found\n" ? null : JSON.parse(result.stdout);
}

/** The stored values of several keys in one wrangler run (`kv bulk get`), parsed; null for absent keys. */
export async function storedRecords(persistTo: string, keys: string[]): Promise<(Record<string, unknown> | null)[]> {
  const file = join(persistTo + "-keys.json");
  await writeFile(file, JSON.stringify(keys));
  const result = await run(NODE, [WRANGLER, "kv", "bulk", "get", file, "--binding", "SYSTEMS", "--local", "--persist-to", persistTo]);
  if (result.code !== 0) throw new Error(`wrangler kv bulk get failed: ${result.stderr}`);
  const values = JSON.parse(result.stdout) as Record<string, { value: string | null }>;
  return keys.map((key) => (values[key]?.value == null ? null : JSON.parse(values[key].value!)));
}

/** A fresh directory under the OS temp dir, and a function that removes it. */
export async function tempDir(prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A TCP port that was free on loopback a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}
