// GET /api/admin/token: a token learns its own name, role and scope (the console offers actions by
// role from it), and nothing else; a bad token gets the plane's one 401. Responses are checked
// against the OpenAPI document by `send`.

import { describe, expect, it } from "vitest";
import { json } from "./helpers";
import { admin, newOperator } from "./operator-helpers";

describe("GET /api/admin/token", () => {
  it("tells each token its own name, role and organisations, and never its hash", async () => {
    for (const [role, organizations] of [["reader", ["org-a"]], ["manager", ["org-a", "org-b"]], ["admin", "*"]] as const) {
      const operator = await newOperator(role, organizations === "*" ? "*" : [...organizations]);
      const response = await admin(operator, "GET", "/token");
      expect(response.status).toBe(200);
      expect(response.headers.get("Cache-Control")).toBe("no-store");
      expect(await json(response)).toEqual({ code: 200, message: "token", data: { name: operator.name, role, organizations } });
    }
  });

  it("answers 401 without a valid token, and 405 to other methods", async () => {
    const missing = await admin(null, "GET", "/token");
    expect(missing.status).toBe(401);
    expect((await json(missing)).data).toBeNull();
    const operator = await newOperator("admin", "*");
    const post = await admin(operator, "POST", "/token");
    expect(post.status).toBe(405);
    expect(post.headers.get("Allow")).toBe("GET, HEAD");
    await post.arrayBuffer();
  });
});
