// Signed download links: the restore path of a dead appliance. A link downloads the backup
// byte-exact with the appliance download's headers (Range, HEAD, 304) and no credential; a
// forged, truncated, re-targeted or re-signed link is 404 without a storage call; an expired
// one is 410; a deleted backup's link is 404.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { signDownloadLink, verifyDownloadLink } from "../../src/auth/download-link";
import { FaultInjector } from "./fault-bindings";
import { client, json, patternBytes, sameBytes, send } from "./helpers";
import { admin, newFleetOrg, newOperator } from "./operator-helpers";

async function linkFor(key: string, id: string, query = "") {
  const org = (await env.SYSTEMS.get(key, "json")) as { organization_id: string };
  const operator = await newOperator("reader", [org.organization_id]);
  const response = await admin(operator, "POST", `/systems/${key}/backups/${id}/link${query}`);
  return { response, body: await json(response) };
}

const get = (url: string, headers: Record<string, string> = {}, overrides?: Parameters<typeof send>[1]) =>
  send(new Request(url, { headers }), overrides);

describe("download links", () => {
  it("downloads the backup byte-exact, with Range, HEAD and 304, and no credential", async () => {
    const fleet = await newFleetOrg();
    const bytes = patternBytes(300_000, 7);
    const { data: stored } = await json(await client(fleet.system).upload(bytes, "restore-me.tar.gz.gpg"));
    const { response, body } = await linkFor(fleet.system.key, stored.id);
    expect(response.status).toBe(200);
    expect(body.data.expires_in_seconds).toBe(300);
    expect(Date.parse(body.data.expires_at) - Date.now()).toBeGreaterThan(290_000);
    const url: string = body.data.download_url;
    expect(url).toMatch(/^https:\/\/vault\.test\/api\/downloads\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);

    const full = await get(url);
    expect(full.status).toBe(200);
    expect(Object.fromEntries(full.headers)).toMatchObject({
      "content-type": "application/octet-stream",
      "x-content-type-options": "nosniff",
      "content-disposition": 'attachment; filename="restore-me.tar.gz.gpg"',
      "content-length": String(bytes.byteLength),
      "accept-ranges": "bytes",
      "cache-control": "no-store",
    });
    expect(full.headers.get("Location")).toBeNull();
    expect(sameBytes(new Uint8Array(await full.arrayBuffer()), bytes)).toBe(true);

    const part = await get(url, { Range: "bytes=1000-1999" });
    expect(part.status).toBe(206);
    expect(part.headers.get("Content-Range")).toBe(`bytes 1000-1999/${bytes.byteLength}`);
    expect(sameBytes(new Uint8Array(await part.arrayBuffer()), bytes.slice(1000, 2000))).toBe(true);

    const tail = await get(url, { Range: "bytes=299000-" });
    expect(tail.status).toBe(206);
    expect(sameBytes(new Uint8Array(await tail.arrayBuffer()), bytes.slice(299_000))).toBe(true);

    const past = await get(url, { Range: `bytes=${bytes.byteLength}-` });
    expect(past.status).toBe(416);
    expect(past.headers.get("Content-Range")).toBe(`bytes */${bytes.byteLength}`);
    await past.arrayBuffer();

    const head = await send(new Request(url, { method: "HEAD" }));
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Length")).toBe(String(bytes.byteLength));
    const etag = head.headers.get("ETag")!;
    const cached = await get(url, { "If-None-Match": etag });
    expect(cached.status).toBe(304);
    await cached.arrayBuffer();

    const post = await send(new Request(url, { method: "POST" }));
    expect(post.status).toBe(405);
    expect(post.headers.get("Allow")).toBe("GET, HEAD");
    await post.arrayBuffer();
  });

  it("refuses forged, truncated, re-targeted and re-signed links with 404, before any storage call", async () => {
    const a = await newFleetOrg();
    const b = await newFleetOrg();
    const { body } = await linkFor(a.system.key, a.backupId);
    const url: string = body.data.download_url;
    const token = url.slice(url.lastIndexOf("/") + 1);
    const [payload, mac] = token.split(".");
    const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const respell = (c: string) => ALPHABET[ALPHABET.indexOf(c) ^ 1];
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
    const claims = { organizationId: b.org, systemKey: b.system.key, backupId: b.backupId, expiresAt: Math.floor(Date.now() / 1000) + 300 };
    const forged = {
      "payload byte changed": `${flip(payload, 10)}.${mac}`,
      "signature byte changed": `${payload}.${flip(mac, 5)}`,
      // The last base64url character carries 2 spare bits: a respelling decodes to the same MAC.
      "last character respelled": `${payload}.${mac.slice(0, -1)}${respell(mac.at(-1)!)}`,
      "truncated signature": `${payload}.${mac.slice(0, -1)}`,
      "signature removed": payload,
      "truncated payload": `${payload.slice(0, -4)}.${mac}`,
      "another system's claims with this signature": `${(await signDownloadLink("x".repeat(32), claims)).split(".")[0]}.${mac}`,
      "signed with another secret": await signDownloadLink("another-secret-0123456789abcdef", claims),
      "not a token at all": "not-a-token",
      "very long": "A".repeat(5000) + "." + mac,
    };
    for (const [what, bad] of Object.entries(forged)) {
      const injector = new FaultInjector();
      const response = await get(`https://vault.test/api/downloads/${bad}`, {}, injector.overrides());
      expect(response.status, what).toBe(404);
      expect((await json(response)).message, what).toBe("link not found");
      expect(injector.calls, what).toEqual([]);
    }
    const genuine = await get(url);
    expect(genuine.status).toBe(200);
    await genuine.arrayBuffer();
  });

  it("a rotated signing secret kills every link given out", async () => {
    const fleet = await newFleetOrg();
    const { body } = await linkFor(fleet.system.key, fleet.backupId);
    const injector = new FaultInjector();
    const response = await get(body.data.download_url, {}, { ...injector.overrides(), DOWNLOAD_LINK_SECRET: "the-new-secret-after-rotation-42" });
    expect(response.status).toBe(404);
    await response.arrayBuffer();
    expect(injector.calls).toEqual([]);
  });

  it("a link to a deleted backup is 404; an expired link is 410", async () => {
    const fleet = await newFleetOrg();
    const { body } = await linkFor(fleet.system.key, fleet.backupId);
    expect((await client(fleet.system).remove(fleet.backupId)).status).toBe(200);
    const gone = await get(body.data.download_url);
    expect(gone.status).toBe(404);
    await gone.arrayBuffer();

    const other = await newFleetOrg();
    const expired = await signDownloadLink(env.DOWNLOAD_LINK_SECRET, {
      organizationId: other.org,
      systemKey: other.system.key,
      backupId: other.backupId,
      expiresAt: Math.floor(Date.now() / 1000) - 1,
    });
    const injector = new FaultInjector();
    const late = await get(`https://vault.test/api/downloads/${expired}`, {}, injector.overrides());
    expect(late.status).toBe(410);
    expect((await json(late)).message).toBe("link expired");
    expect(injector.calls).toEqual([]);
  });

  it("a link lives exactly its lifetime (the clock moved forward)", async () => {
    const secret = "clock-test-secret-0123456789abcd";
    const t0 = 1_800_000_000;
    const token = await signDownloadLink(secret, { organizationId: "o", systemKey: "k", backupId: "x", expiresAt: t0 + 300 });
    expect((await verifyDownloadLink(secret, token, t0)).ok).toBe(true);
    expect((await verifyDownloadLink(secret, token, t0 + 299)).ok).toBe(true);
    expect(await verifyDownloadLink(secret, token, t0 + 300)).toEqual({ ok: false, reason: "expired" });
    expect(await verifyDownloadLink(secret, token, t0 + 86_400)).toEqual({ ok: false, reason: "expired" });
    // A forged link is "invalid" at any time, never "expired": its expiry is not believed.
    expect(await verifyDownloadLink("another-secret-0123456789abcdef", token, t0 + 301)).toEqual({ ok: false, reason: "invalid" });
  });

  it("takes ?ttl from 1 to 900 seconds and refuses anything else before any storage call", async () => {
    const fleet = await newFleetOrg();
    const max = await linkFor(fleet.system.key, fleet.backupId, "?ttl=900");
    expect(max.body.data.expires_in_seconds).toBe(900);
    for (const ttl of ["0", "901", "-5", "abc", "1e3", "", "300.5", "99999999999"]) {
      const { response, body } = await linkFor(fleet.system.key, fleet.backupId, `?ttl=${ttl}`);
      expect(response.status, ttl).toBe(400);
      expect(body.message).toMatch(/^ttl must be/);
    }
    const missing = await linkFor(fleet.system.key, "01900000-0000-7000-8000-000000000000.gpg");
    expect(missing.response.status).toBe(404);
  });
});
