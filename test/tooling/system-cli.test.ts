// The operator CLI (`npm run system -- …`) making, changing and importing systems, each test against
// its own throwaway local KV state. Stored records are read back with wrangler itself, not the CLI.
import { writeFile } from "node:fs/promises";
import { describe, it } from "vitest";
import { generateSystemCredentials, parseSystemSecret } from "../../src/auth/secret.ts";
import { type Credentials, freshStates, storedRecord, storedRecords, system, systemJson, verifies } from "./harness.ts";

const SYSTEM_KEY = /^NETH-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SYSTEM_SECRET = /^my_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

/** Each test gets its own local state, so none depends on another. */
const freshState = freshStates("system-cli-");

// Concurrent: vitest runs the tooling files one after another on a 2-core machine, and each test
// mostly waits for wrangler processes, so two or more in flight use both cores.
describe.concurrent("npm run system: making, changing and importing systems", () => {
  it("create --json prints exactly the credentials once, with a 256-bit secret part, and stores a verifying record", async ({ expect }) => {
    const state = freshState();
    const result = await system(state, "create", "--org", "acme", "--json");
    expect(result.code).toBe(0);
    const created = JSON.parse(result.stdout) as Credentials; // stdout is one JSON object and nothing else
    expect(Object.keys(created).sort()).toEqual(["organization_id", "system_id", "system_key", "system_secret"]);
    expect(created.system_key).toMatch(SYSTEM_KEY);
    expect(created.system_secret).toMatch(SYSTEM_SECRET);
    expect(created.organization_id).toBe("acme");
    const secretPart = parseSystemSecret(created.system_secret)!.secretPart;
    expect(Buffer.from(secretPart, "base64url")).toHaveLength(32);
    expect(result.stderr).not.toContain(created.system_secret);

    const record = (await storedRecord(state, created.system_key))!;
    expect(record).toMatchObject({ system_id: created.system_id, organization_id: "acme", suspended_at: null, deleted_at: null, append_only: false });
    expect(record.registered_at).toMatch(RFC3339);
    expect(record.secret_sha256).toMatch(/^[0-9a-f]{32}:[0-9a-f]{64}$/);
    expect(await verifies(record, created.system_secret)).toBe(true);

    // show: the record, in text and in JSON, but never the hash nor its salt.
    const [text, json] = await Promise.all([system(state, "show", created.system_key), system(state, "show", created.system_key, "--json")]);
    const [salt, hash] = String(record.secret_sha256).split(":");
    for (const output of [text, json]) {
      expect(output.code).toBe(0);
      expect(output.stdout + output.stderr).not.toContain(hash);
      expect(output.stdout + output.stderr).not.toContain(salt);
      expect(output.stdout).not.toContain("secret_sha256");
    }
    const { secret_sha256: _hash, ...visible } = record;
    expect(JSON.parse(json.stdout)).toEqual({ system_key: created.system_key, status: "active", ...visible });
    expect(text.stdout).toContain(created.system_key);
    expect(text.stdout).toMatch(/status\s+active/);
  });

  it("create --append-only, suspend, resume and append-only change only their field of the stored record", async ({ expect }) => {
    const state = freshState();
    const { system_key: key } = await systemJson<Credentials>(state, "create", "--org", "acme", "--append-only", "--json");
    const before = (await storedRecord(state, key))!;
    expect(before).toMatchObject({ organization_id: "acme", suspended_at: null, append_only: true });

    const suspended = await systemJson(state, "suspend", key, "--json");
    expect(suspended).toMatchObject({ system_key: key, status: "suspended", append_only: true });
    expect(suspended.suspended_at).toMatch(RFC3339);
    expect(await storedRecord(state, key)).toEqual({ ...before, suspended_at: suspended.suspended_at });

    expect(await systemJson(state, "resume", key, "--json")).toMatchObject({ status: "active", suspended_at: null });
    expect(await systemJson(state, "append-only", key, "off", "--json")).toMatchObject({ status: "active", append_only: false });
    expect(await storedRecord(state, key)).toEqual({ ...before, append_only: false });
  });

  it("delete keeps the record (the key is never reused) and freezes it; --purge removes it; then the key is unknown", async ({ expect }) => {
    const state = freshState();
    const created = await systemJson<Credentials>(state, "create", "--org", "acme", "--json");
    const key = created.system_key;

    const deleted = await systemJson(state, "delete", key, "--json");
    expect(deleted).toMatchObject({ system_key: key, status: "deleted" });
    expect(deleted.deleted_at).toMatch(RFC3339);
    const refused = await system(state, "resume", key);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^system: .*deleted.*\n$/);
    const kept = (await storedRecord(state, key))!;
    expect(kept).toMatchObject({ system_id: created.system_id, organization_id: "acme", suspended_at: null, deleted_at: deleted.deleted_at });
    expect(await verifies(kept, created.system_secret)).toBe(true); // only deleted_at changed

    expect(await systemJson(state, "delete", key, "--purge", "--json")).toEqual({ system_key: key, purged: true });
    const unknown = await system(state, "show", key);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe("");
    expect(unknown.stderr).toBe(`system: unknown system key ${key} in local KV (${state})\n`);
  });

  it("rotate replaces the public part and the hash: only the new secret verifies", async ({ expect }) => {
    const state = freshState();
    const created = await systemJson<Credentials>(state, "create", "--org", "acme", "--json");
    const before = (await storedRecord(state, created.system_key))!;
    const rotated = await systemJson<Credentials>(state, "rotate", created.system_key, "--json");
    const after = (await storedRecord(state, created.system_key))!;

    expect(Object.keys(rotated).sort()).toEqual(["organization_id", "system_id", "system_key", "system_secret"]);
    expect(rotated).toMatchObject({ system_key: created.system_key, system_id: created.system_id, organization_id: "acme" });
    expect(rotated.system_secret).toMatch(SYSTEM_SECRET);
    expect(after.secret_public).not.toBe(before.secret_public);
    expect(after.secret_sha256).not.toBe(before.secret_sha256);
    expect(after).toEqual({ ...before, secret_public: after.secret_public, secret_sha256: after.secret_sha256 });
    expect(await verifies(after, rotated.system_secret)).toBe(true);
    expect(await verifies(after, created.system_secret)).toBe(false);
  });

  it("import writes every record of a valid export, as an object or an array, and refuses existing keys without --overwrite", async ({ expect }) => {
    const state = freshState();
    const made = await Promise.all(["org_1", "org_1", "org_2"].map((org) => generateSystemCredentials(org)));
    made[1].record.suspended_at = "2026-04-02T10:00:00Z";
    const asObject = `${state}-object.json`;
    const asArray = `${state}-array.json`;
    await writeFile(asObject, JSON.stringify({ [made[0].systemKey]: made[0].record, [made[1].systemKey]: made[1].record }));
    await writeFile(asArray, JSON.stringify([{ system_key: made[2].systemKey, ...made[2].record }]));

    expect(await systemJson(state, "import", asObject, "--json")).toEqual({ imported: 2, system_keys: [made[0].systemKey, made[1].systemKey] });
    expect(await systemJson(state, "import", asArray, "--json")).toEqual({ imported: 1, system_keys: [made[2].systemKey] });
    const stored = await storedRecords(state, made.map((m) => m.systemKey));
    expect(stored).toEqual(made.map((m) => m.record)); // unchanged, without the system_key field of the array form
    expect(await verifies(stored[2]!, made[2].systemSecret)).toBe(true);

    const listed = await systemJson(state, "list", "--json");
    expect(listed).toEqual(
      expect.arrayContaining([
        { system_key: made[0].systemKey, organization_id: "org_1", status: "active", append_only: false },
        { system_key: made[1].systemKey, organization_id: "org_1", status: "suspended", append_only: false },
        { system_key: made[2].systemKey, organization_id: "org_2", status: "active", append_only: false },
      ]),
    );
    expect(listed).toHaveLength(3);

    const again = await system(state, "import", asObject);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^system: import refused: 2 keys already exist .*nothing was written.*\n$/);
    expect((await system(state, "import", asObject, "--overwrite")).code).toBe(0);
  });

});
