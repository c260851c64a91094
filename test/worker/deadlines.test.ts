// A platform call that never answers becomes a 503 at its deadline, not a request that hangs.

import { afterEach, describe, expect, it, vi } from "vitest";
import { TIMINGS } from "../../src/config";

const { kvDeadlineMs: KV_DEADLINE_MS, r2DeadlineMs: R2_DEADLINE_MS, ledgerDeadlineMs: LEDGER_DEADLINE_MS } = TIMINGS;
import { client, json, newSystem, type Overrides } from "./helpers";
import { FaultInjector, type BindingName } from "./fault-bindings";

/** The worker's bindings with every call of `binding.method` left unanswered (no stall: it never settles). */
function hanging(binding: BindingName, method: string): Overrides {
  return new FaultInjector({ binding, method, nth: "every", mode: "hang" }).overrides();
}

/** Sends a request with fake timers, advancing them past `ms`, and returns the response. */
async function answeredAfter(ms: number, send: () => Promise<Response>): Promise<Response> {
  vi.useFakeTimers();
  const pending = send();
  await vi.advanceTimersByTimeAsync(ms + 1);
  return pending;
}

afterEach(() => {
  vi.useRealTimers();
});

describe("deadlines on platform calls", () => {
  it("a KV read that never answers is a 503, not a hang and not a 401", async () => {
    const system = await newSystem();
    const overrides: Overrides = hanging("SYSTEMS", "get");
    const response = await answeredAfter(KV_DEADLINE_MS, () => client(system, overrides).list());
    expect(response.status).toBe(503);
    expect(await json(response)).toEqual({ code: 503, message: "authentication service unavailable", data: null });
  });

  it("an R2 list, head or get, or the ledger's delete (its R2 calls run there), that never answers is a 503", async () => {
    const system = await newSystem();
    const created = (await json(await client(system).upload("kept", "k.gpg"))).data;
    const cases: [string, (api: ReturnType<typeof client>) => Promise<Response>][] = [
      ["list", (api) => api.list()],
      ["get", (api) => api.download(created.id)],
      ["head", (api) => api.head(created.id)],
      ["removeBackups", (api) => api.remove(created.id)],
    ];
    for (const [method, call] of cases) {
      const onLedger = method === "removeBackups";
      const api = client(system, hanging(onLedger ? "ORG_LEDGER" : "BACKUPS", method));
      const response = await answeredAfter(onLedger ? LEDGER_DEADLINE_MS : R2_DEADLINE_MS, () => call(api));
      expect([method, response.status]).toEqual([method, 503]);
      await response.body?.cancel();
      vi.useRealTimers();
    }
    expect(await (await client(system).download(created.id)).text()).toBe("kept");
  });
});
