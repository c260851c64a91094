// The index's self-healing sweep: one page of the SYSTEMS KV listing per run (hourly cron),
// compared with the index rows of the same key range. Rows that differ from their record are
// rewritten, missing ones added, and rows whose record is gone removed. A full pass over
// 100,000 systems takes 100 runs; a change made through the worker is in the index at once.

import { recordProblems, type SystemRecord } from "../auth/secret";
import { TIMINGS } from "../config";
import { UnavailableError } from "../errors";
import { withDeadline } from "../platform/deadline";
import { d1 } from "./d1";
import { indexMatches, readIndexRange, removeSystemStatement, upsertSystemStatement } from "./system-index";

const PAGE = 1000;
/** Keys per KV bulk read (the platform's maximum). */
const BULK = 100;

/** Sweeps one page; returns what it changed and whether a full pass just ended. */
export async function sweepIndexPage(kv: KVNamespace, db: D1Database): Promise<{ upserted: number; removed: number; passEnded: boolean }> {
  const state = await d1("sweep state", () => db.prepare("SELECT cursor, after FROM index_sweep WHERE id = 1").first<{ cursor: string | null; after: string }>());
  const page = await kvCall(() => kv.list({ limit: PAGE, cursor: state?.cursor ?? undefined }));
  const keys = page.keys.map((k) => k.name);
  const records = new Map<string, SystemRecord>();
  for (let i = 0; i < keys.length; i += BULK) {
    const values = await kvCall(() => kv.get(keys.slice(i, i + BULK), "text"));
    for (const [key, raw] of values) {
      const record = parse(raw);
      if (record) records.set(key, record);
    }
  }
  const after = state?.after ?? "";
  const upTo = page.list_complete ? null : keys[keys.length - 1];
  const indexed = new Map((await readIndexRange(db, after, upTo)).map((r) => [r.system_key, r]));
  const statements: D1PreparedStatement[] = [];
  for (const [key, record] of records) if (!indexMatches(indexed.get(key) ?? null, record)) statements.push(upsertSystemStatement(db, key, record));
  let removed = 0;
  for (const key of indexed.keys()) if (!records.has(key)) (statements.push(removeSystemStatement(db, key)), removed++);
  const next = page.list_complete ? { cursor: null, after: "" } : { cursor: page.cursor, after: upTo };
  statements.push(
    db.prepare("INSERT INTO index_sweep (id, cursor, after) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET cursor = excluded.cursor, after = excluded.after").bind(next.cursor, next.after),
  );
  await d1("sweep write", () => db.batch(statements));
  return { upserted: statements.length - 1 - removed, removed, passEnded: page.list_complete };
}

function parse(raw: string | null): SystemRecord | null {
  if (raw === null) return null;
  try {
    const record: unknown = JSON.parse(raw);
    // A purged system's record stays in KV as a tombstone; the index holds only systems that exist.
    return recordProblems(record).length === 0 && !(record as SystemRecord).purged_at ? (record as SystemRecord) : null;
  } catch {
    return null;
  }
}

async function kvCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await withDeadline("KV sweep", TIMINGS.kvDeadlineMs, call);
  } catch (err) {
    throw new UnavailableError("credential storage unavailable", err);
  }
}
