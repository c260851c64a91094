// What a change to a system costs in storage calls, counted with FaultInjector (the figures in
// docs/consistency.md, "What a change costs"): a PATCH as an operator sends it, and a purge and a
// move of a system with three backups and a failed upload's blob, as use cases.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { moveSystem, type MoveStores } from "../../src/admin/move";
import { purgeSystem } from "../../src/admin/purge";
import { FaultInjector } from "./fault-bindings";
import { client, newOrg, patternBytes, type Overrides } from "./helpers";
import { admin, newFleetOrg, newOperator } from "./operator-helpers";

const ACTOR = { name: "cost-test", clientIp: null };

function storesOf(injector: FaultInjector): MoveStores {
  return {
    kv: injector.wrap(env.SYSTEMS, "SYSTEMS"),
    db: injector.wrapD1(env.OPERATOR_DB),
    bucket: injector.wrap(env.BACKUPS, "BACKUPS"),
    ledger: injector.wrapNamespace(env.ORG_LEDGER as unknown as DurableObjectNamespace) as unknown as MoveStores["ledger"],
    limits: { maxSizePerOrg: 1_000_000, recoveryDays: 7 },
  };
}

/** Calls per binding. */
function tally(injector: FaultInjector): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of injector.calls) counts[call.binding] = (counts[call.binding] ?? 0) + 1;
  return counts;
}

async function systemWithThreeBackups() {
  const f = await newFleetOrg();
  for (let i = 0; i < 2; i++) await client(f.system).upload(patternBytes(2000 + i, i + 5), `b${i}.tar.gz`);
  await env.BACKUPS.put(`.blobs/${f.org}/${f.system.key}/leftover.tar.gz`, "a failed upload's bytes");
  return f;
}

describe("storage calls of each change", () => {
  it("PATCH, purge and move cost what docs/consistency.md says", async () => {
    const f = await newFleetOrg();
    const operator = await newOperator("admin", [f.org]);
    const patching = new FaultInjector();
    expect((await admin(operator, "PATCH", `/systems/${f.system.key}`, { append_only: true }, patching.operatorOverrides() as Overrides)).status).toBe(200);
    // Token read; scope read (KV, cached); lease take; fresh read; KV puts (the legacy index entry, then the record); index + audit batch; lease release; usage and the
    // fleet fields (name, notes, activity, health) for the answer.
    expect(tally(patching)).toEqual({ OPERATOR_DB: 5, SYSTEMS: 4, ORG_LEDGER: 1 });

    const p = await systemWithThreeBackups();
    const purging = new FaultInjector();
    expect((await purgeSystem(storesOf(purging), ACTOR, p.system.key)).deleted).toBe(4);
    expect(tally(purging)).toEqual({ OPERATOR_DB: 6, SYSTEMS: 5, ORG_LEDGER: 4, BACKUPS: 5 });

    const m = await systemWithThreeBackups();
    const moving = new FaultInjector();
    expect((await moveSystem(storesOf(moving), ACTOR, m.system.key, newOrg())).backups).toBe(3);
    expect(tally(moving)).toEqual({ OPERATOR_DB: 6, SYSTEMS: 3, ORG_LEDGER: 5, BACKUPS: 11 });
  });
});
