// Headers as their RFCs have them: RFC 9530 digest negotiation on upload, RFC 9110's order of
// evaluation (preconditions before Range) on download.

import { describe, expect, it } from "vitest";
import { parseClientDigest } from "../../src/backups/request-headers";
import { dictionaryMembers } from "../../src/http/structured-fields";
import { organizationPrefix } from "../../src/backups/keys";
import { client, json, newSystem, NO_RATE_LIMITS, objectKeys, sha256Hex } from "./helpers";

const b64 = (hex: string) => btoa(String.fromCharCode(...hex.match(/../g)!.map((h) => parseInt(h, 16))));
const SHA512_OF_SOMETHING = `sha-512=:${btoa("x".repeat(64))}:`;

describe("Content-Digest (RFC 9530)", () => {
  it("parses a Structured Fields Dictionary, duplicates and parameters included", () => {
    expect(dictionaryMembers("sha-512=:AAAA:, sha-256=:BBBB:")).toEqual([
      ["sha-512", ":AAAA:"],
      ["sha-256", ":BBBB:"],
    ]);
    expect(dictionaryMembers('unixsum=42;x="y", adler=?1,crc32c=tok')).toEqual([
      ["unixsum", "42"],
      ["adler", "?1"],
      ["crc32c", "tok"],
    ]);
    expect(dictionaryMembers("")).toEqual([]);
    for (const bad of ["SHA-256=:AAAA:", "sha-256=:AA AA:", "sha-256=:AAAA:,", "sha-256 =:AAAA:", "sha-256=(a b)", "=x"]) expect(dictionaryMembers(bad), bad).toBeNull();
  });

  it("ignores algorithms it does not support, and requires every sha-256 value given to agree", async () => {
    const hex = await sha256Hex("payload");
    const other = await sha256Hex("other");
    const digest = (value: string) => parseClientDigest(new Headers({ "Content-Digest": value }));
    expect(digest(SHA512_OF_SOMETHING)).toBeNull();
    expect(digest("unixsum=1234, md5=:AAAAAAAAAAAAAAAAAAAAAA==:")).toBeNull();
    expect(digest(`${SHA512_OF_SOMETHING}, sha-256=:${b64(hex)}:`)).toBe(hex);
    expect(digest(`sha-256=:${b64(hex)}:, sha-256=:${b64(hex)}:`)).toBe(hex);
    expect(digest(`sha-256=:${b64(hex)}:, sha-256=:${b64(other)}:`)).toBe("invalid");
    expect(digest("sha-256=:AAAA:")).toBe("invalid"); // not 32 bytes
    expect(digest("sha-256=abc")).toBe("invalid"); // not a byte sequence
    expect(parseClientDigest(new Headers({ "Content-Digest": `sha-256=:${b64(hex)}:`, "X-Checksum-SHA256": other }))).toBe("invalid");
    expect(parseClientDigest(new Headers({ "Content-Digest": SHA512_OF_SOMETHING, "X-Checksum-SHA256": hex.toUpperCase() }))).toBe(hex);
  });

  it("end to end: sha-512 alone is stored with the service's own digest; contradicting sha-256 values are 400 with nothing kept", async () => {
    const system = await newSystem();
    const api = client(system, NO_RATE_LIMITS);
    const hex = await sha256Hex("payload");
    const only512 = await api.upload("payload", "a.gpg", { "Content-Digest": SHA512_OF_SOMETHING });
    expect(only512.status).toBe(201);
    expect((await json(only512)).data.sha256).toBe(hex);
    const other = await sha256Hex("other payload"); // not a retry of the newest: a new backup
    const both = await api.upload("other payload", "b.gpg", { "Content-Digest": `${SHA512_OF_SOMETHING}, sha-256=:${b64(other)}:` });
    expect(both.status).toBe(201);
    expect((await json(both)).data.sha256).toBe(other);
    const contradicting = await api.upload("payload", "c.gpg", { "Content-Digest": `sha-256=:${b64(hex)}:, sha-256=:${b64(await sha256Hex("x"))}:` });
    expect(contradicting.status).toBe(400);
    expect(await json(contradicting)).toEqual({ code: 400, message: "invalid Content-Digest or X-Checksum-SHA256", data: null });
    expect(await objectKeys(organizationPrefix(system.org))).toHaveLength(2);
  });
});

describe("preconditions before Range (RFC 9110 §13.2.2)", () => {
  it("answers 304 to a matching If-None-Match even when the range is unsatisfiable; 416 otherwise", async () => {
    const system = await newSystem();
    const api = client(system);
    const id = (await json(await api.upload("ten bytes!", "r.gpg"))).data.id;
    const etag = (await api.head(id)).headers.get("ETag")!;
    for (const range of ["bytes=999-", "bytes=-0", "bytes=10-20"]) {
      const cached = await api.download(id, { "If-None-Match": etag, Range: range });
      expect([range, cached.status]).toEqual([range, 304]);
      expect(cached.headers.get("ETag")).toBe(etag);
      expect(await cached.text()).toBe("");
      const stale = await api.download(id, { "If-None-Match": '"other"', Range: range });
      expect([range, stale.status]).toEqual([range, 416]);
      expect(stale.headers.get("Content-Range")).toBe("bytes */10");
      await stale.body?.cancel();
    }
    const partial = await api.download(id, { "If-None-Match": '"other"', Range: "bytes=2-4" });
    expect(partial.status).toBe(206);
    expect(await partial.text()).toBe("n b");
  });
});
