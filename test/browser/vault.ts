// The vault the browser suite drives: `npm start` (wrangler dev) on loopback with its own local
// state, operator tokens from the CLI, and systems and backups seeded through the real APIs.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { basicAuthorization, freePort, NODE, OFFLINE_ENV, ROOT, systemJson, tempDir, waitUntilServing } from "../tooling/harness.ts";

/** A running vault: its origin, what npm start printed, and how to stop it. */
export interface Vault {
  origin: string;
  state: string;
  output: () => string;
  stop: () => Promise<void>;
}

/** Fresh local state for a vault: tokens can be made in it before the vault starts. */
export async function vaultState(): Promise<{ state: string; remove: () => Promise<void> }> {
  const root = await tempDir("console-browser-");
  return { state: join(root.path, "state"), remove: root.remove };
}

/**
 * Starts `npm start` on a free loopback port with the given local state; resolves once the worker
 * answers. A start whose process exits before it is ready (its port taken meanwhile by another
 * process) is tried again on another port, up to three times, on the same state.
 */
export async function startVault(root: { state: string; remove: () => Promise<void> }): Promise<Vault> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(root);
    } catch (error) {
      if (attempt >= 3 || !(error instanceof EarlyExit)) {
        await root.remove();
        throw error;
      }
    }
  }
}

/** npm start ended before it was ready. */
class EarlyExit extends Error {}

async function startOnce(root: { state: string; remove: () => Promise<void> }): Promise<Vault> {
  const state = root.state;
  const port = await freePort();
  let output = "";
  const child: ChildProcess = spawn(NODE, [join(ROOT, "scripts/start.mjs"), "--persist-to", state, `--port=${port}`], {
    cwd: ROOT,
    env: OFFLINE_ENV,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const origin = `http://127.0.0.1:${port}`;
  const end = async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
    }
  };
  try {
    // A loaded 2-core machine can take minutes to run npm start's migrations and start workerd.
    // Only npm start's own "Ready on" line for this port counts: another process may have taken a
    // port freePort() handed out, and its answer is not this vault's.
    await waitUntilServing(`${origin}/console/`, { timeoutMs: 240_000, exited, describe: () => output, ready: () => output.includes(`Ready on ${origin}`) });
  } catch (error) {
    await end();
    throw child.exitCode !== null && !output.includes(`Ready on ${origin}`) ? new EarlyExit(String(error)) : error;
  }
  return { origin, state, output: () => output, stop: async () => (await end(), await root.remove()) };
}

/** An operator token made with the CLI against the vault's local state (the contract's `token create`). */
export async function createToken(state: string, name: string, role: "reader" | "manager" | "admin", organizations: string[] | "*"): Promise<string> {
  const scope = organizations === "*" ? ["--all-orgs"] : organizations.flatMap((org) => ["--org", org]);
  const created = await systemJson<{ token: string }>(state, "token", "create", "--name", name, "--role", role, ...scope, "--json");
  return created.token;
}

/** What the admin API answers when it creates a system. */
export interface CreatedSystem {
  system_key: string;
  system_secret: string;
  system_id: string;
  organization_id: string;
}

/** Calls the operator API with a bearer token; returns status and envelope. */
export async function operatorCall(origin: string, token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${origin}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { code: number; message: string; data: any } };
}

/** Creates a system over the operator API. */
export async function createSystem(origin: string, adminToken: string, org: string): Promise<CreatedSystem> {
  const { status, body } = await operatorCall(origin, adminToken, "POST", `/api/admin/organizations/${org}/systems`, {});
  if (status !== 201) throw new Error(`creating a system in ${org}: ${status} ${JSON.stringify(body)}`);
  return body.data;
}

/** A backup as the seed uploaded it: its bytes and digest, for comparing downloads. */
export interface SeededBackup {
  id: string;
  filename: string;
  bytes: Buffer;
  sha256: string;
}

/** Uploads random bytes as the appliance does (Basic credentials, X-Filename). */
export async function uploadBackup(origin: string, system: CreatedSystem, filename: string, size = 3000): Promise<SeededBackup> {
  const bytes = randomBytes(size);
  const response = await fetch(`${origin}/api/systems/backups`, {
    method: "POST",
    headers: { ...basic(system), "Content-Type": "application/octet-stream", "X-Filename": filename },
    body: bytes,
  });
  const body = (await response.json()) as { data: { id: string; filename: string; sha256: string } };
  if (response.status !== 201) throw new Error(`upload for ${system.system_key}: ${response.status} ${JSON.stringify(body)}`);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  if (body.data.sha256 !== sha256) throw new Error("the vault recorded another digest than the bytes sent");
  return { id: body.data.id, filename: body.data.filename, bytes, sha256 };
}

/** The appliance's own listing call: its status says whether the vault accepts the system. */
export async function applianceListStatus(origin: string, system: CreatedSystem): Promise<number> {
  const response = await fetch(`${origin}/api/systems/backups`, { headers: basic(system) });
  await response.arrayBuffer();
  return response.status;
}

function basic(system: CreatedSystem) {
  return { Authorization: basicAuthorization(system.system_key, system.system_secret) };
}
