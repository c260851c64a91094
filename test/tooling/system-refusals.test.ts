// The operator CLI (`npm run system -- …`) refusing what it cannot do: an invalid import, a failing
// wrangler, bad usage. Each refusal is one line on stderr, a non-zero status, and nothing written.
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "vitest";
import { generateSystemCredentials } from "../../src/auth/secret.ts";
import { freshStates, NODE, ROOT, run, system } from "./harness.ts";

/** Each test gets its own local state, so none depends on another. */
const freshState = freshStates("system-refusals-");

// Concurrent, like system-cli.test.ts.
describe.concurrent("npm run system: refusals", () => {
  it("import with one bad record names each problem, writes nothing and exits non-zero", async ({ expect }) => {
    const state = freshState();
    const made = await Promise.all([1, 2, 3].map(() => generateSystemCredentials("org_1")));
    const bad = { ...made[1].record, secret_sha256: "not-a-hash" };
    const file = `${state}-bad.json`;
    await writeFile(file, JSON.stringify({ [made[0].systemKey]: made[0].record, [made[1].systemKey]: bad, [made[2].systemKey]: made[2].record }));

    const result = await system(state, "import", file);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`${made[1].systemKey}: secret_sha256 must be`);
    expect(result.stderr).toMatch(/system: import refused: 1 problem in .*; nothing was written\n$/);
    expect(existsSync(state)).toBe(false); // refused before wrangler was even started
  });

  it("reports a wrangler failure in one line with exit status 1", async ({ expect }) => {
    const notADirectory = `${freshState()}-file`;
    await writeFile(notADirectory, "");
    const result = await system(join(notADirectory, "state"), "create", "--org", "acme", "--json");
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^system: wrangler kv bulk put failed: ENOTDIR[^\n]*\n$/); // the record and its legacy index entry, in one bulk put
  });

  it("refuses bad usage with one line on stderr and exit status 2, touching nothing", async ({ expect }) => {
    const state = freshState();
    const cases = [
      ["frobnicate"],
      ["show"],
      ["show", "NETH-1", "extra"],
      ["show", "--bogus", "NETH-1"],
      ["create"],
      ["create", "--org"],
      ["create", "--org", "not allowed/"],
      ["append-only", "NETH-1", "maybe"],
      ["show", "NETH-1", "--remote"], // --persist-to (added by the harness) is for --local only
      ["show", "../../etc/passwd"],
    ];
    const results = await Promise.all(cases.map((args) => system(state, ...args)));
    results.forEach((result, i) => {
      expect({ args: cases[i], code: result.code, stdout: result.stdout }).toEqual({ args: cases[i], code: 2, stdout: "" });
      expect(result.stderr).toMatch(/^system: [^\n]+ \(see --help\)\n$/);
    });
    expect(existsSync(state)).toBe(false);

    const bare = await run(NODE, [join(ROOT, "scripts/system.mjs")]);
    expect(bare).toEqual({ code: 2, stdout: "", stderr: "system: no command given (see --help)\n" });
    const help = await system(state, "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run system -- <command>/);
  });
});
