// The released appliances' curl command lines, replayed as facts (flags, headers, paths; not the
// clients' code) against the real worker: `npm start` (wrangler dev) on loopback, with systems
// whose legacy credentials were imported with the CLI's `import`. Each call adds only
// `--dump-header` (to read the status), as an observing curl would.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSystemCredentials } from "../../src/auth/secret.ts";
import { freePort, NODE, OFFLINE_ENV, ROOT, storedRecord, system, tempDir, waitUntilServing } from "./harness.ts";

const exec = promisify(execFile);
let root: { path: string; remove: () => Promise<void> };
let state: string;
let port: number;
let url: string;
let start: ChildProcess;
let output = "";
let exited: Promise<number | null>;
const nsec = { id: `nsec-${crypto.randomUUID()}`, secret: `nsec secret ${crypto.randomUUID()}`, key: "" };
const ns8 = { id: `ns8-${crypto.randomUUID()}`, secret: `ns8-token-${crypto.randomUUID()}`, key: "" };

/** Runs curl with the clients' arguments; returns stdout and the last HTTP status (curl's --dump-header). */
async function curl(args: string[], cwd = root.path): Promise<{ status: number; stdout: string; headers: string }> {
  const headerFile = join(root.path, `h-${crypto.randomUUID()}`);
  const { stdout } = await exec("curl", ["--dump-header", headerFile, ...args], { cwd, env: OFFLINE_ENV, encoding: "utf8" }).catch((e) => e);
  const headers = await readFile(headerFile, "utf8").catch(() => "");
  const statuses = [...headers.matchAll(/^HTTP\/[\d.]+ (\d{3})/gm)].map((m) => Number(m[1])).filter((s) => s !== 100);
  return { status: statuses.at(-1) ?? 0, stdout: String(stdout ?? ""), headers };
}

const user = (s: { id: string; secret: string }) => ["--user", `${s.id}:${s.secret}`];
const CURL_ARGS = (s: { id: string; secret: string }) => ["--silent", "--location-trusted", ...user(s)];

beforeAll(async () => {
  root = await tempDir("legacy-clients-");
  state = join(root.path, "state");
  const file = join(root.path, "fleet.json");
  const records: Record<string, unknown> = {};
  for (const [s, org] of [
    [nsec, "org_nsec"],
    [ns8, "org_ns8"],
  ] as const) {
    const { systemKey, record } = await generateSystemCredentials(org);
    s.key = systemKey;
    records[systemKey] = { ...record, system_id: s.id, legacy_secret: s.secret };
  }
  await writeFile(file, JSON.stringify(records));
  const imported = await system(state, "import", file, "--json");
  expect(imported.code, imported.stderr).toBe(0);

  port = await freePort();
  url = `http://127.0.0.1:${port}`;
  start = spawn(NODE, [join(ROOT, "scripts/start.mjs"), "--persist-to", state, `--port=${port}`], { cwd: ROOT, env: OFFLINE_ENV, stdio: ["ignore", "pipe", "pipe"] });
  start.stdout!.on("data", (chunk) => (output += chunk));
  start.stderr!.on("data", (chunk) => (output += chunk));
  exited = new Promise((resolve) => start.on("exit", (code) => resolve(code)));
  await waitUntilServing(`${url}/`, { timeoutMs: 120_000, exited, describe: () => output });
});

afterAll(async () => {
  if (start && start.exitCode === null) {
    start.kill("SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
  }
  await root?.remove();
});

describe("the CLI's import keeps only a salted hash of the legacy secret", () => {
  it("the record holds legacy_secret_sha256, never the secret; the index entry names the system", async () => {
    const record = await storedRecord(state, nsec.key);
    expect(record?.legacy_secret_sha256).toMatch(/^[0-9a-f]+:[0-9a-f]{64}$/);
    expect(JSON.stringify(record)).not.toContain(nsec.secret);
    const entry = (await storedRecord(state, `legacy:${nsec.id}`)) as { system_key: string } | null;
    expect(entry?.system_key).toBe(nsec.key);
  });
});

describe("NethSecurity's released calls (remote-backup, send-backup, ns.backup)", () => {
  it("list → upload --upload-file → dual-send copy → list → download -J -o → delete {\"result\":\"success\"}", async () => {
    const base = `${url}/enterprise/api/v2/backup/`;
    const empty = await curl([...CURL_ARGS(nsec), base]);
    expect(empty).toMatchObject({ status: 200, stdout: '{"backups":[]}' });

    const name = `backup-${Math.floor(Date.now() / 1000)}.tar.gz.gpg`;
    const file = join(root.path, name);
    const bytes = randomBytes(70_000);
    await writeFile(file, bytes);
    // remote-backup upload: `curl $curl_args $base_url --upload-file $file` (curl appends the base name; Expect: 100-continue)
    const put = await curl([...CURL_ARGS(nsec), base, "--upload-file", file]);
    expect(put.status).toBe(201);
    expect(put.headers).toMatch(/^HTTP\/1\.1 100 Continue/m);
    const stored = JSON.parse(put.stdout) as { id: string; name: string; created: number; size: number };
    expect(stored).toMatchObject({ name, size: bytes.length });
    // the dual-send copy: `-X POST -H "Content-Type: application/octet-stream" -H "X-Filename: ${filename}" --data-binary "@$file"`
    const copy = await curl([...CURL_ARGS(nsec), "-X", "POST", "-H", "Content-Type: application/octet-stream", "-H", `X-Filename: ${name}`, "--data-binary", `@${file}`, `${url}/proxy/backup`]);
    expect(copy.status).toBe(200);
    expect(JSON.parse(copy.stdout)).toMatchObject({ code: 200, data: { id: stored.id } });

    const listed = JSON.parse((await curl([...CURL_ARGS(nsec), base])).stdout) as { backups: { id: string; name: string; created: number }[] };
    expect(listed.backups).toEqual([expect.objectContaining({ id: stored.id, name, created: stored.created })]);
    expect(Number.isInteger(listed.backups[0].created)).toBe(true);

    // remote-backup download: `curl $curl_args $base_url$file -J -o "$output"`
    const got = await curl([...CURL_ARGS(nsec), `${base}${stored.id}`, "-J", "-o", "out"]);
    expect(got.status).toBe(200);
    expect(got.headers).toContain(`Content-Disposition: attachment; filename="${name}"`);
    expect((await readFile(join(root.path, "out"))).equals(bytes)).toBe(true);

    // remote-backup delete: `curl $curl_args -X DELETE $base_url$file`; ns.backup prints the body as is
    const removed = await curl([...CURL_ARGS(nsec), "-X", "DELETE", `${base}${stored.id}`]);
    expect(removed).toMatchObject({ status: 200, stdout: '{"result":"success"}' });
    expect((await curl([...CURL_ARGS(nsec), base])).stdout).toBe('{"backups":[]}');
  });

  it("a base URL configured with a trailing slash still answers, never with a redirect", async () => {
    const listed = await curl([...CURL_ARGS(nsec), `${url}//enterprise/api/v2/backup/`]);
    expect(listed).toMatchObject({ status: 200, stdout: '{"backups":[]}' });
    expect(listed.headers).not.toMatch(/^Location:/im);
  });

  it("a wrong secret is 401 with WWW-Authenticate: Basic (and the client, without --fail, exits 0)", async () => {
    const refused = await curl(["--silent", "--location-trusted", "--user", `${nsec.id}:wrong`, `${url}/enterprise/api/v2/backup/`]);
    expect(refused.status).toBe(401);
    expect(refused.headers).toMatch(/^WWW-Authenticate: Basic/im);
  });
});

describe("NethServer 8's released send-cluster-backup, and the next release's migration call", () => {
  it("upload, then the dual-send copy with `-m 900 --retry 3 -L -s`: one backup, not two; sent again: still one", async () => {
    const dir = join(root.path, "backup");
    await exec("mkdir", ["-p", dir]);
    const file = join(dir, "dump.json.gz.gpg");
    await writeFile(file, randomBytes(30_000));
    const base = `${url}/community/api/v2/backup/`;
    for (let round = 0; round < 2; round++) {
      const put = await curl(["--silent", "--location-trusted", "--user", `${ns8.id}:${ns8.secret}`, base, "--upload-file", "backup/dump.json.gz.gpg"]);
      expect(put.status).toBe(round === 0 ? 201 : 200);
      const copy = await curl(["-m", "900", "--retry", "3", "-L", "-s", "-X", "POST", "--user", `${ns8.id}:${ns8.secret}`, "-H", "Content-Type: application/octet-stream", "-H", "X-Filename: dump.json.gz.gpg", "--data-binary", "@backup/dump.json.gz.gpg", `${url}/proxy/backup`]);
      expect(copy.status).toBe(200);
      const listed = JSON.parse((await curl([...CURL_ARGS(ns8), base])).stdout) as { backups: { name: string }[] };
      expect(listed.backups.map((b) => b.name)).toEqual(["dump.json.gz.gpg"]);
    }
  });

  it("the migration call returns working appliance credentials; the legacy ones keep working", async () => {
    const migrated = await curl(["--silent", "--location-trusted", "--fail-with-body", "--max-time", "30", "--retry", "2", "--user", `${ns8.id}:${ns8.secret}`, `${url}/proxy/credentials`]);
    expect(migrated.status).toBe(200);
    const { data } = JSON.parse(migrated.stdout) as { data: { system_key: string; system_secret: string } };
    expect(data.system_key).toBe(ns8.key);
    const appliance = await curl(["--silent", "--location-trusted", "--fail-with-body", "--user", `${data.system_key}:${data.system_secret}`, `${url}/api/systems/backups`]);
    expect(appliance.status).toBe(200);
    expect((JSON.parse(appliance.stdout) as { data: { backups: unknown[] } }).data.backups).toHaveLength(1);
    const legacy = await curl([...CURL_ARGS(ns8), `${url}/community/api/v2/backup/`]);
    expect(legacy.status).toBe(200);
  });
});
