// GET /api/admin/metrics: OpenMetrics text that a Prometheus text parser reads and that keeps the
// OpenMetrics rules checked strictly here; per-system series only on request; the token's scope;
// its storage calls counted.

import { env } from "cloudflare:workers";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { hourlyMaintenance } from "../../src/operator/maintenance";
import { FaultInjector } from "./fault-bindings";
import { client, NO_RATE_LIMITS } from "./helpers";
import { admin, newFleetOrg, newOperator } from "./operator-helpers";

/** The OpenMetrics rules this exposition must keep (openmetrics.io, "Text format"), checked line by line. */
function checkOpenMetrics(text: string): void {
  expect(text.endsWith("# EOF\n")).toBe(true);
  const lines = text.slice(0, -1).split("\n");
  expect(lines.pop()).toBe("# EOF");
  const families = new Map<string, string>();
  let current: { name: string; type: string } | null = null;
  const name = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  const labels = `\\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*")*)?\\}`;
  const sample = new RegExp(`^(${name})(${labels})? (-?[0-9]+(?:\\.[0-9]+)?(?:e[+-]?[0-9]+)?|NaN|[+-]Inf)$`);
  for (const line of lines) {
    expect(line, "no blank line").not.toBe("");
    const type = /^# TYPE (\S+) (gauge|counter)$/.exec(line);
    if (type) {
      expect(families.has(type[1]!), `family ${type[1]} declared once`).toBe(false);
      families.set(type[1]!, type[2]!);
      current = { name: type[1]!, type: type[2]! };
      continue;
    }
    if (line.startsWith("# HELP ")) {
      expect(current && line.startsWith(`# HELP ${current.name} `), line).toBe(true);
      continue;
    }
    const match = sample.exec(line);
    expect(match, `a valid sample line: ${line}`).not.toBeNull();
    expect(current, "samples follow their TYPE").not.toBeNull();
    expect(match![1]).toBe(current!.type === "counter" ? `${current!.name}_total` : current!.name);
  }
}

type Family = { name: string; type: string; metrics: { value: string; labels?: Record<string, string> }[] };
const valueOf = (families: Family[], family: string, labels: Record<string, string>) =>
  families.find((f) => f.name === family)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value;

describe("metrics", () => {
  it("are OpenMetrics text for the organisations in scope, parsed by a Prometheus parser, at a stated cost", async () => {
    const own = await newFleetOrg();
    const foreign = await newFleetOrg();
    const stored = await client(own.system, NO_RATE_LIMITS).upload(`another backup ${crypto.randomUUID()}`);
    expect(stored.status).toBe(201);
    await stored.body?.cancel();
    const refused = await client(own.system, { ...NO_RATE_LIMITS, BACKUP_MAX_UPLOAD_SIZE: "3" }).upload("too large");
    expect(refused.status).toBe(413);
    await refused.body?.cancel();
    await hourlyMaintenance(env);
    const reader = await newOperator("reader", [own.org]);
    const injector = new FaultInjector();
    const response = await admin(reader, "GET", "/metrics", undefined, injector.operatorOverrides());
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8");
    const text = await response.text();
    checkOpenMetrics(text);
    expect(text).not.toContain(foreign.org);
    expect(text).not.toContain("vault_system_last");
    const families = parsePrometheusTextFormat(text) as Family[];
    const org = { organization: own.org };
    expect(valueOf(families, "vault_systems", { ...org, health: "ok" })).toBe("1");
    expect(valueOf(families, "vault_systems", { ...org, health: "stale" })).toBe("0");
    expect(valueOf(families, "vault_backups", org)).toBe("2");
    expect(Number(valueOf(families, "vault_stored_bytes", org))).toBeGreaterThan(0);
    expect(valueOf(families, "vault_quota_bytes", org)).toBe(String(100 * 1024 ** 3));
    expect(valueOf(families, "vault_recoverable_bytes", org)).toBe("0");
    expect(valueOf(families, "vault_uploads_total", { ...org, result: "size" })).toBe("1");
    expect(Number(valueOf(families, "vault_uploads_total", { ...org, result: "stored" }))).toBeGreaterThanOrEqual(1);
    // Two D1 queries beside the token's lookup, and one ledger call per organisation.
    expect(injector.callsTo("OPERATOR_DB", "all")).toHaveLength(2);
    expect(injector.callsTo("ORG_LEDGER", "systemsUsage")).toHaveLength(1);

    const detailed = await admin(reader, "GET", "/metrics?detail=systems");
    const detailText = await detailed.text();
    checkOpenMetrics(detailText);
    const detail = parsePrometheusTextFormat(detailText) as Family[];
    const lastBackup = Number(valueOf(detail, "vault_system_last_backup_timestamp_seconds", { ...org, system_key: own.system.key }));
    expect(Math.abs(lastBackup - Date.now() / 1000)).toBeLessThan(600);
    expect(valueOf(detail, "vault_system_last_seen_timestamp_seconds", { ...org, system_key: own.system.key })).toBeDefined();

    for (const [query, status] of [[`?organization=${foreign.org}`, 404], ["?detail=all", 400], ["?organization=..%2Fx", 400]] as const) {
      const refusedQuery = await admin(reader, "GET", `/metrics${query}`);
      expect(refusedQuery.status, query).toBe(status);
      await refusedQuery.body?.cancel();
    }
    const everyone = await newOperator("reader", "*");
    const narrowed = await (await admin(everyone, "GET", `/metrics?organization=${foreign.org}`)).text();
    checkOpenMetrics(narrowed);
    expect(narrowed).toContain(foreign.org);
    expect(narrowed).not.toContain(own.org);
  });
});
