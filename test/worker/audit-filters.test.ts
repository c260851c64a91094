// Server-side audit filters: `action` (exact or an object's every verb), `target` (a system with its
// backups, or one `KEY/ID`), `since` and `until` (RFC 3339), with cursor paging, over indexes that
// keep a page's cost independent of the trail's length.

import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { auditPageQuery, recordAudit, type AuditAction, type AuditFilter } from "../../src/operator/audit";
import { parseRfc3339, rfc3339 } from "../../src/platform/time";
import { json, newOrg } from "./helpers";
import { admin, newOperator, type TestOperator } from "./operator-helpers";
import { fcParameters } from "./seeds";

const HOUR = 3_600_000;
const T0 = Date.parse("2026-03-01T00:00:00Z");
const ACTIONS: AuditAction[] = ["system.create", "system.suspend", "system.move", "backup.link", "backup.delete", "backup.prune", "token.create"];

interface Row {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  client_ip: string | null;
}

/** An organisation whose trail holds `count` events spread over days, on two systems, their backups and a token. */
async function seededTrail(count: number): Promise<{ org: string; keys: string[]; rows: Row[] }> {
  const org = newOrg();
  const keys = [`NETH-${crypto.randomUUID()}`, `NETH-${crypto.randomUUID()}`];
  const targets = [keys[0], `${keys[0]}/01900000-0000-7000-8000-00000000000a.tar.gz`, `${keys[0]}/01900000-0000-7000-8000-00000000000b.tar.gz`, keys[1], `${keys[1]}/01900000-0000-7000-8000-00000000000c.tar.gz`, "a colleague"];
  const events = Array.from({ length: count }, (_, i) => ({
    organizationId: org,
    actor: "tester",
    action: ACTIONS[(i * 5) % ACTIONS.length],
    target: targets[(i * 7) % targets.length],
    outcome: "ok",
    clientIp: null,
    // Not in insertion order: a few events share a second, some come in late (the list orders by time).
    at: T0 + ((i * 37) % 97) * HOUR + (i % 3 === 0 ? 0 : 1000),
  }));
  for (let i = 0; i < events.length; i += 50) await recordAudit(env.OPERATOR_DB, events.slice(i, i + 50));
  const { results } = await env.OPERATOR_DB.prepare("SELECT seq, at, actor, action, target, outcome, client_ip FROM audit_events WHERE organization_id = ?").bind(org).all<Row>();
  return { org, keys, rows: results };
}

/** What the filter must return, in order: the model of the API. */
function expected(rows: Row[], f: AuditFilter): Omit<Row, "seq">[] {
  return rows
    .filter((r) => f.action === undefined || (f.action.endsWith(".") ? r.action.startsWith(f.action) : r.action === f.action))
    .filter((r) => f.target === undefined || r.target === f.target || (!f.target.includes("/") && r.target.startsWith(`${f.target}/`)))
    .filter((r) => f.since === undefined || Date.parse(r.at) >= f.since)
    .filter((r) => f.until === undefined || Date.parse(r.at) <= f.until)
    .sort((a, b) => (a.at === b.at ? b.seq - a.seq : a.at < b.at ? 1 : -1))
    .map(({ seq: _seq, ...view }) => view);
}

function query(f: AuditFilter, limit: number): string {
  const q = new URLSearchParams({ limit: String(limit) });
  if (f.action !== undefined) q.set("action", f.action);
  if (f.target !== undefined) q.set("target", f.target);
  if (f.since !== undefined) q.set("since", new Date(f.since).toISOString());
  if (f.until !== undefined) q.set("until", new Date(f.until).toISOString());
  return q.toString();
}

async function allPages(operator: TestOperator, org: string, f: AuditFilter, limit: number) {
  const events = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 500; pages++) {
    const response = await admin(operator, "GET", `/organizations/${org}/audit?${query(f, limit)}${cursor ? `&cursor=${cursor}` : ""}`);
    const body = await json(response);
    expect(response.status, body.message).toBe(200);
    expect(body.data.events.length).toBeLessThanOrEqual(limit);
    events.push(...body.data.events);
    cursor = body.data.cursor;
    if (!cursor) return events;
  }
  throw new Error("paging did not end");
}

describe("audit filters", () => {
  it("every combination of action, target, since and until returns exactly the matching events, newest first, across pages", async () => {
    const { org, keys, rows } = await seededTrail(240);
    const reader = await newOperator("reader", [org]);
    const filter = fc.record(
      {
        action: fc.constantFrom<string>(...ACTIONS, "system.", "backup.", "token.", "alert.fired"),
        target: fc.constantFrom(keys[0], keys[1], rows[0].target, rows[1].target, "a colleague", "NETH-unknown", keys[0].slice(0, 20)),
        since: fc.integer({ min: -5, max: 100 }).map((h) => T0 + h * HOUR + (h % 2) * 500),
        until: fc.integer({ min: -5, max: 100 }).map((h) => T0 + h * HOUR + 1000),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(filter, fc.integer({ min: 1, max: 60 }), async (f, limit) => {
        if (f.since !== undefined && f.until !== undefined && f.since > f.until) return;
        expect(await allPages(reader, org, f, limit)).toEqual(expected(rows, f));
      }),
      fcParameters(60),
    );
  }, 180_000);

  it("a window moves with the clock: the same trail read as days pass shows each day's events once", async () => {
    const { org, rows } = await seededTrail(120);
    const reader = await newOperator("reader", [org]);
    const seen: string[] = [];
    // Day by day, as a console would page a date range: windows that touch at a second never overlap.
    for (let day = 0; day < 5; day++) {
      const f = { since: T0 + day * 24 * HOUR, until: T0 + (day + 1) * 24 * HOUR - 1 };
      const page = await allPages(reader, org, f, 25);
      expect(page).toEqual(expected(rows, f));
      seen.push(...page.map((e) => `${e.at} ${e.action} ${e.target}`));
    }
    expect(seen.length).toBe(rows.length);
  });

  it("refuses malformed filters and cursors with a 400 naming the parameter", async () => {
    const org = newOrg();
    const reader = await newOperator("reader", [org]);
    const cases: [string, RegExp][] = [
      ["action=", /^action must be/],
      ["action=System.move", /^action must be/],
      ["action=system", /^action must be/],
      ["action=system.move.x", /^action must be/],
      ["action=%25", /^action must be/],
      ["target=", /^target must be/],
      [`target=${"a".repeat(257)}`, /^target must be/],
      ["target=a%00b", /^target must be/],
      ["since=yesterday", /^since must be an RFC 3339/],
      ["since=2026-02-30T00:00:00Z", /^since must be an RFC 3339/],
      ["since=2026-12-05T24:00:00Z", /^since must be an RFC 3339/],
      ["since=2026-12-05", /^since must be an RFC 3339/],
      ["until=1733380800", /^until must be an RFC 3339/],
      ["until=2026-12-05T07:00:00+25:00", /^until must be an RFC 3339/],
      ["since=2026-12-05T08:00:00Z&until=2026-12-05T07:59:59Z", /^since must not be after until$/],
      ["since=2026-12-05T08:00:00%2B01:00&until=2026-12-05T06:59:59Z", /^since must not be after until$/],
      ["cursor=%24%24", /^invalid cursor$/],
      [`cursor=${btoa("12345")}`, /^invalid cursor$/],
      [`cursor=${btoa("2026-12-05T07:00:00Z|x")}`.replace(/=+$/, ""), /^invalid cursor$/],
    ];
    for (const [q, message] of cases) {
      const response = await admin(reader, "GET", `/organizations/${org}/audit?${q}`);
      const body = await json(response);
      expect(response.status, q).toBe(400);
      expect(body.message, q).toMatch(message);
      expect(body.data).toBeNull();
    }
    // Good spellings of the same bounds: an offset (with its + encoded, or arrived as a space), a fraction, a leap second.
    for (const q of ["since=2026-12-05T08:00:00%2B01:00&until=2026-12-05T07:00:00Z", "since=2026-12-05T08:00:00+01:00", "until=2016-12-31T23:59:60Z", "since=2024-02-29T00:00:00.123456Z"]) {
      const response = await admin(reader, "GET", `/organizations/${org}/audit?${q}`);
      expect(response.status, q).toBe(200);
      await response.arrayBuffer();
    }
  });

  it("parses RFC 3339 exactly: offsets, fractions, impossible dates", () => {
    expect(parseRfc3339("2026-12-05T08:00:00+01:00")).toBe(Date.parse("2026-12-05T07:00:00Z"));
    expect(parseRfc3339("2026-12-05t07:00:00.999z")).toBe(Date.parse("2026-12-05T07:00:00.999Z"));
    expect(parseRfc3339("2026-12-05T07:00:00 01:00")).toBe(Date.parse("2026-12-05T06:00:00Z"));
    expect(parseRfc3339("2024-02-29T00:00:00Z")).toBe(Date.parse("2024-02-29T00:00:00Z"));
    for (const bad of ["2025-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-00-10T00:00:00Z", "2026-12-05T07:60:00Z", "2026-12-05T07:00:00", "2026-12-05T07:00:00+0100", " 2026-12-05T07:00:00Z"])
      expect(parseRfc3339(bad), bad).toBeNull();
  });

  it("each filter is one range of its own index: no scan of the trail, no sort, whatever the trail holds", async () => {
    const filters: AuditFilter[] = [{}, { action: "system.move" }, { action: "system." }, { target: "NETH-x" }, { target: "NETH-x/b.tar.gz" }, { target: "NETH-x", action: "backup." }, { action: "backup.prune", since: T0, until: T0 + HOUR }, { since: T0 }];
    for (const f of filters) {
      const q = auditPageQuery("org", { limit: 100, cursor: null }, f)!;
      const { results } = await env.OPERATOR_DB.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).bind(...q.binds).all<{ detail: string }>();
      const plan = results.map((r) => r.detail).join(" | ");
      expect(plan, JSON.stringify(f)).toMatch(/^SEARCH audit_events USING (COVERING )?INDEX audit_events_by_\w+ \(organization_id=\? AND /);
      expect(plan, JSON.stringify(f)).not.toMatch(/SCAN|TEMP B-TREE/);
    }
  });

  it("a page of rare events costs the same D1 rows read in a long trail as in a short one", async () => {
    const { org } = await seededTrail(600);
    const rare = [0, 1, 2].map((i) => ({ organizationId: org, actor: "tester", action: "system.move" as const, target: `NETH-rare-${i}`, outcome: "ok", clientIp: null, at: T0 - i * HOUR }));
    await recordAudit(env.OPERATOR_DB, rare);
    for (const f of [{ action: "system.move" }, { target: "NETH-rare-1" }, { since: T0 + 96 * HOUR }, { action: "system.move", until: T0 - HOUR }] as AuditFilter[]) {
      const q = auditPageQuery(org, { limit: 10, cursor: null }, f)!;
      const result = await env.OPERATOR_DB.prepare(q.sql).bind(...q.binds).all();
      // Rows read: the rows returned, plus at most the one that tells there is no next page.
      expect(result.meta.rows_read, JSON.stringify(f)).toBeLessThanOrEqual(result.results.length + 1);
    }
    // The control: a condition no index serves reads the organisation's whole trail.
    const control = await env.OPERATOR_DB.prepare("SELECT seq FROM audit_events WHERE organization_id = ? AND outcome = 'never'").bind(org).all();
    expect(control.meta.rows_read).toBeGreaterThanOrEqual(603);
  });

  it("filters the trail of all-organisation tokens (*) the same way, for all-organisation tokens only", async () => {
    const fleet = await newOperator("admin", "*");
    const name = `filtered ${crypto.randomUUID().slice(0, 8)}`;
    const created = await admin(fleet, "POST", "/tokens", { name, role: "reader", organizations: "*" });
    expect(created.status).toBe(201);
    await created.arrayBuffer();
    const { data } = await json(await admin(fleet, "GET", `/organizations/*/audit?action=token.&target=${encodeURIComponent(name)}`));
    expect(data.events).toEqual([expect.objectContaining({ action: "token.create", target: name, actor: fleet.name })]);
    const since = rfc3339(Date.now() + 3_600_000);
    const later = await json(await admin(fleet, "GET", `/organizations/*/audit?target=${encodeURIComponent(name)}&since=${since}`));
    expect(later.data.events).toEqual([]);
  });
});
