// Uploads as the real fleet sends them: small bodies written once, retries that store nothing
// twice (also concurrent ones), and the body left unread until the ledger has admitted it.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BLOB_PREFIX, organizationPrefix } from "../../src/backups/keys";
import { FaultInjector } from "./fault-bindings";
import { BASE, client, json, keyOf, newSystem, NO_RATE_LIMITS, objectKeys, organizationBlobPrefix, organizationLedger, patternBytes, send, sha256Hex, unrecordedBlobs, type Overrides, type TestSystem } from "./helpers";
import { uuidv7At } from "./model";

const KiB = 1024;

/** Uploads with counting bindings; returns the answer, its envelope and the calls made. */
async function countedUpload(system: TestSystem, bytes: Uint8Array, overrides: Overrides = NO_RATE_LIMITS, headers: Record<string, string> = {}) {
  const calls = new FaultInjector();
  const response = await client(system, { ...overrides, ...calls.overrides() }).upload(bytes, "backup-1712887200.tar.gz.gpg", headers);
  return { status: response.status, body: await json(response), calls };
}

/** R2 writes (puts) of a request, as keys. */
function puts(calls: FaultInjector): string[] {
  return calls.callsTo("BACKUPS", "put").map((c) => c.target);
}

describe("small uploads: read whole, written once", () => {
  it("a 64 KiB upload without a digest is one R2 write, under its final key, with the digest R2 verified", async () => {
    const system = await newSystem();
    const bytes = patternBytes(64 * KiB, 3);
    const { status, body, calls } = await countedUpload(system, bytes);
    expect(status).toBe(201);
    expect(body.message).toBe("backup stored");
    const key = keyOf(system, body.data.id);
    expect(puts(calls)).toEqual([key]);
    expect(calls.callsTo("BACKUPS").map((c) => c.method)).toEqual(["put"]); // no blob, no read, no delete
    const object = await env.BACKUPS.get(key);
    const stored = new Uint8Array(await object!.arrayBuffer());
    expect(object!.customMetadata!.sha256).toBe(await sha256Hex(bytes));
    expect(body.data.sha256).toBe(object!.customMetadata!.sha256);
    // R2's own checksum: the digest was passed as the put's `sha256` option, so R2 checked it.
    expect(Array.from(new Uint8Array(object!.checksums.sha256!), (b) => b.toString(16).padStart(2, "0")).join("")).toBe(body.data.sha256);
    expect(stored.byteLength).toBe(bytes.byteLength);
    expect(await sha256Hex(stored)).toBe(await sha256Hex(bytes));
  });

  it("up to BACKUP_BUFFERED_UPLOAD_MAX bytes are buffered, one byte more streams into a blob, 0 streams all", async () => {
    const system = await newSystem();
    const limit = { ...NO_RATE_LIMITS, BACKUP_BUFFERED_UPLOAD_MAX: "2000" };
    const atMax = await countedUpload(system, patternBytes(2000, 1), limit);
    expect(atMax.status).toBe(201);
    expect(puts(atMax.calls).filter((k) => k.startsWith(BLOB_PREFIX))).toEqual([]);
    const above = await countedUpload(system, patternBytes(2001, 2), limit);
    expect(above.status).toBe(201);
    expect(puts(above.calls).map((k) => k.startsWith(BLOB_PREFIX))).toEqual([true, false]);
    const off = await countedUpload(system, patternBytes(10, 3), { ...NO_RATE_LIMITS, BACKUP_BUFFERED_UPLOAD_MAX: "0" });
    expect(off.status).toBe(201);
    expect(puts(off.calls)).toHaveLength(2);
    expect(await unrecordedBlobs(organizationBlobPrefix(system.org))).toEqual([]);
  });

  it("a large upload without a digest writes its bytes once: the blob as they arrive, then an entry of no bytes, nothing read back", async () => {
    const system = await newSystem();
    const bytes = patternBytes(3 * 1024 * KiB + 5, 4);
    const { status, body, calls } = await countedUpload(system, bytes);
    expect(status).toBe(201);
    const key = keyOf(system, body.data.id);
    expect(calls.callsTo("BACKUPS").map((c) => `${c.method} ${c.target}`)).toEqual([`put ${BLOB_PREFIX}${key}`, `put ${key}`]);
    expect(body.data).toMatchObject({ size: bytes.byteLength, sha256: await sha256Hex(bytes) });
    expect((await env.BACKUPS.head(key))?.size).toBe(0);
    expect((await env.BACKUPS.head(BLOB_PREFIX + key))?.size).toBe(bytes.byteLength);
  });

  it("a body shorter or longer than its Content-Length, or not matching its declared digest: 400, no R2 write, no quota held", async () => {
    const system = await newSystem();
    const bytes = patternBytes(5000, 4);
    for (const [declared, headers] of [
      [4999, {}],
      [5001, {}],
      [5000, { "X-Checksum-SHA256": "0".repeat(64) }],
    ] as const) {
      const calls = new FaultInjector();
      const response = await send(
        new Request(BASE, { method: "POST", body: bytes, headers: { Authorization: system.authorization, "Content-Length": String(declared), ...headers } }),
        { ...NO_RATE_LIMITS, ...calls.overrides() },
      );
      expect(response.status).toBe(400);
      await response.arrayBuffer();
      expect(calls.callsTo("BACKUPS", "put")).toEqual([]);
    }
    expect(await objectKeys(organizationPrefix(system.org))).toEqual([]);
    expect(await organizationLedger(system.org).usageBytes(system.org)).toBe(0);
  });

  it("reads no byte of the body before the ledger admits it (quota and rate refusals)", async () => {
    for (const overrides of [
      { ...NO_RATE_LIMITS, BACKUP_MAX_SIZE_PER_ORG: "150" },
      { BACKUP_RATE_LIMIT_PER_MINUTE: "1", BACKUP_RATE_LIMIT_PER_HOUR: "0" },
    ]) {
      const system = await newSystem();
      expect((await client(system, overrides).upload(patternBytes(100, 5), "a.gpg")).status).toBe(201);
      let pulls = 0;
      const body = new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            pulls++;
            controller.enqueue(patternBytes(100, 6));
            controller.close();
          },
        },
        { highWaterMark: 0 }, // pulled only when read
      );
      const refused = await send(new Request(BASE, { method: "POST", body, headers: { Authorization: system.authorization, "Content-Length": "100" } }), overrides);
      expect([413, 429]).toContain(refused.status);
      await refused.arrayBuffer();
      expect(pulls).toBe(0);
    }
  });
});

describe("retries store nothing twice", () => {
  it("the same bytes again: 200 'backup already stored' with the first backup's metadata, no R2 write, one backup", async () => {
    const system = await newSystem();
    const bytes = patternBytes(64 * KiB, 7);
    const first = await countedUpload(system, bytes);
    expect(first.status).toBe(201);
    const retry = await countedUpload(system, bytes);
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual({ code: 200, message: "backup already stored", data: first.body.data });
    expect(retry.calls.callsTo("BACKUPS").map((c) => c.method)).toEqual(["head"]); // one Class B read, no write
    expect(retry.calls.callsTo("ORG_LEDGER").map((c) => c.method)).toEqual(["reserve", "settleRepeat"]);
    expect((await json(await client(system).list())).data.backups).toEqual([first.body.data]);
    expect(await organizationLedger(system.org).usageBytes(system.org)).toBe(bytes.byteLength); // the retry holds no reservation
  });

  it("different bytes, or bytes equal to an older backup (not the newest), make a new backup", async () => {
    const system = await newSystem();
    const api = client(system, NO_RATE_LIMITS);
    const a = (await json(await api.upload(patternBytes(3000, 1), "a.gpg"))).data;
    const b = await api.upload(patternBytes(3000, 2), "b.gpg");
    expect(b.status).toBe(201);
    await b.arrayBuffer();
    const againA = await api.upload(patternBytes(3000, 1), "a.gpg");
    expect(againA.status).toBe(201);
    expect((await json(againA)).data.id).not.toBe(a.id);
    const sameSizeOtherBytes = await api.upload(patternBytes(3000, 3), "c.gpg");
    expect(sameSizeOtherBytes.status).toBe(201);
    await sameSizeOtherBytes.arrayBuffer();
    expect((await json(await api.list())).data.backups).toHaveLength(4);
  });

  it("a newest backup whose object is gone from R2 (its ledger update lost) is forgotten, and its bytes stored again", async () => {
    const system = await newSystem();
    const api = client(system, NO_RATE_LIMITS);
    const first = (await json(await api.upload("same bytes", "a.gpg"))).data;
    await env.BACKUPS.delete(keyOf(system, first.id));
    const again = await api.upload("same bytes", "a.gpg");
    expect(again.status).toBe(201);
    const stored = (await json(again)).data;
    expect(stored.id).not.toBe(first.id);
    expect(await objectKeys(organizationPrefix(system.org))).toEqual([keyOf(system, stored.id)]);
    expect(await organizationLedger(system.org).usageBytes(system.org)).toBe("same bytes".length);
  });

  it("after the newest backup is deleted, its bytes are stored again", async () => {
    const system = await newSystem();
    const api = client(system, NO_RATE_LIMITS);
    const first = (await json(await api.upload("same bytes", "a.gpg"))).data;
    expect((await api.remove(first.id)).status).toBe(200);
    const again = await api.upload("same bytes", "a.gpg");
    expect(again.status).toBe(201);
    expect((await json(again)).data.id).not.toBe(first.id);
  });

  it("a large (streamed) retry writes only a blob, then removes it: no entry, nothing left behind", async () => {
    const system = await newSystem();
    const streamed = { ...NO_RATE_LIMITS, BACKUP_BUFFERED_UPLOAD_MAX: "1000" };
    const bytes = patternBytes(200 * KiB, 8);
    const first = await countedUpload(system, bytes, streamed);
    expect(first.status).toBe(201);
    const retry = await countedUpload(system, bytes, streamed);
    expect(retry.status).toBe(200);
    expect(retry.body.data).toEqual(first.body.data);
    expect(puts(retry.calls).every((k) => k.startsWith(BLOB_PREFIX))).toBe(true);
    expect(puts(retry.calls)).toHaveLength(1);
    expect(await objectKeys(organizationBlobPrefix(system.org))).toEqual([BLOB_PREFIX + keyOf(system, first.body.data.id)]);
    expect(await objectKeys(organizationPrefix(system.org))).toEqual([keyOf(system, first.body.data.id)]);
  });

  it("a retry declaring the newest backup's digest is still read and checked: a lying body is 400, an honest one 200", async () => {
    const system = await newSystem();
    const bytes = patternBytes(5000, 9);
    const digest = { "X-Checksum-SHA256": await sha256Hex(bytes) };
    for (const buffered of ["1048576", "0"]) {
      const overrides = { ...NO_RATE_LIMITS, BACKUP_BUFFERED_UPLOAD_MAX: buffered };
      const first = await countedUpload(system, bytes, overrides, digest);
      expect(first.status, `buffered up to ${buffered}`).toBe(201);
      const lying = await countedUpload(system, patternBytes(5000, 10), overrides, digest);
      expect(lying.status).toBe(400);
      expect(lying.body.message).toBe("body does not match the declared SHA-256 digest");
      const honest = await countedUpload(system, bytes, overrides, digest);
      expect(honest.status).toBe(200);
      expect(honest.body.data).toEqual(first.body.data);
      expect(puts(honest.calls).filter((k) => !k.startsWith(BLOB_PREFIX))).toEqual([]);
      // Start again from an empty system for the streamed variant.
      expect((await client(system).remove(first.body.data.id)).status).toBe(200);
    }
    expect(await objectKeys(organizationPrefix(system.org))).toEqual([]);
    expect(await unrecordedBlobs(organizationBlobPrefix(system.org))).toEqual([]);
  });

  for (const [path, buffered] of [
    ["buffered", "1048576"],
    ["streamed", "0"],
  ] as const) {
    it(`eight concurrent identical uploads (${path}) leave exactly one backup, and every answer names it`, async () => {
      const system = await newSystem();
      const overrides = { ...NO_RATE_LIMITS, BACKUP_BUFFERED_UPLOAD_MAX: buffered };
      const bytes = patternBytes(20 * KiB, 11);
      const answers = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const response = await client(system, overrides).upload(bytes, "same.tar.gz.gpg");
          return { status: response.status, data: (await json(response)).data };
        }),
      );
      expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
      expect(answers.filter((a) => a.status === 200)).toHaveLength(7);
      expect(new Set(answers.map((a) => a.data.id)).size).toBe(1);
      expect(await objectKeys(organizationPrefix(system.org))).toEqual([keyOf(system, answers[0].data.id)]);
      expect(await unrecordedBlobs(organizationBlobPrefix(system.org))).toEqual([]);
      expect(await organizationLedger(system.org).usageBytes(system.org)).toBe(bytes.byteLength);
    });
  }

  for (const takeBackFails of [false, true]) {
    it(`an identical upload committed while another is in flight: the later commit takes its copy back${takeBackFails ? " (or, if that delete fails, the daily reconciliation counts it)" : ""} and answers with the first`, async () => {
      const system = await newSystem();
      const bytes = patternBytes(3000, 13);
      // The slow upload is admitted first, then waits for its body while the fast one is stored.
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await held;
          controller.enqueue(bytes);
          controller.close();
        },
      });
      const calls = new FaultInjector(takeBackFails ? { binding: "BACKUPS", method: "delete", nth: 1, mode: "throw" } : null);
      const slow = send(
        new Request(BASE, { method: "POST", body, headers: { Authorization: system.authorization, "Content-Length": String(bytes.byteLength) } }),
        { ...NO_RATE_LIMITS, ...calls.overrides() },
      );
      while (calls.callsTo("ORG_LEDGER", "reserve").length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const fast = await client(system, NO_RATE_LIMITS).upload(bytes, "fast.gpg");
      expect(fast.status).toBe(201);
      const stored = (await json(fast)).data;
      release();
      const answer = await slow;
      expect(answer.status).toBe(200);
      expect(await json(answer)).toEqual({ code: 200, message: "backup already stored", data: stored });
      expect(calls.callsTo("ORG_LEDGER").map((c) => c.method)).toEqual(["reserve", "commit"]);
      const left = await objectKeys(organizationPrefix(system.org));
      const stub = organizationLedger(system.org);
      if (!takeBackFails) {
        expect(left).toEqual([keyOf(system, stored.id)]);
        expect(await stub.usageBytes(system.org)).toBe(3000);
        return;
      }
      // Unacknowledged and unrecorded, the copy stays until the ledger's reconciliation counts it.
      expect(left).toHaveLength(2);
      expect(await stub.reconcile(system.org)).toEqual({ dropped: 0, added: 1 });
      expect(await stub.usageBytes(system.org)).toBe(6000);
    });
  }

  it("after the ledger lost its state, it rebuilds the digests from R2: a retry still stores nothing", async () => {
    const system = await newSystem();
    const bytes = patternBytes(4000, 12);
    const sha256 = await sha256Hex(bytes);
    const id = `${uuidv7At(Date.now() - 60_000)}.gpg`;
    await env.BACKUPS.put(keyOf(system, id), bytes, {
      sha256,
      customMetadata: { filename: "old.tar.gz.gpg", sha256, uploaded_at: "2026-05-01T00:00:00Z", uploader_ip: "10.0.0.1", system_id: system.record.system_id },
    });
    const retry = await countedUpload(system, bytes);
    expect(retry.status).toBe(200);
    expect(retry.body.data).toMatchObject({ id, sha256, size: 4000, filename: "old.tar.gz.gpg", uploaded_at: "2026-05-01T00:00:00Z" });
    expect(puts(retry.calls)).toEqual([]);
  });
});
