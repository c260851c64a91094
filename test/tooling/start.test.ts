// `npm start` (scripts/start.mjs): the demo system it keeps, and how it hands over to wrangler dev.
// Each run here passes wrangler an unknown flag, so wrangler dev refuses at once: that exercises the
// demo-system bookkeeping and the exit-status passthrough without paying for a worker start
// (worker-auth.test.ts starts the real thing).
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { type Credentials, NODE, ROOT, run, storedRecord, systemJson, tempDir } from "./harness.ts";

let root: { path: string; remove: () => Promise<void> };
beforeAll(async () => {
  root = await tempDir("start-");
});
afterAll(async () => {
  await root.remove();
});

/** npm start against `state`, with an argument wrangler dev rejects (it exits 1 after printing its help). */
const startOnce = (state: string) => run(NODE, [join(ROOT, "scripts/start.mjs"), "--persist-to", state, "--port", "8788", "--bogus-wrangler-flag"]);

describe.concurrent("npm start's demo system", () => {
  it("is made once, saved, and reused while it verifies; npm start exits with wrangler's status", async ({ expect }) => {
    const state = join(root.path, "state-reuse");
    const file = join(state, "demo-system.json");

    const first = await startOnce(state);
    expect(first.code).toBe(1); // wrangler's own exit status
    expect(first.stderr).toContain("bogus-wrangler-flag");
    const demo = JSON.parse(await readFile(file, "utf8"));
    expect(demo).toEqual({ system_key: expect.stringMatching(/^NETH-/), system_secret: expect.stringMatching(/^my_/), system_id: expect.any(String), organization_id: "demo-org" });
    expect(first.stdout).toContain(`credentials new, saved in ${file}`);
    expect(first.stdout).toContain("BASE=http://127.0.0.1:8788/api/systems/backups");
    expect(first.stdout).toContain("Operator console: http://127.0.0.1:8788/console/");
    expect(await storedRecord(state, demo.system_key)).toMatchObject({ organization_id: "demo-org", system_id: demo.system_id });

    const second = await startOnce(state);
    expect(second.code).toBe(1);
    expect(second.stdout).toContain(`credentials reused from ${file}`);
    expect(second.stdout).toContain(`AUTH=${demo.system_key}:${demo.system_secret}`);
  });

  it("is replaced when the saved secret no longer verifies (e.g. the record was rotated)", async ({ expect }) => {
    const state = join(root.path, "state-replace");
    const file = join(state, "demo-system.json");
    const existing = await systemJson<Credentials>(state, "create", "--org", "demo-org", "--json");
    const wrongSecret = existing.system_secret.slice(0, -1) + (existing.system_secret.endsWith("A") ? "B" : "A");
    await writeFile(file, JSON.stringify({ ...existing, system_secret: wrongSecret }));

    const run = await startOnce(state);
    expect(run.code).toBe(1);
    const replaced = JSON.parse(await readFile(file, "utf8"));
    expect(replaced.system_key).not.toBe(existing.system_key);
    expect(run.stdout).toContain(`credentials new, saved in ${file}`);
    expect(run.stdout).toContain(`AUTH=${replaced.system_key}:${replaced.system_secret}`);
    expect(await storedRecord(state, replaced.system_key)).toMatchObject({ organization_id: "demo-org", system_id: replaced.system_id });
  });
});
