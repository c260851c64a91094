// The concurrency suite (docs/consistency.md): appliance uploads (bodies held open across
// everything else in their round), deletes and downloads interleaved with operator PATCH,
// suspend, resume, rotate, retire, purge and move, in orders fast-check generates, with a fault
// injected at a chosen storage call of some purges and moves. After every run: every backup
// answered 201 is listed under the system's current prefix or was removed by something the audit
// trail records; a purged system has nothing under any prefix and its credentials fail; each
// organisation's ledger equals R2; no organisation exceeds its quota; every attempt is audited.
// `npm test` runs 6 generated runs with a fixed seed; `FC_RUNS=200 FC_SEED=7 npm test` searches longer
// (seeds.ts, as for the other generated suites).

import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SystemRecord } from "../../src/auth/secret";
import { FaultInjector, type FaultMode } from "./fault-bindings";
import { BASE, client, json, newOrg, newSystem, objectKeys, organizationLedger, patternBytes, randomIp, send, type Overrides, type TestSystem } from "./helpers";
import { admin, newOperator, type TestOperator } from "./operator-helpers";
import { fcParameters, fcRuns, fcTimeout } from "./seeds";

const DEFAULT_RUNS = 6;
const QUOTA = 40_000;
const LIMITS: Overrides = { BACKUP_RATE_LIMIT_PER_MINUTE: "0", BACKUP_RATE_LIMIT_PER_HOUR: "0", BACKUP_MAX_SIZE_PER_ORG: String(QUOTA), BACKUP_MAX_PER_SYSTEM: "50" };

type Op =
  | { kind: "upload"; size: number; held: boolean }
  | { kind: "delete" | "download" }
  | { kind: "patch"; appendOnly: boolean }
  | { kind: "suspend" | "resume" | "rotate" | "retire" }
  | { kind: "purge" | "move"; to: number; fault: { nth: number; mode: FaultMode; binding: "BACKUPS" | "ORG_LEDGER" | "SYSTEMS" } | null };

const faultArb = fc.option(
  fc.record({ nth: fc.integer({ min: 1, max: 8 }), mode: fc.constantFrom<FaultMode>("throw", "lost"), binding: fc.constantFrom("BACKUPS" as const, "ORG_LEDGER" as const, "SYSTEMS" as const) }),
  { freq: 2 },
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("upload" as const), size: fc.integer({ min: 200, max: 9000 }), held: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom("delete" as const, "download" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("patch" as const), appendOnly: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom("suspend" as const, "resume" as const, "rotate" as const, "retire" as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom("purge" as const, "move" as const), to: fc.integer({ min: 0, max: 2 }), fault: faultArb }) },
);
/** Rounds of operations started together. */
const scenarioArb = fc.array(fc.array(opArb, { minLength: 1, maxLength: 4 }), { minLength: 2, maxLength: 5 });

interface World {
  orgs: string[];
  system: TestSystem;
  operator: TestOperator;
  created: Set<string>;
  ids: string[];
  /** What each operator request answered: action → statuses. */
  attempts: { action: string; status: number }[];
}

/** The system's credentials now (a rotate changes the secret). */
function appliance(world: World): TestSystem {
  return world.system;
}

async function currentRecord(world: World): Promise<SystemRecord | null> {
  return (await env.SYSTEMS.get(world.system.key, "json")) as SystemRecord | null;
}

/** An upload whose body is held open until `release` resolves. */
async function heldUpload(system: TestSystem, bytes: Uint8Array, release: Promise<unknown>): Promise<Response> {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  const request = new Request(BASE, {
    method: "POST",
    body,
    duplex: "half",
    headers: { Authorization: system.authorization, "Content-Length": String(bytes.length), "X-Filename": "held.tar.gz", "CF-Connecting-IP": randomIp() },
  } as RequestInit);
  const answer = send(request, LIMITS);
  controller.enqueue(bytes.slice(0, 100));
  await release;
  controller.enqueue(bytes.slice(100));
  controller.close();
  return answer;
}

async function runOp(world: World, op: Op, seed: number, others: Promise<unknown>): Promise<void> {
  const key = world.system.key;
  const api = () => client(appliance(world), LIMITS);
  const operatorCall = async (action: string, method: string, path: string, body?: unknown, overrides?: Overrides) => {
    const response = await admin(world.operator, method, path, body, { ...LIMITS, ...overrides });
    const answer = await json(response);
    world.attempts.push({ action, status: response.status });
    return { response, answer };
  };
  switch (op.kind) {
    case "upload": {
      const bytes = patternBytes(op.size, seed);
      const response = op.held ? await heldUpload(appliance(world), bytes, others) : await api().upload(bytes, "gen.tar.gz");
      const answer = await json(response);
      if (response.status === 201) {
        world.created.add(answer.data.id);
        world.ids.push(answer.data.id);
      }
      return;
    }
    case "delete": {
      const id = world.ids[seed % Math.max(1, world.ids.length)];
      if (id) await (await api().remove(id)).arrayBuffer();
      return;
    }
    case "download": {
      const id = world.ids[seed % Math.max(1, world.ids.length)];
      if (id) await (await api().download(id)).arrayBuffer();
      return;
    }
    case "patch":
      await operatorCall("system.append_only", "PATCH", `/systems/${key}`, { append_only: op.appendOnly });
      return;
    case "suspend":
    case "resume":
      await operatorCall(`system.${op.kind}`, "POST", `/systems/${key}/${op.kind}`);
      return;
    case "rotate": {
      const { response, answer } = await operatorCall("system.rotate", "POST", `/systems/${key}/rotate`);
      if (response.status === 200) world.system = { ...world.system, secret: answer.data.system_secret, authorization: `Basic ${btoa(`${key}:${answer.data.system_secret}`)}` };
      return;
    }
    case "retire":
      await operatorCall("system.retire", "DELETE", `/systems/${key}`);
      return;
    case "purge":
    case "move": {
      const injector = op.fault ? new FaultInjector({ binding: op.fault.binding, method: "*", nth: op.fault.nth, mode: op.fault.mode }) : null;
      const overrides = injector ? (injector.overrides() as Overrides) : undefined;
      if (op.kind === "purge") await operatorCall("system.purge", "DELETE", `/systems/${key}?purge=true`, undefined, overrides);
      else await operatorCall("system.move", "POST", `/systems/${key}/move`, { organization_id: world.orgs[op.to] }, overrides);
      return;
    }
  }
}

/**
 * Repeats what an operator repeats after a 503: an unfinished move (its journal names the
 * destination) and a purge that failed. The invariants are checked once the fleet has settled.
 */
async function settle(world: World): Promise<void> {
  const key = world.system.key;
  for (let attempt = 0; attempt < 3; attempt++) {
    const journal = await env.OPERATOR_DB.prepare("SELECT to_org FROM moves WHERE system_key = ?").bind(key).first<{ to_org: string }>();
    const record = await currentRecord(world);
    const purgeFailed = world.attempts.some((a) => a.action === "system.purge" && a.status === 503) && !record?.purged_at;
    if (purgeFailed) await runOp(world, { kind: "purge", to: 0, fault: null }, 0, Promise.resolve());
    else if (journal && !record?.deleted_at) await runOp(world, { kind: "move", to: world.orgs.indexOf(journal.to_org), fault: null }, 0, Promise.resolve());
    else return;
  }
}

async function checkInvariants(world: World): Promise<void> {
  const key = world.system.key;
  const record = await currentRecord(world);
  const audit = await env.OPERATOR_DB.prepare("SELECT action, target, outcome, actor FROM audit_events WHERE target LIKE ? OR target = ? ORDER BY seq")
    .bind(`${key}/%`, key)
    .all<{ action: string; target: string; outcome: string; actor: string }>();
  const events = audit.results;
  const removedByAudit = new Set(events.filter((e) => e.action === "backup.delete" || e.action === "backup.prune").map((e) => e.target.slice(key.length + 1)));
  const purged = events.some((e) => e.action === "system.purge" && e.outcome.startsWith("ok"));
  // A purged system has nothing under any prefix, and its credentials fail.
  if (purged) {
    expect(record?.purged_at).toBeTruthy();
    for (const org of world.orgs) {
      expect(await objectKeys(`${org}/${key}/`)).toEqual([]);
      expect(await objectKeys(`.blobs/${org}/${key}/`)).toEqual([]);
    }
    expect((await client(world.system).list()).status).toBe(401);
  } else {
    // Every backup answered 201 is listed under the current prefix, or its removal is audited.
    const listed = new Set((await objectKeys(`${record!.organization_id}/${key}/`)).map((k) => k.slice(k.lastIndexOf("/") + 1)));
    for (const id of world.created) expect(listed.has(id) || removedByAudit.has(id), `backup ${id} (201) is listed or its removal audited`).toBe(true);
  }
  // A move left unfinished on a system retired since (a move of a retired system is 409, a purge
  // finishes it) may hold copies its destination ledger has not adopted yet: that ledger is skipped.
  const journal = await env.OPERATOR_DB.prepare("SELECT to_org FROM moves WHERE system_key = ?").bind(key).first<{ to_org: string }>();
  for (const org of world.orgs) {
    // Each organisation's ledger equals R2, and no organisation exceeds its quota.
    const ledger = organizationLedger(org);
    expect(await ledger.usageBytes(org)).toBeLessThanOrEqual(QUOTA);
    if (journal?.to_org === org) continue;
    const usage = await ledger.systemsUsage(org, [key]);
    const objects = await objectKeys(`${org}/${key}/`);
    const rows = usage.systems[key]?.backups ?? 0;
    expect(rows, `${org}: ledger rows equal R2 objects`).toBe(objects.length);
  }
  // Every operator attempt is in the audit trail: an ok event for a success, denied or failed for a refusal.
  const mine = events.filter((e) => e.actor === world.operator.name);
  for (const action of new Set(world.attempts.map((a) => a.action))) {
    const ok = world.attempts.filter((a) => a.action === action && a.status < 400).length;
    const refused = world.attempts.filter((a) => a.action === action && a.status >= 400).length;
    expect(mine.filter((e) => e.action === action && e.outcome.startsWith("ok")).length, `${action}: ok events`).toBeGreaterThanOrEqual(ok);
    expect(mine.filter((e) => e.action === action && /^(denied|failed)/.test(e.outcome)).length, `${action}: refusals audited`).toBeGreaterThanOrEqual(refused);
  }
}

describe("concurrency suite", () => {
  it(`keeps every invariant over ${fcRuns(DEFAULT_RUNS)} generated interleavings with faults in purges and moves`, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, fc.integer({ min: 1, max: 1_000_000 }), async (rounds, seed) => {
        const orgs = [newOrg(), newOrg(), newOrg()];
        const system = await newSystem({ org: orgs[0] });
        const operator = await newOperator("admin", orgs);
        const world: World = { orgs, system, operator, created: new Set(), ids: [], attempts: [] };
        let n = seed;
        for (const round of rounds) {
          // Every op of a round starts together; a held upload's body stays open until the others have answered.
          const plain: Promise<void>[] = [];
          let releaseHeld!: () => void;
          const othersDone = new Promise<void>((resolve) => (releaseHeld = resolve));
          const held: Promise<void>[] = [];
          for (const op of round) {
            const run = runOp(world, op, n++, othersDone);
            (op.kind === "upload" && op.held ? held : plain).push(run);
          }
          await Promise.allSettled(plain);
          releaseHeld();
          await Promise.allSettled(held);
        }
        await settle(world);
        await checkInvariants(world);
      }),
      { ...fcParameters(DEFAULT_RUNS), endOnFailure: true },
    );
  }, fcTimeout(DEFAULT_RUNS, 120_000));
});
