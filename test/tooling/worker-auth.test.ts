// The CLI's records verified by the worker: systems made with `npm run system`, then the real
// worker started with `npm start` (scripts/start.mjs → wrangler dev) on loopback against the same
// local state, called the way the appliances call it.
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basicAuthorization, type Credentials, freePort, NODE, OFFLINE_ENV, ROOT, run, systemJson, tempDir, waitUntilServing } from "./harness.ts";

let root: { path: string; remove: () => Promise<void> };
let state: string;
let port: number;
let start: ChildProcess;
let startOutput = "";
let exited: Promise<number | null>;
let systems: { active: Credentials; suspended: Credentials };

/** GET /api/systems/backups with Basic credentials; returns status, the WWW-Authenticate header and the parsed body. */
async function listBackups(user: string, password: string) {
  const response = await fetch(`http://127.0.0.1:${port}/api/systems/backups`, {
    headers: { Authorization: basicAuthorization(user, password) },
  });
  return { status: response.status, challenge: response.headers.get("WWW-Authenticate"), body: await response.json() };
}

const ACCEPTED = { status: 200, challenge: null, body: { code: 200, message: expect.any(String), data: { backups: [] } } };
const REFUSED = { status: 401, challenge: 'Basic realm="System Authentication"', body: { code: 401, message: "invalid token", data: {} } };

beforeAll(async () => {
  root = await tempDir("worker-auth-");
  state = join(root.path, "state");
  // The suspension happens before the worker's first read of that system, so no credential
  // cache in the worker (KV cacheTtl) can hide it.
  const create = () => systemJson<Credentials>(state, "create", "--org", "org_verify", "--json");
  const [active, suspended] = await Promise.all([
    create(),
    create().then(async (c) => (await systemJson(state, "suspend", c.system_key, "--json"), c)),
  ]);
  systems = { active, suspended };

  port = await freePort();
  start = spawn(NODE, [join(ROOT, "scripts/start.mjs"), "--persist-to", state, `--port=${port}`], {
    cwd: ROOT,
    env: OFFLINE_ENV,
    stdio: ["ignore", "pipe", "pipe"],
  });
  start.stdout!.on("data", (chunk) => (startOutput += chunk));
  start.stderr!.on("data", (chunk) => (startOutput += chunk));
  exited = new Promise((resolve) => start.on("exit", (code) => resolve(code)));
  await waitUntilServing(`http://127.0.0.1:${port}/`, { timeoutMs: 60_000, exited, describe: () => startOutput });
});

afterAll(async () => {
  // npm start forwards SIGTERM to wrangler and exits with wrangler's status (128 + 15 when it dies of the signal).
  if (start && start.exitCode === null) {
    start.kill("SIGTERM");
    const code = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve("timeout"), 20_000))]);
    expect(code === 0 || code === 143, `npm start exit status after SIGTERM: ${code}`).toBe(true);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow(); // wrangler and workerd are gone
  }
  await root?.remove();
});

describe("records made by the CLI, verified by the worker", () => {
  it("npm start prints the demo credentials and the appliance's curl calls for the chosen port; the worker accepts them", async () => {
    const demo = JSON.parse(await readFile(join(state, "demo-system.json"), "utf8")) as Credentials;
    expect(demo.organization_id).toBe("demo-org");
    const curl = 'curl --silent --location-trusted --fail-with-body --user "$AUTH"';
    for (const line of [
      `BASE=http://127.0.0.1:${port}/api/systems/backups`,
      `AUTH=${demo.system_key}:${demo.system_secret}`,
      `${curl} "$BASE" | jq .data.backups`,
      `${curl} -X POST -H "Content-Type: application/octet-stream" -H "X-Filename: backup-$(date +%s).tar.gz.gpg" --data-binary @backup.tar.gz.gpg "$BASE"`,
      `${curl} -o restored.gpg "$BASE/$ID"`,
      `${curl} -X DELETE "$BASE/$ID"`,
    ])
      expect(startOutput).toContain(line);
    expect(await listBackups(demo.system_key, demo.system_secret)).toEqual(ACCEPTED);
  });

  it("a system made by create is accepted: 200 and an empty list", async () => {
    expect(await listBackups(systems.active.system_key, systems.active.system_secret)).toEqual(ACCEPTED);
  });

  it("a wrong secret, or another system's secret, is refused with 401", async () => {
    const { system_key, system_secret } = systems.active;
    const wrongSecretPart = system_secret.slice(0, -4) + (system_secret.endsWith("AAAA") ? "BBBB" : "AAAA");
    expect(await listBackups(system_key, wrongSecretPart)).toEqual(REFUSED);
    expect(await listBackups(system_key, systems.suspended.system_secret)).toEqual(REFUSED);
  });

  it("a suspended system is refused with 401", async () => {
    expect(await listBackups(systems.suspended.system_key, systems.suspended.system_secret)).toEqual(REFUSED);
  });

  it("a system created while the worker runs is accepted at once", async () => {
    const created = await systemJson<Credentials>(state, "create", "--org", "org_live", "--json");
    expect(await listBackups(created.system_key, created.system_secret)).toEqual(ACCEPTED);
  });

  it("the operator plane over HTTP: npm start's admin token, the CLI with --url, a link downloaded with no credential", async () => {
    const { token } = JSON.parse(await readFile(join(state, "operator-token.json"), "utf8")) as { token: string };
    expect(startOutput).toContain(`TOKEN=${token}`);
    const url = `http://127.0.0.1:${port}`;
    const viaHttp = (...args: string[]) => run(NODE, [join(ROOT, "scripts/system.mjs"), ...args, "--url", url, "--token", token, "--json"]);
    const created = await viaHttp("create", "--org", "org_http");
    expect(created.code, created.stderr).toBe(0);
    const system = JSON.parse(created.stdout) as Credentials;
    const auth = `Basic ${Buffer.from(`${system.system_key}:${system.system_secret}`).toString("base64")}`;
    const body = Buffer.from("an encrypted backup, as the appliance sends it");
    const upload = await fetch(`${url}/api/systems/backups`, { method: "POST", headers: { Authorization: auth, "X-Filename": "b.tar.gz.gpg" }, body });
    const { data: stored } = (await upload.json()) as { data: { id: string } };
    expect(upload.status).toBe(201);

    const listed = JSON.parse((await viaHttp("list", "--org", "org_http")).stdout);
    expect(listed).toEqual([expect.objectContaining({ system_key: system.system_key, status: "active", backups: 1, bytes_used: body.length })]);
    const link = JSON.parse((await viaHttp("link", system.system_key, stored.id, "--ttl", "60")).stdout);
    const download = await fetch(link.download_url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(body)).toBe(true);
    const suspended = await viaHttp("suspend", system.system_key);
    expect(suspended.code).toBe(0);
    expect((await fetch(`${url}/api/systems/backups`, { headers: { Authorization: auth } })).status).toBe(401);
    const audit = JSON.parse((await viaHttp("audit", "org_http")).stdout).map((e: { action: string }) => e.action);
    expect(audit).toEqual(["system.suspend", "backup.link", "system.create"]);
    const denied = await run(NODE, [join(ROOT, "scripts/system.mjs"), "show", system.system_key, "--url", url, "--token", `${token.split(".")[0]}.${"A".repeat(43)}`]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("invalid token (HTTP 401)");
  });
});
