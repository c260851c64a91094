// The red team's scenarios of issue 15, as request sequences against the worker: a change held
// open (its storage calls paused by FaultInjector's `afterCall`) while another one runs, an upload
// whose body is still arriving while the system is purged or moved, moves next to reservations.
// Whatever the interleaving, the outcome is one of the orders in which they could have run.

import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SystemRecord } from "../../src/auth/secret";
import { FaultInjector, type CallRecord } from "./fault-bindings";
import { BASE, client, json, newOrg, NO_RATE_LIMITS, objectKeys, organizationLedger, patternBytes, randomIp, send, type Overrides, type TestSystem } from "./helpers";
import { admin, newFleetOrg, newOperator } from "./operator-helpers";

/** A gate that holds a request at its `nth` call of `binding.method` until opened. */
function holdAt(binding: CallRecord["binding"], method: string, nth: number) {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let reached!: () => void;
  const reachedGate = new Promise<void>((resolve) => (reached = resolve));
  const injector = new FaultInjector(null, {
    afterCall: async (call) => {
      if (call.binding === binding && call.method === method && call.nth === nth) {
        reached();
        await opened;
      }
    },
  });
  return { overrides: injector.operatorOverrides() as Overrides, reached: reachedGate, open, injector };
}

/** An upload whose body the test feeds by hand. */
function manualUpload(system: TestSystem, bytes: Uint8Array, overrides?: Overrides) {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  const request = new Request(BASE, {
    method: "POST",
    body,
    duplex: "half",
    headers: { Authorization: system.authorization, "Content-Length": String(bytes.length), "X-Filename": "held.tar.gz.gpg", "CF-Connecting-IP": randomIp() },
  } as RequestInit);
  const answer = send(request, overrides ?? NO_RATE_LIMITS);
  return { answer, push: (b: Uint8Array) => controller.enqueue(b), end: () => controller.close() };
}

/** Waits (real I/O, no timers) until the organisation has an open reservation: the upload was admitted. */
async function untilReserved(org: string): Promise<void> {
  for (let i = 0; i < 500 && (await organizationLedger(org).usageBytes(org)) === (await committedBytes(org)); i++);
}

/** Waits (real I/O) until the ledger holds a seal on the system: the purge or move has begun. */
async function untilSealed(org: string, key: string): Promise<void> {
  const sealed = () => runInDurableObject(organizationLedger(org), (_i, state) => state.storage.sql.exec("SELECT 1 FROM seals WHERE system_key = ?", key).toArray().length > 0);
  for (let i = 0; i < 2000 && !(await sealed()); i++);
  expect(await sealed()).toBe(true);
}

async function committedBytes(org: string): Promise<number> {
  return (await organizationLedger(org).systemsUsage(org, [])).bytes;
}

async function record(key: string): Promise<SystemRecord> {
  return (await env.SYSTEMS.get(key, "json")) as SystemRecord;
}

async function auditOutcomes(org: string, action: string, target: string): Promise<string[]> {
  const { results } = await env.OPERATOR_DB.prepare("SELECT outcome FROM audit_events WHERE organization_id = ? AND action = ? AND target = ? ORDER BY seq")
    .bind(org, action, target)
    .all<{ outcome: string }>();
  return results.map((r) => r.outcome);
}

describe("a change held open while another arrives", () => {
  it("a PATCH holding the system makes a purge wait or 409; the purge that follows leaves it purged for good", async () => {
    const f = await newFleetOrg();
    const operator = await newOperator("admin", [f.org]);
    const held = holdAt("SYSTEMS", "get", 2); // the PATCH's fresh read, under the lease
    const patch = admin(operator, "PATCH", `/systems/${f.system.key}`, { append_only: true }, held.overrides);
    await held.reached;
    const refused = await admin(operator, "DELETE", `/systems/${f.system.key}?purge=true`);
    expect(refused.status).toBe(409);
    expect((await json(refused)).message).toBe("another change to this system is in progress");
    held.open();
    expect((await patch).status).toBe(200);
    expect((await admin(operator, "DELETE", `/systems/${f.system.key}?purge=true`)).status).toBe(200);
    expect((await admin(operator, "GET", `/systems/${f.system.key}`)).status).toBe(404);
    expect((await client(f.system).list()).status).toBe(401);
    expect((await record(f.system.key)).purged_at).toBeTruthy();
    // Within the recovery window a purge moves the backups (docs/recovery.md), and says until when.
    const outcomes = await auditOutcomes(f.org, "system.purge", f.system.key);
    expect(outcomes).toHaveLength(2);
    expect(outcomes[0]).toBe("denied: 409 another change to this system is in progress");
    expect(outcomes[1]).toMatch(/^ok: 1 objects moved, recoverable until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it("a PATCH that read the record before a purge and acts after it: 404, the system stays purged", async () => {
    const f = await newFleetOrg();
    const operator = await newOperator("admin", [f.org]);
    const held = holdAt("SYSTEMS", "get", 1); // the scope check's read, before the lease
    const patch = admin(operator, "PATCH", `/systems/${f.system.key}`, { append_only: true }, held.overrides);
    await held.reached;
    expect((await admin(operator, "DELETE", `/systems/${f.system.key}?purge=true`)).status).toBe(200);
    held.open();
    expect((await patch).status).toBe(404);
    const after = await record(f.system.key);
    expect(after.purged_at).toBeTruthy();
    expect(after.append_only).toBe(false);
    expect((await client(f.system).list()).status).toBe(401);
    expect((await client(f.system).upload("after the purge")).status).toBe(401);
  });

  it("a PATCH, suspend or move that read the record before a retire leaves it retired (409)", async () => {
    const f = await newFleetOrg();
    const operator = await newOperator("admin", "*");
    for (const [method, path, body] of [
      ["PATCH", "", { append_only: true }],
      ["POST", "/suspend", undefined],
      ["POST", "/move", { organization_id: newOrg() }],
    ] as const) {
      const held = holdAt("SYSTEMS", "get", 1);
      const change = admin(operator, method, `/systems/${f.system.key}${path}`, body, held.overrides);
      await held.reached;
      if (path === "") expect((await admin(operator, "DELETE", `/systems/${f.system.key}`)).status).toBe(200);
      held.open();
      const answer = await change;
      expect(answer.status, `${method} ${path}`).toBe(409);
      expect((await json(answer)).message).toBe("the system is retired: it can only be purged");
      expect((await record(f.system.key)).deleted_at).toBeTruthy();
    }
    expect((await client(f.system).list()).status).toBe(401);
  });

  it("two moves: one waits or is refused; the record and every object end in one organisation, every backup listed", async () => {
    const f = await newFleetOrg();
    for (let i = 0; i < 2; i++) await client(f.system, NO_RATE_LIMITS).upload(patternBytes(300 + i, i + 3), `b${i}.tar.gz`);
    const operator = await newOperator("admin", "*");
    const [b, c] = [newOrg(), newOrg()];
    const held = holdAt("BACKUPS", "put", 1); // the first move's first copy
    const first = admin(operator, "POST", `/systems/${f.system.key}/move`, { organization_id: c }, held.overrides);
    await held.reached;
    const second = await admin(operator, "POST", `/systems/${f.system.key}/move`, { organization_id: b });
    expect(second.status).toBe(409);
    held.open();
    expect((await first).status).toBe(200);
    const third = await admin(operator, "POST", `/systems/${f.system.key}/move`, { organization_id: b });
    expect(third.status).toBe(200);
    expect((await record(f.system.key)).organization_id).toBe(b);
    expect(await objectKeys(`${f.org}/${f.system.key}/`)).toEqual([]);
    expect(await objectKeys(`${c}/${f.system.key}/`)).toEqual([]);
    const listed = await json(await client({ ...f.system, org: b }).list());
    expect(listed.data.backups).toHaveLength(3);
  });
});

describe("an upload whose body is still arriving", () => {
  it("across a purge: not a 201, and nothing is left", async () => {
    const f = await newFleetOrg();
    const operator = await newOperator("admin", [f.org]);
    const bytes = patternBytes(4000, 11);
    const upload = manualUpload(f.system, bytes);
    upload.push(bytes.slice(0, 1000));
    await untilReserved(f.org);
    // The purge seals the system, waits for the upload, and answers 503 while it is still open.
    const purging = admin(operator, "DELETE", `/systems/${f.system.key}?purge=true`);
    await untilSealed(f.org, f.system.key);
    upload.push(bytes.slice(1000));
    upload.end();
    const answer = await upload.answer;
    expect(answer.status).toBe(503);
    expect(answer.headers.get("Retry-After")).toBeTruthy();
    const first = await purging;
    if (first.status !== 200) {
      expect(first.status).toBe(503);
      expect((await admin(operator, "DELETE", `/systems/${f.system.key}?purge=true`)).status).toBe(200);
    }
    expect(await objectKeys(`${f.org}/${f.system.key}/`)).toEqual([]);
    expect(await objectKeys(`.blobs/${f.org}/${f.system.key}/`)).toEqual([]);
    expect(await organizationLedger(f.org).usageBytes(f.org)).toBe(0);
  });

  it("across a move: refused (503) or listed after it, never lost in the old prefix", async () => {
    const f = await newFleetOrg();
    const operator = await newOperator("admin", "*");
    const to = newOrg();
    const bytes = patternBytes(4000, 12);
    const upload = manualUpload(f.system, bytes);
    upload.push(bytes.slice(0, 1000));
    await untilReserved(f.org);
    const moving = admin(operator, "POST", `/systems/${f.system.key}/move`, { organization_id: to });
    await untilSealed(f.org, f.system.key);
    upload.push(bytes.slice(1000));
    upload.end();
    const answer = await upload.answer;
    expect(answer.status).toBe(503); // the seal landed while its body arrived
    const created: string | null = null;
    let moved = await moving;
    if (moved.status === 503) moved = await admin(operator, "POST", `/systems/${f.system.key}/move`, { organization_id: to });
    expect(moved.status).toBe(200);
    const listed = (await json(await client({ ...f.system, org: to }).list())).data.backups.map((b: { id: string }) => b.id);
    expect(listed).toContain(f.backupId);
    if (created) expect(listed).toContain(created);
    expect(await objectKeys(`${f.org}/${f.system.key}/`)).toEqual([]);
    // An appliance whose cached record still names the old organisation cannot upload there.
    const stale = await organizationLedger(f.org).reserve({ organizationId: f.org, systemKey: f.system.key, size: 10, quota: 0, perMinute: 0, perHour: 0 });
    expect(stale).toEqual({ ok: false, reason: "sealed" });
  });
});

describe("a move next to open reservations", () => {
  it("reserves its bytes in the destination with the quota check: never overfills it", async () => {
    const small: Overrides = { ...NO_RATE_LIMITS, BACKUP_MAX_SIZE_PER_ORG: "10000" };
    const f = await newFleetOrg();
    await client(f.system, small).upload(patternBytes(5000, 21), "big.tar.gz");
    const operator = await newOperator("admin", "*");
    const to = newOrg();
    const resident = await newSystemIn(to);
    // An upload into the destination holds a reservation of 6000 bytes while the move arrives.
    const bytes = patternBytes(6000, 22);
    const upload = manualUpload(resident, bytes, small);
    upload.push(bytes.slice(0, 100));
    await untilReserved(to);
    const move = await admin(operator, "POST", `/systems/${f.system.key}/move`, { organization_id: to }, small);
    expect(move.status).toBe(413);
    upload.push(bytes.slice(100));
    upload.end();
    expect((await upload.answer).status).toBe(201);
    expect(await organizationLedger(to).usageBytes(to)).toBeLessThanOrEqual(10000);
    expect((await record(f.system.key)).organization_id).toBe(f.org);
    // The refused move left the source usable: it was never sealed for good.
    expect((await client(f.system, small).upload("still here", "after.tar.gz")).status).toBe(201);
  });
});

async function newSystemIn(org: string): Promise<TestSystem> {
  const { newSystem } = await import("./helpers");
  return newSystem({ org });
}

describe("the low findings", () => {
  it("a move under way to another destination is 409, naming it only inside the caller's scope; a retired system's move is 409", async () => {
    const f = await newFleetOrg();
    const [b, c] = [newOrg(), newOrg()];
    const fleet = await newOperator("admin", "*");
    const scoped = await newOperator("admin", [f.org, b]);
    const failing = new FaultInjector({ binding: "SYSTEMS", method: "put", nth: 1, mode: "throw" });
    expect((await admin(fleet, "POST", `/systems/${f.system.key}/move`, { organization_id: c }, failing.operatorOverrides() as Overrides)).status).toBe(503);
    const hidden = await admin(scoped, "POST", `/systems/${f.system.key}/move`, { organization_id: b });
    expect(hidden.status).toBe(409);
    const hiddenMessage = (await json(hidden)).message;
    expect(hiddenMessage).toContain("another organization");
    expect(hiddenMessage).not.toContain(c);
    const named = await admin(fleet, "POST", `/systems/${f.system.key}/move`, { organization_id: b });
    expect((await json(named)).message).toContain(c);
    expect((await admin(fleet, "POST", `/systems/${f.system.key}/move`, { organization_id: c })).status).toBe(200);
    expect((await admin(fleet, "DELETE", `/systems/${f.system.key}`)).status).toBe(200);
    const retired = await admin(fleet, "POST", `/systems/${f.system.key}/move`, { organization_id: b });
    expect(retired.status).toBe(409);
    expect((await json(retired)).message).toBe("the system is retired: it can only be purged");
  });

  it("a malformed cursor is 400 on every list", async () => {
    const f = await newFleetOrg();
    const operator = await newOperator("admin", [f.org]);
    for (const cursor of ["IA", "abc", "AAAA", "%%", "MTIz="]) {
      for (const path of ["/organizations", `/organizations/${f.org}/systems`, `/organizations/${f.org}/audit`]) {
        const response = await admin(operator, "GET", `${path}?cursor=${encodeURIComponent(cursor)}`);
        expect(response.status, `${path} cursor ${cursor}`).toBe(400);
        expect((await json(response)).message).toBe("invalid cursor");
      }
    }
  });

  it("a link stops after suspend and after rotate; an expiry beyond 900 s is forged", async () => {
    const f = await newFleetOrg();
    const operator = await newOperator("admin", [f.org]);
    const link = async () => (await json(await admin(operator, "POST", `/systems/${f.system.key}/backups/${f.backupId}/link`))).data.download_url as string;
    const fetchLink = async (url: string) => {
      const response = await send(new Request(url));
      await response.arrayBuffer();
      return response.status;
    };
    const first = await link();
    expect(await fetchLink(first)).toBe(200);
    expect((await admin(operator, "POST", `/systems/${f.system.key}/suspend`)).status).toBe(200);
    expect(await fetchLink(first)).toBe(404);
    expect((await admin(operator, "POST", `/systems/${f.system.key}/resume`)).status).toBe(200);
    expect(await fetchLink(first)).toBe(404);
    const second = await link();
    expect(await fetchLink(second)).toBe(200);
    expect((await admin(operator, "POST", `/systems/${f.system.key}/rotate`)).status).toBe(200);
    expect(await fetchLink(second)).toBe(404);
    const { signDownloadLink } = await import("../../src/auth/download-link");
    const now = Math.floor(Date.now() / 1000);
    const version = (await env.OPERATOR_DB.prepare("SELECT version FROM system_changes WHERE system_key = ?").bind(f.system.key).first<{ version: number }>())!.version;
    const claims = { organizationId: f.org, systemKey: f.system.key, backupId: f.backupId, generation: version };
    expect(await fetchLink(`https://vault.test/api/downloads/${await signDownloadLink(env.DOWNLOAD_LINK_SECRET, { ...claims, expiresAt: now + 600 })}`)).toBe(200);
    expect(await fetchLink(`https://vault.test/api/downloads/${await signDownloadLink(env.DOWNLOAD_LINK_SECRET, { ...claims, expiresAt: now + 3600 })}`)).toBe(404);
  });

  it("a JSON body over 4 KiB is 400 without being read whole; /api//openapi.json is not a redirect; link tokens are cut from logged paths", async () => {
    const f = await newFleetOrg();
    const operator = await newOperator("admin", [f.org]);
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull: (controller) => {
        pulled += 1024;
        if (pulled > 1024 * 1024) controller.close();
        else controller.enqueue(new Uint8Array(1024).fill(32));
      },
    });
    const request = new Request(`https://vault.test/api/admin/systems/${f.system.key}`, {
      method: "PATCH",
      body,
      duplex: "half",
      headers: { Authorization: operator.authorization, "Content-Type": "application/json" },
    } as RequestInit);
    const response = await send(request);
    expect(response.status).toBe(400);
    expect((await json(response)).message).toBe("request body too large");
    expect(pulled).toBeLessThan(64 * 1024);
    const spec = await send(new Request("https://vault.test/api//openapi.json"));
    expect(spec.status).toBe(200);
    expect(((await spec.json()) as { openapi: string }).openapi).toMatch(/^3\.1/);
    const { redactedPath } = await import("../../src/http/error-response");
    expect(redactedPath("/api/downloads/abc.def")).toBe("/api/downloads/[redacted]");
    expect(redactedPath("//api//downloads/abc.def")).toBe("//api//downloads/[redacted]");
    expect(redactedPath("/api/systems/backups")).toBe("/api/systems/backups");
  });
});
