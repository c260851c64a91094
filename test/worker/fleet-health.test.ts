// Fleet health: the rule (pure and in SQL, the same answers), its boundaries as the clock moves,
// the operator's name and notes, the appliance's signs of life, and finding systems by health,
// order and search, within the token's scope.

import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sweepIndexPage } from "../../src/operator/index-sweep";
import { readFleetRow } from "../../src/operator/fleet-query";
import { systemHealth, type HealthInputs } from "../../src/operator/health";
import { rfc3339 } from "../../src/platform/time";
import { upsertSystemStatement } from "../../src/operator/system-index";
import { FaultInjector } from "./fault-bindings";
import { client, json, newOrg, newSystem, NO_RATE_LIMITS, type TestSystem } from "./helpers";
import { admin, newFleetOrg, newOperator } from "./operator-helpers";
import { fcParameters } from "./seeds";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const db = () => env.OPERATOR_DB;

/** Writes a system's index row, profile, activity and settings straight into D1, as the worker would have. */
async function seedFacts(key: string, org: string, facts: HealthInputs, staleAfterDays: number | null = null) {
  await db()
    .prepare("INSERT OR REPLACE INTO systems (system_key, organization_id, system_id, registered_at, suspended_at, deleted_at, append_only, indexed_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)")
    .bind(key, org, `id-${key}`, facts.registered_at, facts.suspended_at, facts.deleted_at, rfc3339(T0))
    .run();
  await db().prepare("INSERT OR REPLACE INTO system_profile (system_key, last_backup_at) VALUES (?, ?)").bind(key, facts.last_backup_at).run();
  await db()
    .prepare("INSERT OR REPLACE INTO system_activity (system_key, organization_id, last_seen_at, last_refused_at) VALUES (?, ?, ?, ?)")
    .bind(key, org, facts.last_seen_at, facts.last_refused_at)
    .run();
  if (staleAfterDays !== null)
    await db().prepare("INSERT OR REPLACE INTO organization_settings (organization_id, stale_after_days) VALUES (?, ?)").bind(org, staleAfterDays).run();
}

const facts = (over: Partial<HealthInputs>): HealthInputs => ({
  registered_at: rfc3339(T0 - 30 * DAY),
  suspended_at: null,
  deleted_at: null,
  last_backup_at: null,
  last_seen_at: null,
  last_refused_at: null,
  ...over,
});

describe("the health rule", () => {
  it("answers the same in SQL (listings) as in the pure function (views, the cron), over generated systems and times", async () => {
    const time = fc.option(fc.integer({ min: T0 - 40 * DAY, max: T0 + 10 * DAY }).map((t) => rfc3339(t)), { nil: null });
    await fc.assert(
      fc.asyncProperty(
        fc.record({ registered_at: time, suspended_at: time, deleted_at: time, last_backup_at: time, last_seen_at: time, last_refused_at: time }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: T0 - 5 * DAY, max: T0 + 20 * DAY }),
        async (inputs, days, now) => {
          const org = newOrg();
          const key = `H-${crypto.randomUUID()}`;
          await seedFacts(key, org, inputs, days);
          const row = await readFleetRow(db(), key, now);
          expect(row?.health).toBe(systemHealth(inputs, now, days));
        },
      ),
      fcParameters(60),
    );
  });

  it("moves through each state at its boundary as the clock moves (default: 7 days)", () => {
    const backup = T0;
    const s = facts({ last_backup_at: rfc3339(backup) });
    expect(systemHealth(s, backup + 7 * DAY)).toBe("ok");
    expect(systemHealth(s, backup + 7 * DAY + 1000)).toBe("stale");
    // A call after the backup (to the hour) keeps it alive: silence, not age, is the signal.
    const seen = { ...s, last_seen_at: rfc3339(backup + 3 * DAY) };
    expect(systemHealth(seen, backup + 10 * DAY)).toBe("ok");
    expect(systemHealth(seen, backup + 10 * DAY + 1000)).toBe("stale");
    expect(systemHealth(seen, backup + 10 * DAY + 1000, 30)).toBe("ok");
    // Registered with no backup: ok for a day, then never.
    const fresh = facts({ registered_at: rfc3339(T0) });
    expect(systemHealth(fresh, T0 + DAY - 1000)).toBe("ok");
    expect(systemHealth(fresh, T0 + DAY)).toBe("never");
    // A refusal after the newest backup: refused until a backup is stored after it.
    const refused = { ...s, last_refused_at: rfc3339(backup + 1000) };
    expect(systemHealth(refused, backup + 2000)).toBe("refused");
    expect(systemHealth({ ...refused, last_backup_at: rfc3339(backup + 5000) }, backup + 6000)).toBe("ok");
    // Precedence: retired over suspended over refused over never over stale.
    const all = facts({ deleted_at: rfc3339(T0), suspended_at: rfc3339(T0), last_refused_at: rfc3339(T0) });
    expect(systemHealth(all, T0 + 40 * DAY)).toBe("retired");
    expect(systemHealth({ ...all, deleted_at: null }, T0 + 40 * DAY)).toBe("suspended");
    expect(systemHealth({ ...all, deleted_at: null, suspended_at: null }, T0 + 40 * DAY)).toBe("refused");
    expect(systemHealth(facts({}), T0 + 40 * DAY)).toBe("never");
  });
});

describe("name and notes", () => {
  it("are set by a manager, validated, audited, shown everywhere and kept by the index sweep", async () => {
    const { org, system } = await newFleetOrg();
    const manager = await newOperator("manager", [org]);
    for (const [body, message] of [
      [{ name: "x".repeat(101) }, "name must be at most 100 characters"],
      [{ notes: "y".repeat(1001) }, "notes must be at most 1000 characters"],
      [{ name: 42 }, "name must be a string or null"],
      [{ name: "a\u0007b" }, "name must not contain control characters"],
      [{}, "nothing to change: give append_only, name or notes"],
      [{ label: "x" }, 'unknown field "label"'],
    ] as const) {
      const refused = await admin(manager, "PATCH", `/systems/${system.key}`, body);
      expect(refused.status).toBe(400);
      expect((await json(refused)).message).toBe(message);
    }
    const reader = await newOperator("reader", [org]);
    const forbidden = await admin(reader, "PATCH", `/systems/${system.key}`, { name: "x" });
    expect(forbidden.status).toBe(403);
    await forbidden.body?.cancel();
    const name = "Milano — sede centrale";
    const patched = await admin(manager, "PATCH", `/systems/${system.key}`, { name, notes: "rack 3\nfirewall" });
    expect(patched.status).toBe(200);
    expect((await json(patched)).data).toMatchObject({ name, notes: "rack 3\nfirewall", health: "ok" });
    // The sweep rewrites `systems` from KV: the name lives elsewhere and survives.
    await db().prepare("UPDATE systems SET system_id = 'stale' WHERE system_key = ?").bind(system.key).run();
    for (let i = 0; i < 5; i++) if ((await sweepIndexPage(env.SYSTEMS, db())).passEnded) break;
    const shown = await json(await admin(reader, "GET", `/systems/${system.key}`));
    expect(shown.data).toMatchObject({ name, notes: "rack 3\nfirewall" });
    const listed = await json(await admin(reader, "GET", `/organizations/${org}/systems`));
    expect(listed.data.systems[0]).toMatchObject({ system_key: system.key, name });
    const audit = await json(await admin(reader, "GET", `/organizations/${org}/audit`));
    expect(audit.data.events.filter((e: any) => e.action === "system.profile" && e.target === system.key)).toHaveLength(1);
    const cleared = await json(await admin(manager, "PATCH", `/systems/${system.key}`, { notes: null }));
    expect(cleared.data).toMatchObject({ name, notes: null });
  });
});

describe("the appliance's signs of life", () => {
  it("records last seen in the background, at most once an hour per isolate: a list stays 2 blocking calls", async () => {
    const system = await newSystem();
    await env.SYSTEMS.put(system.key, JSON.stringify(system.record));
    const first = new FaultInjector();
    const listed = await client(system, first.operatorOverrides()).list();
    expect(listed.status).toBe(200);
    await listed.body?.cancel();
    expect(first.callsTo("SYSTEMS").length + first.callsTo("BACKUPS").length).toBe(2);
    expect(first.callsTo("OPERATOR_DB").map((c) => c.method)).toEqual(["run"]);
    const row = await db().prepare("SELECT last_seen_at FROM system_activity WHERE system_key = ?").bind(system.key).first<{ last_seen_at: string }>();
    expect(row?.last_seen_at).toBe(rfc3339(Math.floor(Date.now() / 3_600_000) * 3_600_000));
    const second = new FaultInjector();
    const again = await client(system, second.operatorOverrides()).list();
    await again.body?.cancel();
    expect(second.callsTo("OPERATOR_DB")).toHaveLength(0);
  });

  it("marks a refused upload (413) refused, and the next stored backup ok again", async () => {
    const { org, system } = await newFleetOrg();
    const reader = await newOperator("reader", [org]);
    await new Promise((r) => setTimeout(r, 1100)); // times have second precision: refused after the first backup
    const tooBig = await client(system, { ...NO_RATE_LIMITS, BACKUP_MAX_UPLOAD_SIZE: "4" }).upload("more than four bytes");
    expect(tooBig.status).toBe(413);
    await tooBig.body?.cancel();
    const refused = await json(await admin(reader, "GET", `/systems/${system.key}`));
    expect(refused.data).toMatchObject({ health: "refused", last_refused_reason: "size" });
    expect(refused.data.last_refused_at).not.toBeNull();
    await new Promise((r) => setTimeout(r, 1100)); // commit times have second precision
    const stored = await client(system, NO_RATE_LIMITS).upload(`a new backup ${crypto.randomUUID()}`);
    expect(stored.status).toBe(201);
    await stored.body?.cancel();
    const ok = await json(await admin(reader, "GET", `/systems/${system.key}`));
    expect(ok.data.health).toBe("ok");
    const profile = await db().prepare("SELECT last_backup_at FROM system_profile WHERE system_key = ?").bind(system.key).first<{ last_backup_at: string }>();
    expect(profile?.last_backup_at).toBe(ok.data.last_backup_at);
  });
});

/** An organisation whose systems have the given health facts (index rows only: no backups in the ledger). */
async function seededOrg(list: { name?: string; facts: HealthInputs }[]): Promise<{ org: string; keys: string[] }> {
  const org = newOrg();
  const keys: string[] = [];
  for (const [i, s] of list.entries()) {
    const key = `F${i}-${crypto.randomUUID()}`;
    await seedFacts(key, org, s.facts);
    if (s.name) await db().prepare("UPDATE system_profile SET name = ? WHERE system_key = ?").bind(s.name, key).run();
    keys.push(key);
  }
  return { org, keys };
}

describe("finding systems", () => {
  const now = Date.now();
  const ago = (days: number) => rfc3339(now - days * DAY);

  it("lists the most silent first, filters by health, sorts by a column either way, searches, and pages without loss", async () => {
    const { org, keys } = await seededOrg([
      { name: "Alpha", facts: facts({ registered_at: ago(60), last_backup_at: ago(1) }) },
      { name: "beta", facts: facts({ registered_at: ago(60), last_backup_at: ago(20) }) },
      { name: "Gamma", facts: facts({ registered_at: ago(60), last_backup_at: ago(10), last_seen_at: ago(9) }) },
      { facts: facts({ registered_at: ago(60) }) },
      { name: "Delta", facts: facts({ registered_at: ago(60), last_backup_at: ago(2), suspended_at: ago(1) }) },
    ]);
    const reader = await newOperator("reader", [org]);
    const list = async (query: string) => {
      const response = await admin(reader, "GET", `/organizations/${org}/systems${query}`);
      expect(response.status).toBe(200);
      return (await json(response)).data;
    };
    const all = await list("");
    expect(all.systems.map((s: any) => s.system_key)).toEqual([keys[3], keys[1], keys[2], keys[4], keys[0]]);
    expect(all.systems.map((s: any) => s.health)).toEqual(["never", "stale", "stale", "suspended", "ok"]);
    expect((await list("?health=stale")).systems.map((s: any) => s.system_key)).toEqual([keys[1], keys[2]]);
    expect((await list("?sort=name")).systems.map((s: any) => s.name)).toEqual([null, "Alpha", "beta", "Delta", "Gamma"]);
    expect((await list("?sort=-last_backup_at")).systems.map((s: any) => s.system_key)).toEqual([keys[0], keys[4], keys[2], keys[1], keys[3]]);
    expect((await list("?q=GAM")).systems.map((s: any) => s.system_key)).toEqual([keys[2]]);
    expect((await list(`?q=${keys[1].slice(0, 12)}`)).systems.map((s: any) => s.system_key)).toEqual([keys[1]]);
    expect((await list(`?q=id-${keys[4].slice(0, 8)}`)).systems.map((s: any) => s.system_key)).toEqual([keys[4]]);
    expect((await list("?q=100%25")).systems).toEqual([]); // % is literal, not a wildcard
    for (const sort of ["", "&sort=-name", "&sort=last_seen_at", "&sort=system_key"]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await list(`?limit=2${sort}${cursor ? `&cursor=${cursor}` : ""}`);
        expect(page.systems.length).toBeLessThanOrEqual(2);
        seen.push(...page.systems.map((s: any) => s.system_key));
        cursor = page.cursor;
      } while (cursor);
      expect(seen.sort()).toEqual([...keys].sort());
    }
    for (const bad of ["?health=sick", "?sort=size", "?sort=--name", "?cursor=%21", `?q=${"q".repeat(129)}`]) {
      const response = await admin(reader, "GET", `/organizations/${org}/systems${bad}`);
      expect(response.status).toBe(400);
      await response.body?.cancel();
    }
  });

  it("sorts by bytes used from the ledger, both ways", async () => {
    const org = newOrg();
    const small = await newSystem({ org });
    const large = await newSystem({ org });
    for (const [s, bytes] of [[small, "x"], [large, "y".repeat(5000)]] as [TestSystem, string][]) {
      await upsertSystemStatement(db(), s.key, s.record).run();
      const up = await client(s, NO_RATE_LIMITS).upload(bytes);
      expect(up.status).toBe(201);
      await up.body?.cancel();
    }
    const reader = await newOperator("reader", [org]);
    const asc = await json(await admin(reader, "GET", `/organizations/${org}/systems?sort=bytes_used&limit=1`));
    expect(asc.data.systems.map((s: any) => s.system_key)).toEqual([small.key]);
    const next = await json(await admin(reader, "GET", `/organizations/${org}/systems?sort=bytes_used&limit=1&cursor=${asc.data.cursor}`));
    expect(next.data.systems.map((s: any) => s.system_key)).toEqual([large.key]);
    expect(next.data.cursor).toBeNull();
    const desc = await json(await admin(reader, "GET", `/organizations/${org}/systems?sort=-bytes_used`));
    expect(desc.data.systems.map((s: any) => s.system_key)).toEqual([large.key, small.key]);
  });

  it("searches across the token's scope only, in one D1 query per page", async () => {
    const tag = `Shop${crypto.randomUUID().slice(0, 6)}`;
    const a = await seededOrg([{ name: `${tag} Roma`, facts: facts({ last_backup_at: ago(1) }) }]);
    const b = await seededOrg([{ name: `${tag} Napoli`, facts: facts({ last_backup_at: ago(1) }) }]);
    const scoped = await newOperator("reader", [a.org]);
    const everyone = await newOperator("reader", "*");
    const mine = await json(await admin(scoped, "GET", `/systems?q=${tag.toLowerCase()}`));
    expect(mine.data.systems.map((s: any) => s.system_key)).toEqual(a.keys);
    const injector = new FaultInjector();
    const found = await json(await admin(everyone, "GET", `/systems?q=${tag}`, undefined, injector.operatorOverrides()));
    expect(found.data.systems.map((s: any) => s.system_key).sort()).toEqual([...a.keys, ...b.keys].sort());
    // The page is one D1 query (beside the token's lookup); the ledger adds one call per organisation on it.
    expect(injector.callsTo("OPERATOR_DB", "all")).toHaveLength(1);
    expect(injector.callsTo("ORG_LEDGER", "systemsUsage")).toHaveLength(2);
    const missing = await admin(everyone, "GET", "/systems");
    expect(missing.status).toBe(400);
    await missing.body?.cancel();
  });
});
