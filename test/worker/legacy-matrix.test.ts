// The older protocol's authorization matrix and faults. Every kind of credential × every legacy
// endpoint: only the system's own legacy credentials get in, and only to its own backups; every
// other credential (appliance, operator, another system's, none) is 401 and changes nothing.
// Then one failing binding call at each step of the legacy calls: 503 (never 401, never a
// guess), nothing half-written, and a refused upload still recorded.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readActivity } from "../../src/operator/system-activity";
import { FaultInjector, injectIntoLedger } from "./fault-bindings";
import { basicAuthorization, keyOf, objectKeys, prefixOf, send } from "./helpers";
import { legacyClient, newLegacySystem, ORIGIN, type LegacySystem } from "./legacy-helpers";
import { newOperator } from "./operator-helpers";

type Kind = "own legacy" | "other system's legacy" | "own appliance" | "operator admin" | "none";
const KINDS: Kind[] = ["own legacy", "other system's legacy", "own appliance", "operator admin", "none"];

interface Endpoint {
  name: string;
  call: (s: LegacySystem & { backupId: string }, authorization: string, otherId: string) => Request;
  success: number;
}

const auth = (authorization: string): Record<string, string> => (authorization ? { Authorization: authorization } : {});
const ENDPOINTS: Endpoint[] = [
  { name: "list", call: (_s, a) => new Request(`${ORIGIN}/enterprise/api/v2/backup/`, { headers: auth(a) }), success: 200 },
  { name: "put", call: (_s, a) => new Request(`${ORIGIN}/community/api/v2/backup/dump.json.gz.gpg`, { method: "PUT", body: "new bytes", headers: { ...auth(a), "Content-Length": "9" } }), success: 201 },
  { name: "download", call: (s, a) => new Request(`${ORIGIN}/enterprise/api/v2/backup/${s.backupId}`, { headers: auth(a) }), success: 200 },
  { name: "delete", call: (s, a) => new Request(`${ORIGIN}/enterprise/api/v2/backup/${s.backupId}`, { method: "DELETE", headers: auth(a) }), success: 200 },
  { name: "proxy upload", call: (_s, a) => new Request(`${ORIGIN}/proxy/backup`, { method: "POST", body: "copy bytes", headers: { ...auth(a), "Content-Type": "application/octet-stream", "X-Filename": "x.gpg", "Content-Length": "10" } }), success: 201 },
  { name: "credentials", call: (_s, a) => new Request(`${ORIGIN}/proxy/credentials`, { headers: auth(a) }), success: 200 },
  // Another system's backup id, with the system's own credentials: as if it did not exist.
  { name: "another system's backup", call: (_s, a, otherId) => new Request(`${ORIGIN}/enterprise/api/v2/backup/${otherId}`, { headers: auth(a) }), success: 404 },
];

async function withBackup(): Promise<LegacySystem & { backupId: string }> {
  const system = await newLegacySystem();
  const put = await legacyClient(system).put(`bytes of ${system.key}`, "backup-1.tar.gz.gpg");
  const backupId = ((await put.json()) as { id: string }).id;
  return { ...system, backupId };
}

describe("older protocol: authorization matrix", { timeout: 30_000 }, () => {
  const cells = ENDPOINTS.flatMap((e) => KINDS.map((kind) => ({ e, kind })));
  it.each(cells.map((c) => [`${c.kind} → ${c.e.name}`, c] as const))("%s", async (_, { e, kind }) => {
    const system = await withBackup();
    const other = await withBackup();
    const operator = await newOperator("admin", "*");
    const authorization = {
      "own legacy": system.legacyAuthorization,
      // This system's id with the other system's secret.
      "other system's legacy": basicAuthorization(system.legacyId, other.legacySecret),
      "own appliance": system.authorization,
      "operator admin": operator.authorization,
      none: "",
    }[kind];
    const before = [await objectKeys(prefixOf(system)), await objectKeys(prefixOf(other))];
    const response = await send(e.call(system, authorization, other.backupId));
    await response.arrayBuffer();
    if (kind === "own legacy") {
      expect(response.status).toBe(e.success);
    } else {
      expect(response.status).toBe(401);
      expect(response.headers.get("WWW-Authenticate")).toMatch(/^Basic /);
      expect([await objectKeys(prefixOf(system)), await objectKeys(prefixOf(other))]).toEqual(before);
    }
    // Nothing of the other system ever changes.
    expect(await objectKeys(prefixOf(other))).toEqual([keyOf(other, other.backupId)]);
  });
});

describe("older protocol: one failing binding call", { timeout: 30_000 }, () => {
  it("KV failing during sign-in is 503, never 401; nothing is throttled or recorded", async () => {
    const system = await newLegacySystem();
    for (const mode of ["throw", "lost"] as const) {
      const faults = new FaultInjector({ binding: "SYSTEMS", method: "get", nth: 1, mode });
      const response = await legacyClient(system, { overrides: faults.operatorOverrides() }).list();
      expect(response.status).toBe(503);
      expect(response.headers.get("Retry-After")).toBe("30");
      await response.arrayBuffer();
    }
    expect((await readActivity(env.OPERATOR_DB, system.key)).last_refused_at).toBeNull();
  });

  it("R2 failing on the list is 503; on the upload's put it is 503, nothing stored, and the refusal recorded as unavailable", async () => {
    const system = await newLegacySystem();
    const listFault = new FaultInjector({ binding: "BACKUPS", method: "list", nth: 1, mode: "throw" });
    const list = await legacyClient(system, { overrides: listFault.operatorOverrides() }).list();
    expect(list.status).toBe(503);
    await list.arrayBuffer();
    const putFault = new FaultInjector({ binding: "BACKUPS", method: "put", nth: "every", mode: "throw" });
    const put = await legacyClient(system, { overrides: putFault.operatorOverrides() }).put("bytes", "backup-2.tar.gz.gpg");
    expect(put.status).toBe(503);
    await put.arrayBuffer();
    expect(await objectKeys(prefixOf(system))).toEqual([]);
    expect((await readActivity(env.OPERATOR_DB, system.key)).last_refused_reason).toBe("unavailable");
  });

  it("the ledger failing on admission is 503 and recorded; D1 failing (audit, activity) never fails an upload or a delete", async () => {
    const system = await newLegacySystem();
    const ledgerFault = new FaultInjector({ binding: "ORG_LEDGER", method: "reserve", nth: "every", mode: "throw" });
    const refused = await legacyClient(system, { overrides: ledgerFault.operatorOverrides() }).put("bytes", "backup-3.tar.gz.gpg");
    expect(refused.status).toBe(503);
    await refused.arrayBuffer();
    expect((await readActivity(env.OPERATOR_DB, system.key)).last_refused_reason).toBe("unavailable");

    const d1Fault = new FaultInjector({ binding: "OPERATOR_DB", method: "*", nth: "every", mode: "throw" });
    const legacy = legacyClient(system, { overrides: d1Fault.operatorOverrides() });
    const put = await legacy.put("bytes kept", "backup-4.tar.gz.gpg");
    expect(put.status).toBe(201);
    const id = ((await put.json()) as { id: string }).id;
    const removed = await legacy.remove(id);
    expect(await removed.text()).toBe('{"result":"success"}');
  });

  it("the delete's move into the recovery window failing is 503 in the envelope (never {\"result\":\"success\"}) and the backup stays", async () => {
    const system = await newLegacySystem();
    const put = await legacyClient(system).put("bytes", "backup-5.tar.gz.gpg");
    const id = ((await put.json()) as { id: string }).id;
    // The ledger moves the backup (get, put under the recovery prefix, delete): its copy's put fails.
    await injectIntoLedger(new FaultInjector({ binding: "LEDGER.BACKUPS", method: "put", nth: "every", mode: "throw" }), system.org);
    try {
      const response = await legacyClient(system).remove(id);
      expect(response.status).toBe(503);
      expect(JSON.parse(await response.text())).toMatchObject({ code: 503 });
      expect(await objectKeys(prefixOf(system))).toEqual([keyOf(system, id)]);
    } finally {
      await injectIntoLedger(new FaultInjector(), system.org);
    }
  });
});
