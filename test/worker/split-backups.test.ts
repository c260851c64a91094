// Split backups: a large upload without a client digest stores its bytes once, under a blob key,
// and then an entry of no bytes under its backup key records the digest and size. Every path that
// reads, counts, copies or removes a backup treats the pair as one backup: the listing, the ledger
// and its reconciliation, downloads, the recovery window (delete, prune, purge, restore, erase)
// and a move. What R2 stored is checked against the bytes hashed on the way in.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ingestBackup } from "../../src/backups/ingest";
import { blobKeyOf } from "../../src/backups/keys";
import { StorageUnavailableError } from "../../src/errors";
import {
  basicAuthorization,
  blobPrefixOf,
  client,
  json,
  keyOf,
  newOrg,
  newSystem,
  NO_RATE_LIMITS,
  objectKeys,
  organizationLedger,
  patternBytes,
  prefixOf,
  runCron,
  sameBytes,
  sha256Hex,
  storedBytes,
  unrecordedBlobs,
  type TestSystem,
} from "./helpers";
import { uuidv7At } from "./model";
import { admin, newOperator } from "./operator-helpers";
import { upsertSystemStatement } from "../../src/operator/system-index";

const DAY = 86_400_000;
/** Every upload of these tests streams (nothing is read whole), so each one without a digest is split. */
const SPLIT = { ...NO_RATE_LIMITS, BACKUP_BUFFERED_UPLOAD_MAX: "0" };

async function splitUpload(system: TestSystem, bytes: Uint8Array, name = "big.tar.gz.gpg") {
  const response = await client(system, SPLIT).upload(bytes, name);
  expect(response.status).toBe(201);
  const data = (await json(response)).data as { id: string; size: number; sha256: string; uploaded_at: string };
  expect((await env.BACKUPS.head(keyOf(system, data.id)))?.customMetadata?.blob_size).toBe(String(bytes.byteLength));
  return data;
}

async function indexed(system: TestSystem): Promise<TestSystem> {
  await upsertSystemStatement(env.OPERATOR_DB, system.key, system.record).run();
  return system;
}

describe("split backups", () => {
  it("are counted at their bytes' size by the ledger, and its reconciliation with R2 agrees", async () => {
    const system = await newSystem();
    const bytes = patternBytes(70_000, 1);
    await splitUpload(system, bytes);
    const ledger = organizationLedger(system.org);
    expect(await ledger.usageBytes(system.org)).toBe(70_000);
    expect(await ledger.reconcile(system.org)).toEqual({ dropped: 0, added: 0 });
    expect(await ledger.usageBytes(system.org)).toBe(70_000);
    const listed = (await json(await client(system).list())).data.backups;
    expect(listed).toMatchObject([{ size: 70_000, sha256: await sha256Hex(bytes) }]);
  });

  it("the daily reconciliation removes a blob no backup records once its upload began a day ago, and keeps every other", async () => {
    const system = await newSystem();
    const live = await splitUpload(system, patternBytes(10_000, 8));
    const stale = `${blobPrefixOf(system)}${uuidv7At(Date.now() - 2 * DAY)}.tar.gz`;
    const young = `${blobPrefixOf(system)}${uuidv7At(Date.now() - DAY / 2)}.tar.gz`;
    for (const key of [stale, young]) await env.BACKUPS.put(key, "a failed upload's bytes");
    // An upload begun two days ago whose entry the ledger never recorded: the reconciliation adds
    // the backup first, so its blob is recorded and stays.
    const oldBytes = patternBytes(12_000, 9);
    const oldKey = keyOf(system, `${uuidv7At(Date.now() - 2 * DAY)}.tar.gz`);
    await env.BACKUPS.put(blobKeyOf(oldKey), oldBytes);
    await env.BACKUPS.put(oldKey, new Uint8Array(0), { customMetadata: { filename: "old.tar.gz", sha256: await sha256Hex(oldBytes), blob_size: "12000", uploader_ip: "192.0.2.1", system_id: system.key } });
    const ledger = organizationLedger(system.org);
    expect(await ledger.reconcile(system.org)).toEqual({ dropped: 0, added: 1 });
    expect((await objectKeys(blobPrefixOf(system))).sort()).toEqual([young, blobKeyOf(keyOf(system, live.id)), blobKeyOf(oldKey)].sort());
    expect(await ledger.usageBytes(system.org)).toBe(22_000);
    expect((await json(await client(system).list())).data.backups).toHaveLength(2);
  });

  it("an appliance DELETE moves the bytes into the recovery window and the blob goes; a restore brings them back byte-exact under the same id", async () => {
    const system = await indexed(await newSystem());
    const bytes = patternBytes(50_000, 2);
    const stored = await splitUpload(system, bytes);
    expect((await client(system).remove(stored.id)).status).toBe(200);
    expect(await objectKeys(prefixOf(system))).toEqual([]);
    expect(await objectKeys(blobPrefixOf(system))).toEqual([]);
    expect(await organizationLedger(system.org).recoverableBytes(system.org)).toBe(50_000);
    const manager = await newOperator("manager", [system.org]);
    const listed = (await json(await admin(manager, "GET", `/systems/${system.key}/recoverable`))).data;
    expect(listed.backups).toMatchObject([{ id: stored.id, size: 50_000, sha256: stored.sha256, reason: "deleted" }]);
    const restored = await admin(manager, "POST", `/systems/${system.key}/recoverable/${stored.id}/restore`);
    expect(restored.status).toBe(200);
    expect((await json(restored)).data).toMatchObject({ id: stored.id, size: 50_000, sha256: stored.sha256, uploaded_at: stored.uploaded_at });
    const download = await client(system).download(stored.id);
    expect(sameBytes(new Uint8Array(await download.arrayBuffer()), bytes)).toBe(true);
    expect(await organizationLedger(system.org).usageBytes(system.org)).toBe(50_000);
  });

  it("pruned by retention: recoverable byte-exact until its window ends, then erased with nothing left behind", async () => {
    const org = newOrg();
    const system = await indexed(await newSystem({ org }));
    const limited = { ...SPLIT, BACKUP_MAX_PER_SYSTEM: "1", BACKUP_PROTECT_DAILY: "0", BACKUP_PROTECT_WEEKLY: "0", BACKUP_PROTECT_MONTHLY: "0" };
    const first = patternBytes(40_000, 3);
    const a = (await json(await client(system, limited).upload(first, "a.tar.gz"))).data;
    const b = (await json(await client(system, limited).upload(patternBytes(41_000, 4), "b.tar.gz"))).data;
    await runCron(Date.now()); // finishes any prune the commit left for after the answer
    expect((await json(await client(system).list())).data.backups.map((x: { id: string }) => x.id)).toEqual([b.id]);
    expect(await objectKeys(blobPrefixOf(system))).toEqual([blobKeyOf(keyOf(system, b.id))]);
    const recovered = await storedBytes(`.recovery/${keyOf(system, a.id)}`);
    expect(recovered && sameBytes(recovered, first)).toBe(true);
    await runCron(Date.now() + 8 * DAY);
    expect(await objectKeys(`.recovery/${prefixOf(system)}`)).toEqual([]);
    expect(await organizationLedger(org).recoverableBytes(org)).toBe(0);
    expect(await unrecordedBlobs(blobPrefixOf(system))).toEqual([]);
  });

  it("a purge takes split backups into the window and clears a failed upload's blob; its undo restores them byte-exact", async () => {
    const system = await indexed(await newSystem());
    const bytes = patternBytes(30_000, 5);
    const stored = await splitUpload(system, bytes);
    await env.BACKUPS.put(`${blobPrefixOf(system)}failed-upload.tar.gz`, "bytes no entry records");
    const adminOp = await newOperator("admin", [system.org]);
    expect((await admin(adminOp, "DELETE", `/systems/${system.key}?purge=true`)).status).toBe(200);
    expect(await objectKeys(prefixOf(system))).toEqual([]);
    expect(await objectKeys(blobPrefixOf(system))).toEqual([]);
    const undone = await admin(adminOp, "POST", `/systems/${system.key}/restore`);
    expect(undone.status).toBe(200);
    const secret = (await json(undone)).data.system_secret as string;
    const download = await client({ ...system, secret, authorization: basicAuthorization(system.key, secret) }).download(stored.id);
    expect(download.status).toBe(200);
    expect(sameBytes(new Uint8Array(await download.arrayBuffer()), bytes)).toBe(true);
  });

  it("a move copies a split backup whole, byte-exact with its digest, and leaves neither its entry nor its blob behind", async () => {
    const from = newOrg();
    const to = newOrg();
    const system = await indexed(await newSystem({ org: from }));
    const bytes = patternBytes(60_000, 6);
    const stored = await splitUpload(system, bytes);
    const adminOp = await newOperator("admin", [from, to]);
    expect((await admin(adminOp, "POST", `/systems/${system.key}/move`, { organization_id: to })).status).toBe(200);
    const moved = { ...system, org: to };
    expect(await objectKeys(prefixOf(system))).toEqual([]);
    expect(await objectKeys(blobPrefixOf(system))).toEqual([]);
    const copy = await env.BACKUPS.head(keyOf(moved, stored.id));
    expect(copy?.customMetadata?.sha256).toBe(stored.sha256);
    expect(sameBytes((await storedBytes(keyOf(moved, stored.id)))!, bytes)).toBe(true);
    expect(await organizationLedger(to).usageBytes(to)).toBe(60_000);
    expect(await organizationLedger(from).usageBytes(from)).toBe(0);
  });

  it("bytes R2 stored other than those hashed on the way in: 503, and neither blob nor entry is left", async () => {
    const system = await newSystem();
    const bytes = patternBytes(20_000, 7);
    // A bucket whose puts store one byte changed: what R2 reports (its MD5) no longer matches.
    const corrupting = new Proxy(env.BACKUPS, {
      get(target, prop) {
        if (prop !== "put") return Reflect.get(target, prop).bind(target);
        return (key: string, body: ReadableStream | ArrayBufferView, options?: R2PutOptions) => {
          if (!(body instanceof ReadableStream)) return target.put(key, body, options);
          let flipped = false;
          const flip = new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, c) {
              const out = chunk.slice();
              if (!flipped && out.byteLength > 0) (out[0] ^= 1), (flipped = true);
              c.enqueue(out);
            },
          });
          const fixed = new FixedLengthStream(bytes.byteLength);
          body.pipeThrough(flip).pipeTo(fixed.writable).catch(() => {});
          return target.put(key, fixed.readable, options);
        };
      },
    });
    const key = keyOf(system, "0190f0b2-4c1e-7000-8000-000000000001.tar.gz");
    // The upload use case's request for these bytes, without a client digest.
    const request = () => ({
      body: new Blob([bytes]).stream(),
      length: bytes.byteLength,
      key,
      blobKey: blobKeyOf(key),
      clientSha256: null,
      contentType: "application/gzip",
      metadata: { filename: "x.tar.gz", uploader_ip: "192.0.2.1", system_id: system.key },
      newest: null,
    });
    await expect(ingestBackup(corrupting, request())).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(await env.BACKUPS.head(key)).toBeNull();
    expect(await env.BACKUPS.head(blobKeyOf(key))).toBeNull();
    // The same body through an honest bucket is stored, split, with the digest of the bytes sent.
    const honest = await ingestBackup(env.BACKUPS, request());
    expect(honest?.customMetadata).toMatchObject({ sha256: await sha256Hex(bytes), blob_size: "20000" });
    expect(sameBytes((await storedBytes(key))!, bytes)).toBe(true);
  });
});
