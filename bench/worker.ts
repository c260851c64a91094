// The benchmark's worker entry: the real app and ledger, with every binding call counted, plus
// baseline routes under /__bench/ that do only the minimum storage work for each endpoint.
// Only `npm run bench` serves this entry, on loopback; the deployed worker (src/index.ts) never
// contains it.

import app, { OrgLedger as AppOrgLedger } from "../src/index";
import { writeSystemRecord } from "../src/auth/credentials";
import { bytesToHex } from "../src/platform/codec";
import { newBackupId } from "../src/backups/ids";
import { backupKey, systemPrefix } from "../src/backups/keys";
import type { StoredCustomMetadata } from "../src/backups/backup-object";
import { rfc3339 } from "../src/platform/time";
import { calls, countingEnv, waited } from "./counting";
import { fleetRoute } from "./fleet-routes";
import { seedOperatorFleet, type OperatorFleet } from "./seeding";

/** The ledger as deployed, its own R2 calls (ledger rebuild, prunes) counted as `ledger.r2.*`. */
export class OrgLedger extends AppOrgLedger {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, countingEnv(env, true));
  }

  /** Seeding, for the admission-cost figure: builds the ledger, then adds `rows` committed backups in one statement. */
  async benchSeed(organizationId: string, rows: number): Promise<number> {
    await this.usageBytes(organizationId);
    if (rows > 0)
      this.ctx.storage.sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO backups (system_key, id, size, committed_at)
         SELECT printf('NETH-%05d', i / 500), printf('%08x-0000-7000-8000-000000000000.gpg', i % 500), 1000, 1 FROM n`,
        rows - 1,
      );
    return (await this.usageBytes(organizationId)) ?? -1;
  }

  /** Waits until the prunes still running after their commit's answer have finished: the upload rounds time one upload at a time. */
  async benchSettled(): Promise<void> {
    await this.recovery.afterAnswerSettled();
  }
}

const BENCH = "/__bench/";

/** The uncounted ledger of the organisation `?org=` names, with the bench's own methods. */
function benchLedger(env: Env, url: URL): { org: string; stub: DurableObjectStub<OrgLedger> } {
  const org = url.searchParams.get("org") ?? "";
  return { org, stub: env.ORG_LEDGER.get(env.ORG_LEDGER.idFromName(org)) as unknown as DurableObjectStub<OrgLedger> };
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (!url.pathname.startsWith(BENCH)) return app.fetch(request, countingEnv(env), ctx);
    return (await fleetRoute(request, env, url)) ?? benchRoute(request, env, url);
  },
} satisfies ExportedHandler<Env>;

async function benchRoute(request: Request, env: Env, url: URL): Promise<Response> {
  const route = `${request.method} ${url.pathname.slice(BENCH.length)}`;
  const key = url.searchParams.get("key") ?? "";
  const counting = countingEnv(env);
  switch (route) {
    case "GET counters":
      return Response.json(Object.fromEntries(calls));
    case "GET waited":
      return Response.json(Object.fromEntries(waited));
    case "POST counters/reset":
      calls.clear();
      waited.clear();
      return Response.json({});
    case "PUT system": {
      // Seeding, uncounted: the credential record and its legacy index entry, as the operator CLI writes them.
      await writeSystemRecord(env.SYSTEMS, key, JSON.parse(await request.text()));
      return Response.json({ key });
    }
    case "POST backups": {
      // Seeding, uncounted: `count` small committed backups of the system, as the API stores them.
      const seed = (await request.json()) as { organization_id: string; system_key: string; count: number };
      const system = { organizationId: seed.organization_id, systemKey: seed.system_key };
      for (let i = 0; i < seed.count; i++) {
        const filename = `seed-${i}.tar.gz.gpg`;
        const body = `seed ${i}`;
        const sha256 = bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body))));
        await env.BACKUPS.put(backupKey(system, newBackupId(filename)), body, {
          httpMetadata: { contentType: "application/pgp-encrypted" },
          customMetadata: { filename, sha256, uploaded_at: rfc3339(Date.now()), uploader_ip: "127.0.0.1", system_id: "bench" } satisfies StoredCustomMetadata,
        });
      }
      return Response.json({ prefix: systemPrefix(system), count: seed.count });
    }
    case "GET list": {
      // Baseline of GET /api/systems/backups: the same KV read and R2 listing with metadata, nothing else.
      const raw = await counting.SYSTEMS.get(key, { type: "text", cacheTtl: 30 });
      if (raw === null) return new Response("no such system", { status: 404 });
      const prefix = systemPrefix({ organizationId: (JSON.parse(raw) as { organization_id: string }).organization_id, systemKey: key });
      const objects: { key: string; size: number; customMetadata?: Record<string, string>; contentType?: string }[] = [];
      let cursor: string | undefined;
      do {
        const page = await counting.BACKUPS.list({ prefix, cursor, include: ["customMetadata", "httpMetadata"] });
        for (const o of page.objects) objects.push({ key: o.key, size: o.size, customMetadata: o.customMetadata, contentType: o.httpMetadata?.contentType });
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return Response.json({ objects });
    }
    case "PUT object": {
      // Baseline of an upload: the request body straight into R2 (its Content-Length gives R2 the length).
      const stored = await counting.BACKUPS.put(key, request.body);
      return Response.json({ key, size: stored?.size ?? 0 });
    }
    case "PUT buffered-object": {
      // Control for the memory figure: what holding a whole body in memory before storing it looks like.
      const bytes = await request.arrayBuffer();
      const stored = await counting.BACKUPS.put(key, bytes);
      return Response.json({ key, size: stored?.size ?? 0 });
    }
    case "GET object": {
      // Baseline of a download: the object streamed straight from R2.
      const object = await counting.BACKUPS.get(key);
      if (!object) return new Response("not found", { status: 404 });
      return new Response(object.body, { headers: { "Content-Length": String(object.size), "Content-Type": "application/octet-stream" } });
    }
    case "POST copy": {
      // The platform work of the upload's second step, alone: an R2 object streamed into another, verified.
      const source = await counting.BACKUPS.get(key);
      if (!source) return new Response("not found", { status: 404 });
      const to = url.searchParams.get("to") ?? "";
      const copied = await counting.BACKUPS.put(to, source.body, { sha256: url.searchParams.get("sha256") ?? undefined });
      return Response.json({ key: to, size: copied?.size ?? 0 });
    }
    case "POST ledger/seed": {
      // Seeding, uncounted: an organisation's ledger with `rows` committed backups.
      const { org, stub } = benchLedger(env, url);
      return Response.json({ org, usage: await stub.benchSeed(org, Number(url.searchParams.get("rows"))) });
    }
    case "POST ledger/settle": {
      // Uncounted: answers once the organisation's prunes still running after an answer are done.
      const { org, stub } = benchLedger(env, url);
      await stub.benchSettled();
      return Response.json({ org });
    }
    case "POST ledger/reserve": {
      // Admission alone: `n` reserve + release pairs in a row, as an upload makes them, timed here.
      const { org, stub } = benchLedger(env, url);
      const n = Number(url.searchParams.get("n"));
      const started = Date.now();
      for (let i = 0; i < n; i++) {
        const r = await stub.reserve({ organizationId: org, systemKey: "NETH-bench", size: 1000, quota: 2 ** 50, perMinute: 0, perHour: 0 });
        if (r.ok) await stub.release(r.token);
      }
      return Response.json({ org, n, ms: Date.now() - started });
    }
    case "POST operator-fleet":
      return seedOperatorFleet(env, (await request.json()) as OperatorFleet);
    case "GET admin-systems": {
      // Baseline of GET /api/admin/organizations/{org}/systems?limit=1000: the token's row, one
      // page of the index, one ledger call for the page's usage; nothing else.
      const org = url.searchParams.get("org") ?? "";
      const token = await counting.OPERATOR_DB.prepare("SELECT * FROM operator_tokens WHERE public_id = ?").bind(url.searchParams.get("public") ?? "").first();
      if (!token) return new Response("no such token", { status: 401 });
      const { results } = await counting.OPERATOR_DB.prepare("SELECT * FROM systems WHERE organization_id = ? AND system_key > ? ORDER BY system_key LIMIT ?")
        .bind(org, "", 1001)
        .all<{ system_key: string }>();
      const keys = results.slice(0, 1000).map((r) => r.system_key);
      const usage = await counting.ORG_LEDGER.get(counting.ORG_LEDGER.idFromName(org)).systemsUsage(org, keys);
      return Response.json({ systems: results.slice(0, 1000).map((r) => ({ ...r, ...usage.systems[r.system_key] })) });
    }
    case "DELETE object":
      await env.BACKUPS.delete(key);
      return Response.json({ key });
    default:
      return new Response("unknown bench route", { status: 404 });
  }
}
