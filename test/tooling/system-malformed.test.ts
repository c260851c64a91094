// The operator CLI judges records by the worker's own rules (recordProblems in src/auth/secret.ts):
// a record the worker refuses shows as malformed in `show` and `list`, cannot be changed, and can
// be purged, whatever is stored (not even JSON, or a field over its length bound).
import { join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { generateSystemCredentials } from "../../src/auth/secret.ts";
import { runWrangler } from "../../scripts/harness/wrangler.mjs";
import { storedRecord, system, systemJson, tempDir } from "./harness.ts";

let root: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  root = await tempDir("system-malformed-");
});
afterAll(async () => {
  await root.remove();
});

/** Writes a raw value into the local KV with wrangler itself, as a careless import or a hand edit would. */
async function putRaw(state: string, key: string, value: string): Promise<void> {
  await runWrangler(["kv", "key", "put", key, value, "--binding", "SYSTEMS", "--local", "--persist-to", state]);
}

describe("npm run system: malformed records", () => {
  it("show and list call them malformed, changes are refused, delete --purge removes them", async ({ expect }) => {
    const state = join(root.path, "state");
    const good = await generateSystemCredentials("org_1");
    const long = await generateSystemCredentials("org_1");
    const notJson = "NETH-not-json";
    const tooLong = long.systemKey;
    await putRaw(state, good.systemKey, JSON.stringify(good.record));
    await putRaw(state, notJson, "{oops");
    await putRaw(state, tooLong, JSON.stringify({ ...long.record, system_id: "x".repeat(129) }));

    const listed = await systemJson(state, "list", "--json");
    const byKey = new Map(listed.map((s: { system_key: string }) => [s.system_key, s]));
    expect(byKey.get(good.systemKey)).toEqual({ system_key: good.systemKey, organization_id: "org_1", status: "active", append_only: false });
    expect(byKey.get(notJson)).toMatchObject({ status: "malformed", organization_id: null, problems: ["record is not valid JSON"] });
    expect(byKey.get(tooLong)).toMatchObject({ status: "malformed", organization_id: "org_1", problems: ["system_id must be 1 to 128 printable ASCII characters"] });

    const shown = await system(state, "show", tooLong, "--json");
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual({ system_key: tooLong, organization_id: "org_1", status: "malformed", problems: ["system_id must be 1 to 128 printable ASCII characters"] });
    expect(shown.stdout).not.toContain(String(long.record.secret_sha256).split(":")[1]);
    const text = await system(state, "show", notJson);
    expect(text.stdout).toMatch(/status\s+malformed/);
    expect(text.stdout).toMatch(/problems\s+record is not valid JSON/);

    const refused = await system(state, "suspend", tooLong);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^system: the record of .* is malformed \(system_id must be .*\); .*delete .* --purge.*\n$/);

    for (const key of [notJson, tooLong]) expect(await systemJson(state, "delete", key, "--purge", "--json")).toEqual({ system_key: key, purged: true });
    expect(await storedRecord(state, tooLong)).toBeNull();
    expect((await systemJson(state, "list", "--json")).map((s: { system_key: string }) => s.system_key)).toEqual([good.systemKey]);
  });
});
