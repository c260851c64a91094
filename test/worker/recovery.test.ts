// The recovery window as request sequences: every way a backup can leave a system (the
// appliance's DELETE, an operator's delete, a retention prune, a purge) leaves it recoverable,
// byte-exact, until the hourly cron erases it at the end of RECOVERY_DAYS (the cron's scheduled
// time, passed in), audited. Nothing in the API can make a removal final early.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { client, json, keyOf, newOrg, newSystem, NO_RATE_LIMITS, objectKeys, organizationLedger, patternBytes, runCron, sha256Hex, type TestSystem } from "./helpers";
import { admin, newFleetOrg, newOperator } from "./operator-helpers";

const DAY = 86_400_000;

async function auditOf(org: string, action: string): Promise<{ target: string; outcome: string }[]> {
  const { results } = await env.OPERATOR_DB.prepare("SELECT target, outcome FROM audit_events WHERE organization_id = ? AND action = ? ORDER BY seq")
    .bind(org, action)
    .all<{ target: string; outcome: string }>();
  return results;
}

async function listedIds(system: TestSystem): Promise<string[]> {
  return (await json<{ backups: { id: string }[] }>(await client(system).list())).data.backups.map((b) => b.id);
}

describe("the recovery window", () => {
  it("an appliance's DELETE: gone from the listing and the quota, recoverable byte-exact with when, why and who, restored under the same id", async () => {
    const { org, system, backupId } = await newFleetOrg();
    const bytes = patternBytes(3000, 7);
    const second = (await json(await client(system).upload(bytes, "second.tar.xz"))).data;
    expect((await client(system).remove(second.id)).status).toBe(200);
    expect(await listedIds(system)).toEqual([backupId]);
    expect(await organizationLedger(org).usageBytes(org)).toBe(`backup of ${system.key}`.length);
    expect(await organizationLedger(org).recoverableBytes(org)).toBe(3000);

    const reader = await newOperator("reader", [org]);
    const listed = await json(await admin(reader, "GET", `/systems/${system.key}/recoverable`));
    expect(listed.data.recoverable_bytes).toBe(3000);
    const [entry] = listed.data.backups;
    expect(entry).toMatchObject({ id: second.id, filename: "second.tar.xz", size: 3000, sha256: await sha256Hex(bytes), reason: "deleted", removed_by: system.key });
    // The ledger's commit time and R2's (the listing's) are the same moment, to within a second.
    expect(Math.abs(Date.parse(entry.uploaded_at) - Date.parse(second.uploaded_at))).toBeLessThanOrEqual(1000);
    // RECOVERY_DAYS (7) after the removal, on the whole second the API shows.
    const window = Date.parse(entry.erase_after) - Date.parse(entry.removed_at);
    expect(window).toBeGreaterThanOrEqual(7 * DAY);
    expect(window).toBeLessThanOrEqual(7 * DAY + 1000);
    // A second DELETE finds nothing to delete; the appliance cannot reach the recovery copy.
    expect((await client(system).remove(second.id)).status).toBe(404);
    expect((await client(system).download(second.id)).status).toBe(404);

    expect((await admin(reader, "POST", `/systems/${system.key}/recoverable/${second.id}/restore`)).status).toBe(403);
    const manager = await newOperator("manager", [org]);
    const restored = await admin(manager, "POST", `/systems/${system.key}/recoverable/${second.id}/restore`);
    expect(restored.status).toBe(200);
    expect((await json(restored)).data).toMatchObject({ id: second.id, size: 3000, sha256: await sha256Hex(bytes), uploaded_at: second.uploaded_at });
    const download = await client(system).download(second.id);
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(bytes);
    expect(await listedIds(system)).toEqual([second.id, backupId]);
    expect(await organizationLedger(org).recoverableBytes(org)).toBe(0);
    expect((await json(await admin(reader, "GET", `/systems/${system.key}/recoverable`))).data.backups).toEqual([]);
    // A restore repeated (its first answer lost, say) finds the backup back: the same answer.
    expect((await admin(manager, "POST", `/systems/${system.key}/recoverable/${second.id}/restore`)).status).toBe(200);
    expect((await admin(manager, "POST", `/systems/${system.key}/recoverable/${backupId.replace(/^.{8}/, "00000000")}/restore`)).status).toBe(404);
    expect((await auditOf(org, "backup.delete")).map((e) => e.outcome)[0]).toMatch(/^ok: recoverable until /);
    const restoredEvent = { target: `${system.key}/${second.id}`, outcome: "ok" };
    expect(await auditOf(org, "backup.restore")).toEqual([restoredEvent, restoredEvent]);
  });

  it("an operator's delete and a retention prune are recoverable too; the cron erases each when its window ends, audited", async () => {
    const org = newOrg();
    const system = await newSystem({ org });
    const limited = { ...NO_RATE_LIMITS, BACKUP_MAX_PER_SYSTEM: "2", BACKUP_PROTECT_DAILY: "0", BACKUP_PROTECT_WEEKLY: "0", BACKUP_PROTECT_MONTHLY: "0" };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await json(await client(system, limited).upload(patternBytes(100 + i, i + 1), `b${i}.tar.gz`))).data.id);
    expect(await listedIds(system)).toEqual([ids[2], ids[1]]); // the oldest was pruned
    const manager = await newOperator("manager", [org]);
    expect((await admin(manager, "DELETE", `/systems/${system.key}/backups/${ids[1]}`)).status).toBe(200);
    const { data } = await json(await admin(manager, "GET", `/systems/${system.key}/recoverable`));
    expect(data.backups.map((b: { id: string; reason: string; removed_by: string }) => [b.id, b.reason, b.removed_by])).toEqual([
      [ids[1], "deleted", manager.name],
      [ids[0], "pruned", "retention"],
    ]);
    const until = Math.max(...data.backups.map((b: { erase_after: string }) => Date.parse(b.erase_after)));
    await runCron(until - 60_000); // a minute early: nothing erased
    expect((await json(await admin(manager, "GET", `/systems/${system.key}/recoverable`))).data.backups).toHaveLength(2);
    await runCron(until + 3_600_000);
    expect((await json(await admin(manager, "GET", `/systems/${system.key}/recoverable`))).data.backups).toEqual([]);
    expect(await objectKeys(`.recovery/${org}/`)).toEqual([]);
    expect((await auditOf(org, "backup.erase")).map((e) => e.target).sort()).toEqual([`${system.key}/${ids[0]}`, `${system.key}/${ids[1]}`].sort());
    expect(await organizationLedger(org).recoverableBytes(org)).toBe(0);
    expect(await listedIds(system)).toEqual([ids[2]]);
  });

  it("a purge kills the credentials at once and empties the listing; an admin undoes it with a new secret, byte-exact; after the window the cron erases it", async () => {
    const { org, system, backupId } = await newFleetOrg();
    const bytes = patternBytes(2000, 3);
    const second = (await json(await client(system).upload(bytes, "two.tar.xz"))).data;
    const adminOp = await newOperator("admin", [org]);
    const purged = await admin(adminOp, "DELETE", `/systems/${system.key}?purge=true`);
    expect(purged.status).toBe(200);
    expect((await json(purged)).data).toMatchObject({ purged: true, objects_deleted: 2 });
    expect((await client(system).list()).status).toBe(401);
    expect(await objectKeys(`${org}/${system.key}/`)).toEqual([]);
    const listed = (await json(await admin(adminOp, "GET", `/systems/${system.key}/recoverable`))).data.backups;
    expect(listed.map((b: { id: string; reason: string }) => [b.id, b.reason]).sort()).toEqual([[backupId, "purged"], [second.id, "purged"]].sort());
    // Restoring one backup of a purged system: restore the system first.
    expect((await admin(adminOp, "POST", `/systems/${system.key}/recoverable/${backupId}/restore`)).status).toBe(409);
    const manager = await newOperator("manager", [org]);
    expect((await admin(manager, "POST", `/systems/${system.key}/restore`)).status).toBe(403);
    const outsider = await newOperator("admin", [newOrg()]);
    expect((await admin(outsider, "POST", `/systems/${system.key}/restore`)).status).toBe(404);

    const undone = await admin(adminOp, "POST", `/systems/${system.key}/restore`);
    expect(undone.status).toBe(200);
    const credentials = (await json(undone)).data;
    expect(credentials).toMatchObject({ system_key: system.key, organization_id: org, backups_restored: 2 });
    expect(credentials.system_secret).not.toBe(system.secret);
    expect((await client(system).list()).status).toBe(401); // the old secret never works again
    const renewed = { ...system, secret: credentials.system_secret, authorization: "Basic " + btoa(`${system.key}:${credentials.system_secret}`) };
    expect((await listedIds(renewed)).sort()).toEqual([backupId, second.id].sort());
    expect(new Uint8Array(await (await client(renewed).download(second.id)).arrayBuffer())).toEqual(bytes);
    expect((await admin(adminOp, "POST", `/systems/${system.key}/restore`)).status).toBe(409);
    expect(await auditOf(org, "system.restore")).toHaveLength(1);

    // Purged again and left alone: the cron erases the system at the end of its window.
    const again = (await json(await admin(adminOp, "DELETE", `/systems/${system.key}?purge=true`))).data;
    await runCron(Date.parse(again.recoverable_until) + 1000);
    expect(await objectKeys(`.recovery/${org}/`)).toEqual([]);
    expect(await objectKeys(`.recovery/.systems/${system.key}`)).toEqual([]);
    expect((await admin(adminOp, "GET", `/systems/${system.key}/recoverable`)).status).toBe(404);
    expect((await admin(adminOp, "POST", `/systems/${system.key}/restore`)).status).toBe(404);
    expect(await auditOf(org, "system.erase")).toHaveLength(1);
    expect(await auditOf(org, "backup.erase")).toHaveLength(2);
    expect(await organizationLedger(org).recoverableBytes(org)).toBe(0);
  });

  it("a restore the quota no longer allows answers 413 and restores nothing", async () => {
    const org = newOrg();
    const system = await newSystem({ org });
    const quota = { ...NO_RATE_LIMITS, BACKUP_MAX_SIZE_PER_ORG: "1000" };
    const first = (await json(await client(system, quota).upload(patternBytes(600, 1), "a.tar.gz"))).data;
    expect((await client(system, quota).remove(first.id)).status).toBe(200);
    expect((await client(system, quota).upload(patternBytes(600, 2), "b.tar.gz")).status).toBe(201); // the deleted bytes left the quota
    const manager = await newOperator("manager", [org]);
    const refused = await admin(manager, "POST", `/systems/${system.key}/recoverable/${first.id}/restore`, undefined, quota);
    expect(refused.status).toBe(413);
    expect(await env.BACKUPS.head(keyOf(system, first.id))).toBeNull();
    expect((await json(await admin(manager, "GET", `/systems/${system.key}/recoverable`))).data.backups).toHaveLength(1);
  });
});
