// The appliance API as request sequences, against the worker with local KV, R2 and the ledger.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { organizationPrefix } from "../../src/backups/keys";
import { BASE, client, json, keyOf, newSystem, NO_RATE_LIMITS, objectKeys, blobPrefixOf, organizationBlobPrefix, patternBytes, prefixOf, sameBytes, send, sha256Hex, unrecordedBlobs } from "./helpers";
import { uuidv7 } from "../../src/backups/ids";
import { FaultInjector } from "./fault-bindings";

const UUIDV7_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\./;

describe("a backup's life: list empty → upload → list → download → delete → 404", () => {
  it("round-trips the bytes and the metadata", async () => {
    const system = await newSystem();
    const api = client(system);
    const bytes = patternBytes(4096, 7);

    const empty = await api.list();
    expect(empty.status).toBe(200);
    expect(await json(empty)).toEqual({ code: 200, message: "backups listed", data: { backups: [] } });

    const uploaded = await api.upload(bytes, "backup-1712887200.tar.gz.gpg");
    expect(uploaded.status).toBe(201);
    const created = await json(uploaded);
    expect(created.code).toBe(201);
    expect(created.data.id).toMatch(UUIDV7_ID);
    expect(created.data.id.endsWith(".gpg")).toBe(true);
    expect(created.data).toMatchObject({
      filename: "backup-1712887200.tar.gz.gpg",
      size: 4096,
      sha256: await sha256Hex(bytes),
      mimetype: "application/pgp-encrypted",
    });
    expect(Date.parse(created.data.uploaded_at)).toBeGreaterThan(Date.now() - 60_000);

    const listed = await json(await api.list());
    expect(listed.data.backups).toEqual([created.data]);

    const downloaded = await api.download(created.data.id);
    expect(downloaded.status).toBe(200);
    expect(new Uint8Array(await downloaded.arrayBuffer())).toEqual(bytes);

    const removed = await api.remove(created.data.id);
    expect(removed.status).toBe(200);
    expect(await json(removed)).toEqual({ code: 200, message: "backup deleted", data: { id: created.data.id } });

    const gone = await api.download(created.data.id);
    expect(gone.status).toBe(404);
    expect(await json(gone)).toEqual({ code: 404, message: "backup not found", data: null });
    expect(await json(await api.list())).toMatchObject({ data: { backups: [] } });
    const again = await api.remove(created.data.id);
    expect(again.status).toBe(404);
    await again.body?.cancel();
  });
});

describe("GET /api/systems/backups (the published endpoint)", () => {
  it("answers exactly the seed's shape, newest first", async () => {
    const system = await newSystem();
    const api = client(system);
    const ids: string[] = [];
    for (const name of ["daily-backup-2026-04-10.tar.gz", "daily-backup-2026-04-11.tar.xz", "daily-backup-2026-04-12.tar.zst"]) {
      const r = await api.upload(`content of ${name}`, name);
      ids.push((await json(r)).data.id);
    }
    const response = await api.list();
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = await json(response);
    expect(Object.keys(body).sort()).toEqual(["code", "data", "message"]);
    expect(Object.keys(body.data)).toEqual(["backups"]);
    expect(body.data.backups.map((b: any) => b.id)).toEqual([...ids].reverse());
    for (const backup of body.data.backups) {
      expect(Object.keys(backup).sort()).toEqual(["filename", "id", "mimetype", "sha256", "size", "uploaded_at"]);
      expect(typeof backup.size).toBe("number");
      expect(backup.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(backup.uploaded_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    expect(body.data.backups.map((b: any) => b.mimetype)).toEqual(["application/zstd", "application/x-xz", "application/gzip"]);
  });

  it("follows every page: 130 backups, newest first", async () => {
    const system = await newSystem();
    const prefix = prefixOf(system);
    const ids: string[] = [];
    const start = Date.now() - 200_000;
    for (let i = 0; i < 130; i++) {
      const id = `${uuidv7(start + i * 1000)}.tar.gz`;
      ids.push(id);
      await env.BACKUPS.put(prefix + id, `b${i}`, {
        customMetadata: { filename: `f${i}.tar.gz`, sha256: await sha256Hex(`b${i}`), uploaded_at: "2026-04-12T02:15:00Z", uploader_ip: "10.0.0.1", system_id: "x" },
        httpMetadata: { contentType: "application/gzip" },
      });
    }
    const body = await json(await client(system).list());
    expect(body.data.backups).toHaveLength(130);
    expect(body.data.backups.map((b: any) => b.id)).toEqual([...ids].reverse());
    expect(body.data.backups[129]).toEqual({
      id: ids[0], filename: "f0.tar.gz", size: 2, sha256: await sha256Hex("b0"), mimetype: "application/gzip", uploaded_at: "2026-04-12T02:15:00Z",
    });
  });

  it("never lists a blob, an upload's bytes before its entry, or an object without a digest", async () => {
    const system = await newSystem();
    await env.BACKUPS.put(blobPrefixOf(system) + `${uuidv7()}.bin`, "in flight");
    await env.BACKUPS.put(keyOf(system, `${uuidv7()}.bin`), "no digest");
    expect((await json(await client(system).list())).data.backups).toEqual([]);
  });

  it("answers 503 'backup storage unavailable' when R2 fails, never a 500", async () => {
    const system = await newSystem();
    const broken = new FaultInjector({ binding: "BACKUPS", method: "list", nth: "every", mode: "throw", message: "R2 internal detail" });
    const response = await client(system, broken.overrides()).list();
    expect(response.status).toBe(503);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ code: 503, message: "backup storage unavailable", data: null });
    expect(text).not.toContain("internal detail");
  });
});

describe("POST /api/systems/backups", () => {
  it("stores a streamed body above 1 MiB byte-exact, with the service's own SHA-256", async () => {
    const system = await newSystem();
    const bytes = patternBytes(3 * 1024 * 1024 + 17, 99);
    let offset = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(offset, offset + 65_536));
        offset += 65_536;
      },
    });
    const response = await send(
      new Request(BASE, {
        method: "POST",
        body,
        duplex: "half",
        headers: { Authorization: system.authorization, "Content-Length": String(bytes.length), "X-Filename": "big.tar.bz2" },
      } as RequestInit),
    );
    expect(response.status).toBe(201);
    const created = (await json(response)).data;
    expect(created.size).toBe(bytes.length);
    expect(created.sha256).toBe(await sha256Hex(bytes));
    expect(created.id.endsWith(".tar.bz2")).toBe(true);
    // Written once: the bytes under the blob key, then an entry of no bytes with the digest and size.
    const entry = await env.BACKUPS.head(keyOf(system, created.id));
    expect(entry?.size).toBe(0);
    expect(entry?.customMetadata).toMatchObject({ sha256: created.sha256, blob_size: String(bytes.length), filename: "big.tar.bz2" });
    const blob = await env.BACKUPS.get(blobPrefixOf(system) + created.id);
    expect(sameBytes(new Uint8Array(await blob!.arrayBuffer()), bytes)).toBe(true);
    const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
    expect(hex(blob!.checksums.md5!)).toBe(hex(await crypto.subtle.digest("MD5", bytes)));
    const downloaded = await client(system).download(created.id);
    expect(downloaded.headers.get("Content-Length")).toBe(String(bytes.length));
    expect(downloaded.headers.get("ETag")).toBe(blob!.httpEtag);
    expect(sameBytes(new Uint8Array(await downloaded.arrayBuffer()), bytes)).toBe(true);
    expect(await objectKeys(blobPrefixOf(system))).toEqual([blobPrefixOf(system) + created.id]);
    expect(await unrecordedBlobs(organizationBlobPrefix(system.org))).toEqual([]);
  });

  it("sanitises X-Filename and derives the id's extension from it", async () => {
    const system = await newSystem();
    const api = client(system, NO_RATE_LIMITS);
    const cases: [string | undefined, RegExp, string][] = [
      ["../../etc/passwd", /^passwd$/, ".bin"],
      ["C:\\backups\\night ly.TAR.GZ", /^night_ly\.TAR\.GZ$/, ".tar.gz"],
      ["back\"up;<x>.tar.xz", /^back_up__x_\.tar\.xz$/, ".tar.xz"],
      ["snapshot.tar.gz.gpg", /^snapshot\.tar\.gz\.gpg$/, ".gpg"],
      ["archive.zip", /^archive\.zip$/, ".bin"],
      ["..", /^backup-[0-9a-f-]{36}$/, ".bin"],
      [undefined, /^backup-[0-9a-f-]{36}$/, ".bin"],
      ["a".repeat(300) + ".tar.gz", /^a{255}$/, ".bin"],
    ];
    for (const [name, filename, ext] of cases) {
      const created = (await json(await api.upload(`x ${name}`, name, {}))).data;
      expect(created.filename).toMatch(filename);
      expect(created.id.endsWith(ext)).toBe(true);
    }
  }, 30_000);

  it("records the edge's client address, not X-Forwarded-For, and never returns it", async () => {
    const system = await newSystem();
    const response = await send(
      new Request(BASE, {
        method: "POST",
        body: "abc",
        headers: { Authorization: system.authorization, "CF-Connecting-IP": "203.0.113.7", "X-Forwarded-For": "198.51.100.1" },
      }),
    );
    const text = await response.text();
    expect(response.status).toBe(201);
    expect(text).not.toContain("203.0.113.7");
    const id = JSON.parse(text).data.id;
    const head = await env.BACKUPS.head(keyOf(system, id));
    expect(head?.customMetadata?.uploader_ip).toBe("203.0.113.7");
    const list = await (await client(system).list()).text();
    expect(list).not.toContain("203.0.113.7");
  });

  it("accepts a client digest (Content-Digest or X-Checksum-SHA256) and refuses a wrong one with nothing kept", async () => {
    const system = await newSystem();
    const api = client(system);
    const hex = await sha256Hex("payload");
    const b64 = btoa(String.fromCharCode(...hex.match(/../g)!.map((h) => parseInt(h, 16))));
    const viaDigest = await api.upload("payload", "a.gpg", { "Content-Digest": `sha-256=:${b64}:` });
    expect(viaDigest.status).toBe(201);
    expect((await json(viaDigest)).data.sha256).toBe(hex);
    const other = await sha256Hex("payload 2");
    const viaChecksum = await api.upload("payload 2", "b.gpg", { "X-Checksum-SHA256": other.toUpperCase() });
    expect(viaChecksum.status).toBe(201);
    expect((await json(viaChecksum)).data.sha256).toBe(other);

    const wrong = await api.upload("payload", "c.gpg", { "X-Checksum-SHA256": "0".repeat(64) });
    expect(wrong.status).toBe(400);
    const wrongText = await wrong.text();
    expect(JSON.parse(wrongText)).toEqual({ code: 400, message: "body does not match the declared SHA-256 digest", data: null });
    expect(wrongText).not.toContain(hex); // R2's error names the actual digest: never echoed
    const malformed = await api.upload("payload", "d.gpg", { "Content-Digest": "sha-256=:nope:" });
    expect(malformed.status).toBe(400);
    await malformed.body?.cancel();
    expect((await json(await api.list())).data.backups).toHaveLength(2);
  });

  it("requires Content-Length: 411 for a chunked body, nothing stored", async () => {
    const system = await newSystem();
    const body = new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode("chunked")), c.close()) });
    const response = await send(new Request(BASE, { method: "POST", body, duplex: "half", headers: { Authorization: system.authorization } } as RequestInit));
    expect(response.status).toBe(411);
    expect(await json(response)).toEqual({ code: 411, message: "Content-Length required", data: null });
    expect(await objectKeys(organizationPrefix(system.org))).toEqual([]);
  });

  it("refuses a body shorter or longer than its Content-Length with 400 and keeps nothing", async () => {
    const system = await newSystem();
    for (const [body, length] of [["abc", "10"], ["abcdefghijkl", "5"]] as const) {
      const response = await send(new Request(BASE, { method: "POST", body, headers: { Authorization: system.authorization, "Content-Length": length } }));
      expect(response.status).toBe(400);
      expect((await json(response)).message).toMatch(/^request body is (shorter|longer) than its Content-Length$/);
    }
    expect(await objectKeys(organizationPrefix(system.org))).toEqual([]);
    expect(await objectKeys(organizationBlobPrefix(system.org))).toEqual([]);
    expect((await json(await client(system).list())).data.backups).toEqual([]);
  });

  it("refuses an empty body (400) and one above BACKUP_MAX_UPLOAD_SIZE (413) before any storage call", async () => {
    const system = await newSystem();
    const empty = await client(system).upload(new Uint8Array(0), "x.gpg");
    expect(empty.status).toBe(400);
    expect(await json(empty)).toEqual({ code: 400, message: "empty body", data: null });
    const counting = new FaultInjector();
    const r2Calls = () => counting.callsTo("BACKUPS").length;
    const big = await client(system, { BACKUPS: counting.overrides().BACKUPS, BACKUP_MAX_UPLOAD_SIZE: "1000" }).upload(patternBytes(1001), "x.gpg");
    expect(big.status).toBe(413);
    expect(await json(big)).toEqual({ code: 413, message: "backup exceeds the maximum upload size", data: null });
    const atLimit = await client(system, { BACKUP_MAX_UPLOAD_SIZE: "1000" }).upload(patternBytes(1000), "x.gpg");
    expect(atLimit.status).toBe(201);
    await atLimit.body?.cancel();
    expect(r2Calls()).toBe(0);
  });
});

// Every download behaviour holds for a backup stored whole and for a split one (its bytes in a blob).
describe.each([
  ["stored whole", {}],
  ["split", { BACKUP_BUFFERED_UPLOAD_MAX: "0" }],
])("GET and HEAD /api/systems/backups/{id}, a backup %s", (_form, overrides) => {
  async function stored(bytes: Uint8Array | string, name = "nightly.tar.gz") {
    const system = await newSystem();
    const api = client(system, overrides);
    const created = (await json(await api.upload(bytes, name))).data;
    const entry = await env.BACKUPS.head(keyOf(system, created.id));
    expect(entry?.customMetadata?.blob_size).toBe("BACKUP_BUFFERED_UPLOAD_MAX" in overrides ? String(created.size) : undefined);
    return { system, api, created };
  }

  it("streams with the contract's headers, whatever type was uploaded", async () => {
    const { api, created } = await stored("<html><script>alert(1)</script>", "page.html");
    const response = await api.download(created.id);
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("application/octet-stream");
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(response.headers.get("Content-Disposition")).toBe('attachment; filename="page.html"');
    expect(response.headers.get("Content-Length")).toBe("31");
    expect(response.headers.get("ETag")).toMatch(/^"[0-9a-f]+"$/);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(await response.text()).toBe("<html><script>alert(1)</script>");
  });

  it("answers HEAD with the same headers and no body", async () => {
    const { api, created } = await stored("0123456789");
    const response = await api.head(created.id);
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Length")).toBe("10");
    expect(response.headers.get("Content-Type")).toBe("application/octet-stream");
    expect(response.headers.get("ETag")).toMatch(/^"/);
    expect(await response.text()).toBe("");
  });

  it("serves ranges with 206, and 416 with the size when unsatisfiable", async () => {
    const { api, created } = await stored("0123456789");
    const cases: [string, number, string | null, string][] = [
      ["bytes=2-5", 206, "bytes 2-5/10", "2345"],
      ["bytes=7-", 206, "bytes 7-9/10", "789"],
      ["bytes=-3", 206, "bytes 7-9/10", "789"],
      ["bytes=8-100", 206, "bytes 8-9/10", "89"],
      ["bytes=5-2", 200, null, "0123456789"],
      ["bytes=0-1,4-5", 200, null, "0123456789"],
      ["items=0-1", 200, null, "0123456789"],
    ];
    for (const [range, status, contentRange, text] of cases) {
      const response = await api.download(created.id, { Range: range });
      expect([range, response.status]).toEqual([range, status]);
      expect(response.headers.get("Content-Range")).toBe(contentRange);
      expect(response.headers.get("Content-Length")).toBe(String(text.length));
      expect(await response.text()).toBe(text);
    }
    for (const range of ["bytes=10-", "bytes=-0", "bytes=99999999999999999999-"]) {
      const response = await api.download(created.id, { Range: range });
      expect(response.status).toBe(416);
      expect(response.headers.get("Content-Range")).toBe("bytes */10");
      expect(await json(response)).toEqual({ code: 416, message: "range not satisfiable", data: null });
    }
  });

  it("answers 304 to a matching If-None-Match, 200 otherwise", async () => {
    const { api, created } = await stored("etag me");
    const etag = (await api.head(created.id)).headers.get("ETag")!;
    const cached = await api.download(created.id, { "If-None-Match": etag });
    expect(cached.status).toBe(304);
    expect(cached.headers.get("ETag")).toBe(etag);
    expect(await cached.text()).toBe("");
    const weak = await api.download(created.id, { "If-None-Match": `"other", W/${etag}` });
    expect(weak.status).toBe(304);
    await weak.body?.cancel();
    const stale = await api.download(created.id, { "If-None-Match": '"stale"' });
    expect(stale.status).toBe(200);
    expect(await stale.text()).toBe("etag me");
    const headCached = await api.head(created.id, { "If-None-Match": etag });
    expect(headCached.status).toBe(304);
  });

  it("answers 400 for an id outside the allowlist before any storage call, 404 for an absent one", async () => {
    const system = await newSystem();
    const counting = new FaultInjector();
    const storageCalls = () => counting.callsTo("BACKUPS").length + counting.callsTo("SYSTEMS").length;
    const { BACKUPS, SYSTEMS } = counting.overrides();
    const api = client(system, { BACKUPS, SYSTEMS });
    const v7 = uuidv7();
    for (const bad of [`${v7}.zip`, `${v7.toUpperCase()}.gpg`, `${crypto.randomUUID()}.gpg`, "..%2F..%2Fetc", `${v7}.gpg.gpg`, `x${v7}.gpg`]) {
      for (const response of [await api.download(bad), await api.remove(bad)]) {
        expect(response.status).toBe(400);
        expect(await json(response)).toEqual({ code: 400, message: "invalid backup id", data: null });
      }
    }
    expect(storageCalls()).toBe(0);
    const absent = await api.download(`${v7}.gpg`);
    expect(absent.status).toBe(404);
    expect(await json(absent)).toEqual({ code: 404, message: "backup not found", data: null });
  });
});

describe("DELETE /api/systems/backups/{id}", () => {
  it("deletes only the named backup", async () => {
    const system = await newSystem();
    const api = client(system);
    const a = (await json(await api.upload("a", "a.gpg"))).data;
    const b = (await json(await api.upload("b", "b.gpg"))).data;
    const response = await api.remove(a.id);
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ code: 200, message: "backup deleted", data: { id: a.id } });
    expect((await json(await api.list())).data.backups.map((x: any) => x.id)).toEqual([b.id]);
  });
});

describe("isolation between systems", () => {
  it("a sibling of the same organisation and a system of another cannot list, fetch or delete", async () => {
    const owner = await newSystem();
    const sibling = await newSystem({ org: owner.org });
    const stranger = await newSystem();
    const created = (await json(await client(owner).upload("secret config", "cfg.gpg"))).data;
    for (const other of [sibling, stranger]) {
      const api = client(other);
      expect((await json(await api.list())).data.backups).toEqual([]);
      for (const response of [await api.download(created.id), await api.head(created.id), await api.remove(created.id)]) {
        expect(response.status).toBe(404);
        await response.body?.cancel();
      }
    }
    const still = await client(owner).download(created.id);
    expect(await still.text()).toBe("secret config");
  });
});

describe("routing and the one error path", () => {
  it("answers unknown routes 404 and wrong methods 405 with Allow, in the envelope", async () => {
    const system = await newSystem();
    const auth = { Authorization: system.authorization };
    const notFound = await send(new Request("https://vault.test/api/systems/other", { headers: auth }));
    expect(notFound.status).toBe(404);
    expect(await json(notFound)).toEqual({ code: 404, message: "not found", data: null });
    const cases: [string, string, string][] = [
      ["PUT", BASE, "GET, HEAD, POST"],
      ["DELETE", BASE, "GET, HEAD, POST"],
      ["PATCH", `${BASE}/${uuidv7()}.gpg`, "GET, HEAD, DELETE"],
      ["POST", `${BASE}/${uuidv7()}.gpg`, "GET, HEAD, DELETE"],
    ];
    for (const [method, url, allow] of cases) {
      const response = await send(new Request(url, { method, headers: auth }));
      expect(response.status).toBe(405);
      expect(response.headers.get("Allow")).toBe(allow);
      expect(await json(response)).toEqual({ code: 405, message: "method not allowed", data: null });
    }
  });

  it("never shows internals: a throwing binding is a 503, a bad configuration a 500 without the detail", async () => {
    const system = await newSystem();
    const exploding = new FaultInjector({ binding: "BACKUPS", method: "*", nth: "every", mode: "throw", message: "secret internal path /srv/x" });
    const response = await client(system, { BACKUPS: exploding.overrides().BACKUPS }).list();
    const text = await response.text();
    expect(response.status).toBe(503); // R2 access itself failing is an outage, not a bug
    expect(text).not.toContain("/srv/x");
    const badConfig = await client(system, { BACKUP_MAX_PER_SYSTEM: "ten" }).upload("x", "x.gpg");
    expect(badConfig.status).toBe(500);
    expect(await json(badConfig)).toEqual({ code: 500, message: "service misconfigured", data: null });
  });
});
