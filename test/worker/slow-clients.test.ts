// Slow, stalled and vanishing clients: a 201 stays true whatever order uploads finish in, a body
// below the minimum pace is cut off with 408 and frees its quota at once, and the work after
// the last byte survives a client that hangs up.

import { env } from "cloudflare:workers";
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { organizationPrefix } from "../../src/backups/keys";
import { BASE, client, json, newSystem, NO_RATE_LIMITS, objectKeys, organizationBlobPrefix, organizationLedger, patternBytes, randomIp, send, sha256Hex, unrecordedBlobs, type Overrides, type TestSystem } from "./helpers";

afterEach(() => {
  vi.useRealTimers();
});

/** An upload whose body the test feeds by hand: `push` bytes, then `end` (or `fail`, as a client that vanishes). */
function manualUpload(system: TestSystem, length: number) {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  const request = new Request(BASE, {
    method: "POST",
    body,
    duplex: "half",
    headers: { Authorization: system.authorization, "Content-Length": String(length), "X-Filename": "slow.tar.gz.gpg", "CF-Connecting-IP": randomIp() },
  } as RequestInit);
  return {
    request,
    push: (bytes: Uint8Array) => controller.enqueue(bytes),
    end: () => controller.close(),
    fail: () => controller.error(new Error("client went away")),
  };
}

async function reservations(org: string): Promise<number> {
  return runInDurableObject(organizationLedger(org), (_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM reservations").one().n);
}

/** Waits (real I/O, no timers) until the organisation's usage reaches `bytes`: the upload has been admitted. */
async function untilUsage(org: string, bytes: number): Promise<void> {
  for (let i = 0; i < 500 && (await organizationLedger(org).usageBytes(org)) !== bytes; i++);
  expect(await organizationLedger(org).usageBytes(org)).toBe(bytes);
}

describe("a slow upload that finishes after faster ones", () => {
  it("is answered 201, listed first and downloadable: its own commit never prunes it", async () => {
    const system = await newSystem();
    const overrides: Overrides = { ...NO_RATE_LIMITS, BACKUP_MAX_PER_SYSTEM: "3" };
    const api = client(system, overrides);
    const bytes = patternBytes(3000, 7);
    const slow = manualUpload(system, bytes.length);
    const answer = send(slow.request, overrides);
    slow.push(bytes.slice(0, 1000)); // it began first (its id is the oldest) …
    await untilUsage(system.org, bytes.length);
    const fast: string[] = [];
    for (let i = 0; i < 3; i++) fast.push((await json(await api.upload(`fast ${i}`, "fast.gpg"))).data.id);
    slow.push(bytes.slice(1000)); // … and finishes last
    slow.end();
    const response = await answer;
    expect(response.status).toBe(201);
    const created = (await json(response)).data;
    expect(created.id < fast[0]).toBe(true); // minted when it began
    expect(created.sha256).toBe(await sha256Hex(bytes));

    const listed = (await json(await api.list())).data.backups.map((b: { id: string }) => b.id);
    expect(listed).toEqual([created.id, fast[2], fast[1]]); // newest commit first; the oldest commit pruned
    const download = await api.download(created.id);
    expect(download.status).toBe(200);
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(bytes);
  });
});

describe("a stalled or trickling body", () => {
  it("is cut off with 408 after the grace period and one window (62 s), stores nothing, and frees its quota at once", async () => {
    const system = await newSystem();
    const overrides: Overrides = { ...NO_RATE_LIMITS, BACKUP_MAX_SIZE_PER_ORG: "100000" };
    const api = client(system, overrides);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const stalled = manualUpload(system, 100_000);
    let answered = false;
    const answer = send(stalled.request, overrides).then((r) => ((answered = true), r));
    stalled.push(patternBytes(1000)); // then nothing more
    await untilUsage(system.org, 100_000);
    const blocked = await api.upload("x", "x.gpg"); // the organisation's quota is held meanwhile
    expect(blocked.status).toBe(413);
    await blocked.body?.cancel();

    await vi.advanceTimersByTimeAsync(61_000);
    expect(answered).toBe(false);
    await vi.advanceTimersByTimeAsync(1_100);
    const response = await answer;
    expect(response.status).toBe(408);
    expect(await json(response)).toEqual({ code: 408, message: "request body stalled or arrived too slowly", data: null });
    expect(response.headers.get("Cache-Control")).toBe("no-store");

    expect(await reservations(system.org)).toBe(0);
    const next = await api.upload("now there is room", "next.gpg");
    expect(next.status).toBe(201);
    await next.body?.cancel();
    expect(await unrecordedBlobs(organizationBlobPrefix(system.org))).toEqual([]);
    expect((await json(await api.list())).data.backups).toHaveLength(1);
  });

  it("after the first slice, allows one window (32 s) per 512 KiB: a body that stops is cut off 32 s later", async () => {
    const system = await newSystem();
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const length = 2 * 1024 * 1024;
    const stalled = manualUpload(system, length);
    let answered = false;
    const answer = send(stalled.request, NO_RATE_LIMITS).then((r) => ((answered = true), r));
    await untilUsage(system.org, length);
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(31_000); // each slice just inside its window
      stalled.push(patternBytes(512 * 1024, i + 1));
    }
    await vi.advanceTimersByTimeAsync(31_000);
    expect(answered).toBe(false);
    await vi.advanceTimersByTimeAsync(1_100);
    expect((await answer).status).toBe(408);
    expect(await reservations(system.org)).toBe(0);
    expect(await objectKeys(organizationPrefix(system.org))).toEqual([]);
  });
});

describe("a client that hangs up", () => {
  /** Sends without ever reading the answer: the work must be held by ctx.waitUntil alone. */
  function hangUp(request: Request) {
    const ctx = createExecutionContext();
    const unread = worker.fetch(request, { ...env, ...NO_RATE_LIMITS } as Env, ctx);
    return { settled: () => waitOnExecutionContext(ctx), unread };
  }

  it("after its last byte: the entry, the commit and the release still happen", async () => {
    const system = await newSystem();
    const bytes = patternBytes(1_500_000, 3); // above BACKUP_BUFFERED_UPLOAD_MAX: streamed into a blob
    // A body that is pulled, not pushed: `drained` tells when the worker has taken its last byte.
    let drained!: () => void;
    const lastByteTaken = new Promise<void>((resolve) => (drained = resolve));
    let sent = false;
    const body = new ReadableStream<Uint8Array>(
      {
        pull(c) {
          if (sent) {
            c.close();
            drained();
          } else {
            c.enqueue(bytes);
            sent = true;
          }
        },
      },
      { highWaterMark: 0 },
    );
    const call = hangUp(
      new Request(BASE, {
        method: "POST",
        body,
        duplex: "half",
        headers: { Authorization: system.authorization, "Content-Length": String(bytes.length), "CF-Connecting-IP": randomIp() },
      } as RequestInit),
    );
    await lastByteTaken;
    await call.settled(); // the client is gone: only what the worker handed to waitUntil still runs
    const listed = (await json(await client(system).list())).data.backups;
    expect(listed).toHaveLength(1);
    expect(listed[0].sha256).toBe(await sha256Hex(bytes));
    expect(await unrecordedBlobs(organizationBlobPrefix(system.org))).toEqual([]);
    expect(await reservations(system.org)).toBe(0);
    expect(await organizationLedger(system.org).usageBytes(system.org)).toBe(bytes.length);
    await (await call.unread).body?.cancel();
  });

  it("in the middle of its body: nothing is stored and the reservation is released", async () => {
    const system = await newSystem();
    const upload = manualUpload(system, 300_000);
    const call = hangUp(upload.request);
    upload.push(patternBytes(100_000));
    await untilUsage(system.org, 300_000);
    upload.fail();
    await call.settled();
    expect(await reservations(system.org)).toBe(0);
    expect(await objectKeys(organizationPrefix(system.org))).toEqual([]);
    expect(await unrecordedBlobs(organizationBlobPrefix(system.org))).toEqual([]);
    expect((await call.unread).status).toBe(400);
  });
});
