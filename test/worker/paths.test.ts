// Paths as the reverse proxies in front of the existing backend match them: runs of slashes are
// one slash and a trailing slash is ignored, on every route, and nothing is ever redirected (a
// redirect would make curl resend the body and, with --location-trusted, the credentials).

import { describe, expect, it } from "vitest";
import { json, newSystem, NO_RATE_LIMITS, send } from "./helpers";

const ORIGIN = "https://vault.test";

describe("path spellings", () => {
  it("an appliance whose base URL ends in a slash lists, uploads, downloads and deletes as with the canonical paths", async () => {
    const system = await newSystem();
    const auth = { Authorization: system.authorization };
    const call = (path: string, init: RequestInit = {}) => send(new Request(ORIGIN + path, { ...init, headers: { ...auth, ...init.headers } }), NO_RATE_LIMITS);

    // `BASE=$COLLECT_URL/backups` with COLLECT_URL=https://host/api/systems/ builds `//backups`.
    const uploaded = await call("/api/systems//backups", { method: "POST", body: "first", headers: { "Content-Length": "5", "X-Filename": "a.tar.gz" } });
    expect(uploaded.status).toBe(201);
    const { id } = (await json(uploaded)).data;
    const second = await call("/api/systems/backups/", { method: "POST", body: "second", headers: { "Content-Length": "6", "X-Filename": "b.tar.gz" } });
    expect(second.status).toBe(201);
    await second.arrayBuffer();

    for (const path of ["/api/systems//backups", "/api/systems/backups/", "//api//systems///backups//", "/api/systems/backups"]) {
      const listed = await call(path);
      expect(listed.status, path).toBe(200);
      expect((await json(listed)).data.backups, path).toHaveLength(2);
    }
    for (const path of [`/api/systems//backups/${id}`, `/api/systems/backups/${id}/`, `/api/systems/backups//${id}`]) {
      const download = await call(path);
      expect(download.status, path).toBe(200);
      expect(await download.text()).toBe("first");
      const head = await call(path, { method: "HEAD" });
      expect(head.status, path).toBe(200);
    }
    const removed = await call(`/api/systems//backups//${id}/`, { method: "DELETE" });
    expect(removed.status).toBe(200);
    expect((await json(removed)).data).toEqual({ id });
  });

  it("never answers a redirect; wrong methods, unknown routes and bad ids keep their answers under any spelling", async () => {
    const system = await newSystem();
    const cases: [string, string, number][] = [
      ["PUT", "/api/systems//backups/", 405],
      ["POST", `/api/systems/backups/01900000-0000-7000-8000-000000000000.gpg/`, 405],
      ["GET", "/api/systems//backups/not-an-id/", 400],
      ["GET", "/api/systems//other/", 404],
      ["GET", "/api//systems", 404],
      ["GET", "/api/systems/backups/a/b", 404],
    ];
    for (const [method, path, status] of cases) {
      const response = await send(new Request(ORIGIN + path, { method, headers: { Authorization: system.authorization } }));
      expect(response.status, `${method} ${path}`).toBe(status);
      expect(response.headers.get("Location")).toBeNull();
      expect((await json(response)).code).toBe(status);
    }
  });
});
