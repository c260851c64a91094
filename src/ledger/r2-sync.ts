// Rebuilding and reconciling the ledger's rows with R2, one listing page per step. R2 is the
// source of truth; an organisation may hold hundreds of thousands of objects, so a pass never
// lists them all at once: each step lists one page after the saved cursor (other ledger calls
// run meanwhile) and then applies it in one short synchronous step. The pass's state is saved
// after every step, so an evicted or restarted ledger resumes where it stopped.

import { backupIdTime, isBackupId } from "../backups/ids";
import { BLOB_PREFIX, organizationPrefix } from "../backups/keys";
import { deleteObjects, listObjectPage, type ListedObject } from "../backups/store";
import { TIMINGS } from "../config";
import { hasRow } from "./backup-rows";

/** A pass in progress: `rebuild` fills a new ledger (quota unknown until done); `reconcile` corrects a built one. */
export interface SyncPass {
  kind: "rebuild" | "reconcile";
  /** R2's cursor for the next page; null before the first. */
  cursor: string | null;
  /** The last object key (`system/id`) the pass has covered; "" before the first page. */
  after: string;
  startedAt: number;
  dropped: number;
  added: number;
  resized: number;
  /** A reconciliation's second part: the organisation's blobs, after its backups (the cursor is then the blobs'). */
  blobs?: boolean;
  /** Blobs removed because no backup records them (a failed upload's bytes). */
  cleared?: number;
}

/** A new pass of the given kind. */
export function newPass(kind: SyncPass["kind"], now: number): SyncPass {
  return { kind, cursor: null, after: "", startedAt: now, dropped: 0, added: 0, resized: 0 };
}

// A row committed this shortly before a page was listed may not be in that page yet: never
// dropped as a ghost by it (the next day's pass will see it, if it really is one).
const GHOST_MARGIN_MS = 60_000;

// A blob is written minutes before its entry, within one upload: one that no backup records a
// day after its upload began (the time in its id) is a failed upload's (the worker died between
// the two writes, or the blob's removal failed), and goes.
const ORPHAN_BLOB_AGE_MS = 86_400_000;

type Row = {
  system_key: string;
  id: string;
  size: number;
  committed_at: number | null;
  sha256: string | null;
};

/**
 * Runs one step of a pass: lists the page after its cursor, then applies it to the rows in one
 * synchronous step (at most `TIMINGS.syncPageSize` objects). Returns the pass with its cursor
 * and counts moved on, and whether this was its last page.
 */
export async function syncStep(sql: SqlStorage, bucket: R2Bucket, organizationId: string, pass: SyncPass): Promise<{ pass: SyncPass; done: boolean }> {
  if (pass.blobs) return blobStep(sql, bucket, organizationId, pass);
  const listedAt = Date.now();
  const prefix = organizationPrefix(organizationId);
  const page = await listObjectPage(bucket, prefix, pass.cursor ?? undefined, TIMINGS.syncPageSize);
  // From here on, synchronous: no other ledger call can fall between reading and writing the rows.
  const objects = page.objects.map((o) => ({ ...o, key: o.key.slice(prefix.length) }));
  const upper = page.cursor === null ? null : (objects.at(-1)?.key ?? pass.after);
  const next = { ...pass, cursor: page.cursor, after: upper ?? pass.after };
  if (pass.kind === "rebuild") {
    for (const object of objects) if (addRow(sql, object)) next.added++;
  } else {
    reconcileRange(sql, objects, pass.after, upper, listedAt - GHOST_MARGIN_MS, next);
    // The backups done, a reconciliation goes on to the blobs (a rebuild leaves them to the next one).
    if (page.cursor === null) return { pass: { ...next, blobs: true, cursor: null, cleared: 0 }, done: false };
  }
  return { pass: next, done: page.cursor === null };
}

/**
 * One page of the organisation's blobs: removes those older than a day that no backup records,
 * neither a row nor a removal still copying it into the recovery window (`moving`).
 */
async function blobStep(sql: SqlStorage, bucket: R2Bucket, organizationId: string, pass: SyncPass): Promise<{ pass: SyncPass; done: boolean }> {
  const prefix = BLOB_PREFIX + organizationPrefix(organizationId);
  const page = await listObjectPage(bucket, prefix, pass.cursor ?? undefined, TIMINGS.syncPageSize);
  const oldEnough = Date.now() - ORPHAN_BLOB_AGE_MS;
  const recorded = "SELECT 1 FROM backups WHERE system_key = ? AND id = ? UNION ALL SELECT 1 FROM recoverable WHERE system_key = ? AND id = ? AND state = 'moving'";
  const orphans = page.objects
    .filter((o) => {
      const [systemKey, id] = o.key.slice(prefix.length).split("/");
      const began = isBackupId(id) ? backupIdTime(id) : o.committedAt;
      return began < oldEnough && sql.exec(recorded, systemKey, id, systemKey, id).toArray().length === 0;
    })
    .map((o) => o.key);
  if (orphans.length > 0) await deleteObjects(bucket, orphans);
  return { pass: { ...pass, cursor: page.cursor, cleared: (pass.cleared ?? 0) + orphans.length }, done: page.cursor === null };
}

/**
 * Makes the rows with keys in (after, upper] equal to the listed objects: drops rows whose object
 * is gone (unless committed after `oldEnough`), adds objects never recorded, corrects sizes and
 * digests, fills commit times the rows lack.
 */
function reconcileRange(sql: SqlStorage, objects: (ListedObject & { key: string })[], after: string, upper: string | null, oldEnough: number, counts: SyncPass): void {
  const rows = (
    upper === null
      ? sql.exec<Row>("SELECT system_key, id, size, committed_at, sha256 FROM backups WHERE system_key || '/' || id > ?", after)
      : sql.exec<Row>("SELECT system_key, id, size, committed_at, sha256 FROM backups WHERE system_key || '/' || id > ? AND system_key || '/' || id <= ?", after, upper)
  ).toArray();
  const listed = new Map(objects.map((o) => [o.key, o]));
  for (const row of rows) {
    const object = listed.get(`${row.system_key}/${row.id}`);
    if (!object) {
      if ((row.committed_at ?? 0) >= oldEnough) continue;
      sql.exec("DELETE FROM backups WHERE system_key = ? AND id = ?", row.system_key, row.id);
      counts.dropped++;
      continue;
    }
    listed.delete(`${row.system_key}/${row.id}`);
    if (row.size !== object.size) {
      sql.exec("UPDATE backups SET size = ? WHERE system_key = ? AND id = ?", object.size, row.system_key, row.id);
      counts.resized++;
    }
    // Rows from before these columns learn them from R2.
    if (row.committed_at === null) sql.exec("UPDATE backups SET committed_at = ? WHERE system_key = ? AND id = ?", object.committedAt, row.system_key, row.id);
    if (row.sha256 !== object.sha256) sql.exec("UPDATE backups SET sha256 = ? WHERE system_key = ? AND id = ?", object.sha256, row.system_key, row.id);
  }
  for (const object of listed.values()) if (addRow(sql, object)) counts.added++;
}

/** Records a listed backup object the ledger does not know, unless it was deleted meanwhile; true when added. */
function addRow(sql: SqlStorage, object: ListedObject & { key: string }): boolean {
  const [systemKey, id, ...rest] = object.key.split("/");
  if (rest.length > 0 || !systemKey || !isBackupId(id)) return false; // not a backup (nothing else lives there)
  if (hasRow(sql, "tombstones", systemKey, id)) return false;
  const inserted = sql.exec(
    "INSERT INTO backups (system_key, id, size, committed_at, sha256) VALUES (?, ?, ?, ?, ?) ON CONFLICT (system_key, id) DO NOTHING",
    systemKey,
    id,
    object.size,
    object.committedAt,
    object.sha256,
  );
  return inserted.rowsWritten > 0;
}

/** A stable minute of the day for an organisation's reconciliation, inside the allowed UTC hours (spreads the fleet). */
function reconcileMinuteOfDay(organizationId: string): number {
  const [from, to] = TIMINGS.reconcileHoursUtc;
  let hash = 2166136261;
  for (let i = 0; i < organizationId.length; i++) hash = Math.imul(hash ^ organizationId.charCodeAt(i), 16777619) >>> 0;
  return from * 60 + (hash % ((to - from) * 60 - 60)); // and an hour left before the window closes
}

/** When an organisation's next daily reconciliation starts: its own minute of the day, at least an hour from `now`. */
export function nextReconcileAt(organizationId: string, now: number): number {
  const day = Math.floor(now / 86_400_000) * 86_400_000;
  let at = day + reconcileMinuteOfDay(organizationId) * 60_000;
  while (at < now + 3_600_000) at += 86_400_000;
  return at;
}

/** `now`, or the end of the fleet's backup hours (06:00 UTC) when `now` falls inside them. */
export function outsideBackupHours(now: number): number {
  const day = Math.floor(now / 86_400_000) * 86_400_000;
  const opens = day + TIMINGS.reconcileHoursUtc[0] * 3_600_000;
  return now < opens ? opens : now;
}
