import { expect, it } from "vitest";
import { parseSystemSecret } from "../../src/auth/secret.ts";
it("parses", () => { expect(parseSystemSecret("my_a.b")).toEqual({ publicPart: "a", secretPart: "b" }); });
