// The operator tokens' CLI on the stores (local D1 through wrangler), and the OpenAPI document's
// validity as an OpenAPI 3.1 document.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, it } from "vitest";
import { d1Rows, ROOT, system, systemJson, tempDir } from "./harness.ts";

let root: { path: string; remove: () => Promise<void> };
beforeAll(async () => {
  root = await tempDir("operator-cli-");
});
afterAll(async () => {
  await root.remove();
});

describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document of both planes", async ({ expect }) => {
    const document = JSON.parse(await readFile(join(ROOT, "public/api/openapi.json"), "utf8"));
    const result = await new Validator().validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(document.openapi).toBe("3.1.0");
    for (const path of ["/api/systems/backups", "/api/systems/backups/{id}", "/api/admin/organizations/{org}/systems", "/api/admin/systems/{key}/move", "/api/downloads/{token}"])
      expect(Object.keys(document.paths)).toContain(path);
  });
});

describe.concurrent("npm run system -- token", () => {
  it("create prints the token once as the contract names it, stores only a salted hash, and is audited", async ({ expect }) => {
    const state = join(root.path, "tokens");
    const created = await systemJson(state, "token", "create", "--name", "portal", "--role", "manager", "--org", "org_a", "--org", "org_b", "--expires-days", "30", "--json");
    expect(Object.keys(created).sort()).toEqual(["expires_at", "name", "organizations", "role", "token"]);
    expect(created).toMatchObject({ name: "portal", role: "manager", organizations: ["org_a", "org_b"] });
    expect(created.token).toMatch(/^op_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(created.expires_at) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    const fleet = await systemJson(state, "token", "create", "--name", "ops", "--role", "admin", "--all-orgs", "--json");
    expect(fleet).toMatchObject({ organizations: "*", expires_at: null });

    const rows = await d1Rows(state, "SELECT name, secret_sha256 FROM operator_tokens ORDER BY name");
    expect(rows.map((r) => r.name)).toEqual(["ops", "portal"]);
    for (const row of rows) expect(row.secret_sha256).toMatch(/^[0-9a-f]{32}:[0-9a-f]{64}$/);
    const audit = await d1Rows(state, "SELECT organization_id, actor, action, target FROM audit_events ORDER BY seq");
    expect(audit).toEqual([
      { organization_id: "org_a", actor: "cli", action: "token.create", target: "portal" },
      { organization_id: "org_b", actor: "cli", action: "token.create", target: "portal" },
      { organization_id: "*", actor: "cli", action: "token.create", target: "ops" },
    ]);
  });

  it("list never shows a secret or a hash; a live name is taken; revoke ends the token", async ({ expect }) => {
    const state = join(root.path, "revoke");
    const created = await systemJson(state, "token", "create", "--name", "portal", "--role", "manager", "--org", "org_a", "--json");
    await systemJson(state, "token", "create", "--name", "ops", "--role", "admin", "--all-orgs", "--json");
    const duplicate = await system(state, "token", "create", "--name", "portal", "--role", "reader", "--all-orgs");
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('a live token is already named "portal"');

    const listed = await system(state, "token", "list", "--json");
    expect(listed.code).toBe(0);
    const [secret] = created.token.split(".").slice(1);
    expect(listed.stdout).not.toContain(secret);
    expect(listed.stdout).not.toMatch(/[0-9a-f]{32}:[0-9a-f]{64}/);
    expect(JSON.parse(listed.stdout).map((t: { name: string; status: string }) => `${t.name}:${t.status}`)).toEqual(["ops:live", "portal:live"]);

    const revoked = await system(state, "token", "revoke", "portal", "--json");
    expect(revoked.code).toBe(0);
    const after = JSON.parse((await system(state, "token", "list", "--json")).stdout);
    expect(after.find((t: { name: string }) => t.name === "portal").status).toBe("revoked");
    const again = await system(state, "token", "revoke", "portal");
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no live token is named "portal"');
  });

  it("refuses bad usage with exit status 2, writing nothing", async ({ expect }) => {
    const state = join(root.path, "usage");
    for (const args of [
      ["token", "create", "--name", "x", "--role", "admin"],
      ["token", "create", "--name", "x", "--role", "admin", "--org", "a", "--all-orgs"],
      ["token", "create", "--role", "admin", "--all-orgs"],
      ["token", "create", "--name", "x", "--role", "admin", "--org", "../etc"],
      ["token", "create", "--name", "x", "--role", "admin", "--all-orgs", "--expires-days", "0"],
      ["token", "revoke"],
      ["token", "frobnicate"],
      ["token", "create", "--name", "x", "--role", "admin", "--all-orgs", "--url", "http://127.0.0.1:9"],
      ["link", "NETH-1", "01900000-0000-7000-8000-000000000000.gpg"],
    ]) {
      const result = await system(state, ...args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
    }
    const badRole = await system(state, "token", "create", "--name", "x", "--role", "root", "--all-orgs");
    expect(badRole.code).toBe(1);
    expect(badRole.stderr).toContain('invalid role "root"');
  });
});
