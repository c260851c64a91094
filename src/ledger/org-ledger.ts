// One Durable Object per organisation: the strongly consistent ledger behind the quota, the
// upload rate windows and retention. Its SQLite tables mirror the organisation's committed
// backups (system, id, size); R2 stays the source of truth and the ledger rebuilds itself from
// an R2 listing of the organisation's prefix whenever its storage is new or lost.

import { DurableObject } from "cloudflare:workers";
import { isBackupId } from "../backups/ids";
import { backupKey, organizationPrefix } from "../backups/keys";
import { selectVictims, type RetentionPolicy } from "../backups/retention";
import { deleteObjects, listObjectSizes } from "../backups/store";
import { TIMINGS } from "../config";
import { recordAuditQuietly } from "../operator/audit";
import { log } from "../platform/log";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export interface ReserveRequest {
  organizationId: string;
  systemKey: string;
  size: number;
  /** 0 disables each of these. */
  quota: number;
  perMinute: number;
  perHour: number;
}

/** The system's newest backup (by id, as listings order them), with its digest. */
export interface NewestBackup {
  id: string;
  size: number;
  sha256: string;
}

export type ReserveResult =
  | { ok: true; token: string; newest: NewestBackup | null }
  | { ok: false; reason: "rate"; retryAfterSeconds: number }
  | { ok: false; reason: "quota" };

/** Committed backups of one system, with its newest backup's id (null when none). */
export interface SystemUsage {
  backups: number;
  bytes: number;
  newest: string | null;
}

/** An organisation's committed backups and bytes, in total and per system. */
export interface OrganizationUsage {
  backups: number;
  bytes: number;
  systems: Record<string, SystemUsage>;
}

export interface CommitRequest {
  organizationId: string;
  token: string;
  systemKey: string;
  id: string;
  size: number;
  sha256: string;
  policy: RetentionPolicy;
}

/** A commit either recorded the backup (and pruned), or found its bytes already the system's newest backup. */
export type CommitResult = { stored: true; pruned: string[] } | { stored: false; newest: string };

/** An upload whose bytes turned out to be backup `id`'s, the newest at reservation, to settle without storing it. */
export interface RepeatRequest {
  organizationId: string;
  systemKey: string;
  token: string;
  id: string;
}

export class OrgLedger extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS backups (
        system_key TEXT NOT NULL, id TEXT NOT NULL, size INTEGER NOT NULL,
        doomed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (system_key, id));
      CREATE TABLE IF NOT EXISTS reservations (
        token TEXT PRIMARY KEY, system_key TEXT NOT NULL, size INTEGER NOT NULL, expires_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS uploads (system_key TEXT NOT NULL, at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS uploads_by_system ON uploads (system_key, at);
    `);
    // Columns added after the first deployment (ledgers created before have the tables without them).
    this.addColumnIfMissing("backups", "sha256", "TEXT");
  }

  /**
   * Admits an upload: checks the system's rate windows and the organisation's quota against
   * committed bytes plus reservations in flight, then reserves the declared size.
   */
  async reserve(req: ReserveRequest): Promise<ReserveResult> {
    await this.ensureBuilt(req.organizationId);
    const now = Date.now();
    this.sql.exec("DELETE FROM reservations WHERE expires_at <= ?", now);
    this.sql.exec("DELETE FROM uploads WHERE at <= ?", now - HOUR);
    const retryAfter = this.rateRetryAfter(req, now);
    if (retryAfter > 0) return { ok: false, reason: "rate", retryAfterSeconds: retryAfter };
    if (req.quota > 0 && this.usage() + req.size > req.quota) return { ok: false, reason: "quota" };
    const token = crypto.randomUUID();
    this.sql.exec("INSERT INTO reservations VALUES (?, ?, ?, ?)", token, req.systemKey, req.size, now + TIMINGS.reservationTtlMs);
    this.sql.exec("INSERT INTO uploads VALUES (?, ?)", req.systemKey, now);
    return { ok: true, token, newest: this.newest(req.systemKey) };
  }

  /**
   * Settles an upload whose bytes are backup `id`'s (same SHA-256 and size): if that backup still
   * is the system's newest, drops the reservation and returns true; else false (store the upload).
   */
  async settleRepeat(req: RepeatRequest): Promise<boolean> {
    await this.ensureBuilt(req.organizationId);
    if (this.newest(req.systemKey)?.id !== req.id) return false;
    this.sql.exec("DELETE FROM reservations WHERE token = ?", req.token);
    return true;
  }

  /** Drops a reservation whose upload failed, so its bytes stop counting at once. */
  async release(token: string): Promise<void> {
    this.sql.exec("DELETE FROM reservations WHERE token = ?", token);
  }

  /**
   * Records a stored backup in place of its reservation, chooses the system's victims under the
   * retention policy in the same synchronous step (so concurrent commits never pick the same
   * victim), deletes them from R2 and returns their ids. A backup whose bytes are already the
   * system's newest (a concurrent identical upload committed first) is not recorded: the caller
   * takes its object back and answers with the newest.
   */
  async commit(req: CommitRequest): Promise<CommitResult> {
    await this.ensureBuilt(req.organizationId);
    this.sql.exec("DELETE FROM reservations WHERE token = ?", req.token);
    const recorded = this.sql.exec("SELECT 1 FROM backups WHERE system_key = ? AND id = ?", req.systemKey, req.id).toArray().length > 0;
    const repeated = recorded ? null : this.repeatedNewest(req.systemKey, req.size, req.sha256);
    if (repeated !== null) return { stored: false, newest: repeated };
    this.sql.exec("INSERT OR REPLACE INTO backups (system_key, id, size, sha256, doomed) VALUES (?, ?, ?, ?, 0)", req.systemKey, req.id, req.size, req.sha256);
    const live = this.sql
      .exec<{ id: string; size: number }>("SELECT id, size FROM backups WHERE system_key = ? AND doomed = 0", req.systemKey)
      .toArray();
    const victims = selectVictims(live, req.policy, Date.now());
    for (const id of victims) this.sql.exec("UPDATE backups SET doomed = 1 WHERE system_key = ? AND id = ?", req.systemKey, id);
    if (victims.length > 0) await this.deleteDoomed(req.organizationId, req.systemKey, victims);
    return { stored: true, pruned: victims };
  }

  /** Forgets a backup the system deleted: its bytes stop counting at once. */
  async forget(organizationId: string, systemKey: string, id: string): Promise<void> {
    await this.ensureBuilt(organizationId);
    this.sql.exec("DELETE FROM backups WHERE system_key = ? AND id = ?", systemKey, id);
  }

  /** Bytes counted against the quota: committed backups (pruned ones until R2 confirms) plus live reservations. */
  async usageBytes(organizationId: string): Promise<number> {
    await this.ensureBuilt(organizationId);
    this.sql.exec("DELETE FROM reservations WHERE expires_at <= ?", Date.now());
    return this.usage();
  }

  /**
   * Committed backups and bytes of the organisation, and per system (all of them, or the keys
   * given) with the id of its newest backup: what the operator listings show, in one call.
   */
  async systemsUsage(organizationId: string, systemKeys: string[] | null): Promise<OrganizationUsage> {
    await this.ensureBuilt(organizationId);
    const rows = this.sql
      .exec<{ system_key: string; backups: number; bytes: number; newest: string | null }>("SELECT system_key, COUNT(*) AS backups, SUM(size) AS bytes, MAX(id) AS newest FROM backups GROUP BY system_key")
      .toArray();
    const wanted = systemKeys ? new Set(systemKeys) : null;
    const usage: OrganizationUsage = { backups: 0, bytes: 0, systems: {} };
    for (const { system_key, ...row } of rows) {
      usage.backups += row.backups;
      usage.bytes += row.bytes;
      if (!wanted || wanted.has(system_key)) usage.systems[system_key] = row;
    }
    return usage;
  }

  /** The rows of one system (a move copies them to the new organisation's ledger). */
  async systemBackups(organizationId: string, systemKey: string): Promise<{ id: string; size: number }[]> {
    await this.ensureBuilt(organizationId);
    return this.sql.exec<{ id: string; size: number }>("SELECT id, size FROM backups WHERE system_key = ? ORDER BY id", systemKey).toArray();
  }

  /** Records backups that arrived by a move (idempotent). */
  async adoptBackups(organizationId: string, systemKey: string, backups: { id: string; size: number }[]): Promise<void> {
    await this.ensureBuilt(organizationId);
    for (const b of backups) this.sql.exec("INSERT OR REPLACE INTO backups (system_key, id, size, doomed) VALUES (?, ?, ?, 0)", systemKey, b.id, b.size);
  }

  /** Forgets every backup of a system (purged, or moved away); its bytes stop counting at once. */
  async forgetSystem(organizationId: string, systemKey: string): Promise<void> {
    await this.ensureBuilt(organizationId);
    this.sql.exec("DELETE FROM backups WHERE system_key = ?", systemKey);
  }

  /** Retries prunes whose R2 delete failed earlier, and reconciles with R2 once a day. */
  override async alarm(): Promise<void> {
    const organizationId = this.meta("organization_id");
    if (!organizationId) return;
    const doomed = this.sql.exec<{ system_key: string; id: string }>("SELECT system_key, id FROM backups WHERE doomed = 1").toArray();
    const bySystem = Map.groupBy(doomed, (row) => row.system_key);
    for (const [systemKey, rows] of bySystem) await this.deleteDoomed(organizationId, systemKey, rows.map((r) => r.id));
    if (Date.now() - Number(this.meta("reconciled_at") ?? 0) >= TIMINGS.reconcileEveryMs) await this.reconcile(organizationId);
    await this.scheduleAlarm();
  }

  /**
   * Makes the rows equal to what R2 holds under the organisation's prefix: drops rows whose
   * object is gone (a delete whose ledger update was lost), adds objects the ledger never
   * recorded (a rollback that failed), corrects sizes. Other ledger calls wait meanwhile, so no
   * commit can fall between the listing and the comparison. Returns what it changed.
   */
  async reconcile(organizationId: string): Promise<{ dropped: number; added: number }> {
    await this.ensureBuilt(organizationId);
    let changes = { dropped: 0, added: 0 };
    await this.ctx.blockConcurrencyWhile(async () => {
      const inR2 = await this.listBackups(organizationId);
      const rows = this.sql.exec<{ system_key: string; id: string; size: number }>("SELECT system_key, id, size FROM backups").toArray();
      const known = new Set(rows.map((r) => `${r.system_key}/${r.id}`));
      for (const row of rows) {
        if (inR2.has(`${row.system_key}/${row.id}`)) continue;
        this.sql.exec("DELETE FROM backups WHERE system_key = ? AND id = ?", row.system_key, row.id);
        changes.dropped++;
      }
      for (const [path, { systemKey, id, size, sha256 }] of inR2) {
        if (!known.has(path)) changes.added++;
        this.sql.exec(
          "INSERT INTO backups (system_key, id, size, sha256) VALUES (?, ?, ?, ?) ON CONFLICT (system_key, id) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256",
          systemKey,
          id,
          size,
          sha256,
        );
      }
      this.setMeta("reconciled_at", String(Date.now()));
    });
    if (changes.dropped + changes.added > 0) {
      log.warn("ledger reconciled with R2", { organizationId, ...changes });
    }
    return changes;
  }

  private async deleteDoomed(organizationId: string, systemKey: string, ids: string[]): Promise<void> {
    try {
      await deleteObjects(this.env.BACKUPS, ids.map((id) => backupKey({ organizationId, systemKey }, id)));
    } catch (err) {
      log.error("prune failed, will retry", { organizationId, systemKey, ids, error: err });
      await this.scheduleAlarm();
      return;
    }
    for (const id of ids) this.sql.exec("DELETE FROM backups WHERE system_key = ? AND id = ?", systemKey, id);
    const at = Date.now();
    const events = ids.map((id) => ({ organizationId, actor: "retention", action: "backup.prune" as const, target: `${systemKey}/${id}`, outcome: "ok", clientIp: null, at }));
    this.ctx.waitUntil(recordAuditQuietly(this.env.OPERATOR_DB, events));
  }

  /** The system's newest backup (by id: UUIDv7, so creation order, as listings sort); null when none or its digest is unknown. */
  private newest(systemKey: string): NewestBackup | null {
    const newestFirst = "SELECT id, size, sha256 FROM backups WHERE system_key = ? AND doomed = 0 ORDER BY id DESC LIMIT 1";
    const row = this.sql.exec<{ id: string; size: number; sha256: string | null }>(newestFirst, systemKey).toArray()[0];
    return row?.sha256 ? { id: row.id, size: row.size, sha256: row.sha256 } : null;
  }

  /** The id of the system's newest backup when it has this size and digest, else null. */
  private repeatedNewest(systemKey: string, size: number, sha256: string): string | null {
    const newest = this.newest(systemKey);
    return newest !== null && newest.size === size && newest.sha256 === sha256 ? newest.id : null;
  }

  private usage(): number {
    const committed = this.sql.exec<{ total: number }>("SELECT COALESCE(SUM(size), 0) AS total FROM backups").one().total;
    const reserved = this.sql.exec<{ total: number }>("SELECT COALESCE(SUM(size), 0) AS total FROM reservations").one().total;
    return committed + reserved;
  }

  /** Seconds until the system may upload again, or 0 when both windows have room. */
  private rateRetryAfter(req: ReserveRequest, now: number): number {
    let waitMs = 0;
    for (const [limit, window] of [
      [req.perMinute, MINUTE],
      [req.perHour, HOUR],
    ] as const) {
      if (limit <= 0) continue;
      const recent = this.sql
        .exec<{ at: number }>("SELECT at FROM uploads WHERE system_key = ? AND at > ? ORDER BY at DESC LIMIT ?", req.systemKey, now - window, limit)
        .toArray();
      // Full window: the slot frees when the limit-th most recent upload leaves it.
      if (recent.length >= limit) waitMs = Math.max(waitMs, recent[limit - 1].at + window - now);
    }
    return waitMs > 0 ? Math.max(1, Math.ceil(waitMs / 1000)) : 0;
  }

  /** The next alarm: a minute away while prunes wait for a retry, else the next reconciliation. */
  private async scheduleAlarm(): Promise<void> {
    const doomed = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM backups WHERE doomed = 1").one().n;
    const reconcileAt = Number(this.meta("reconciled_at") ?? Date.now()) + TIMINGS.reconcileEveryMs;
    await this.ctx.storage.setAlarm(doomed > 0 ? Math.min(reconcileAt, Date.now() + TIMINGS.pruneRetryMs) : reconcileAt);
  }

  /** Every backup object under the organisation's prefix, keyed `system/id`. */
  private async listBackups(organizationId: string) {
    const prefix = organizationPrefix(organizationId);
    const backups = new Map<string, { systemKey: string; id: string; size: number; sha256: string | null }>();
    for (const { key, size, sha256 } of await listObjectSizes(this.env.BACKUPS, prefix)) {
      const [systemKey, id, ...rest] = key.slice(prefix.length).split("/");
      if (rest.length === 0 && systemKey && isBackupId(id)) backups.set(`${systemKey}/${id}`, { systemKey, id, size, sha256 });
    }
    return backups;
  }

  /** On first use (or after storage loss) rebuilds the backup table from an R2 listing. */
  private async ensureBuilt(organizationId: string): Promise<void> {
    if (this.meta("built_at")) return;
    await this.ctx.blockConcurrencyWhile(async () => {
      if (this.meta("built_at")) return;
      for (const { systemKey, id, size, sha256 } of (await this.listBackups(organizationId)).values()) {
        this.sql.exec("INSERT OR IGNORE INTO backups (system_key, id, size, sha256) VALUES (?, ?, ?, ?)", systemKey, id, size, sha256);
      }
      const now = String(Date.now());
      this.setMeta("organization_id", organizationId);
      this.setMeta("reconciled_at", now);
      this.setMeta("built_at", now);
      await this.scheduleAlarm();
    });
  }

  /** Adds a column to a table that predates it (idempotent: a no-op once the column exists). */
  private addColumnIfMissing(table: string, column: string, type: string): void {
    const columns = this.sql.exec<{ name: string }>(`PRAGMA table_info(${table})`).toArray();
    if (!columns.some((c) => c.name === column)) this.sql.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  }

  private setMeta(name: string, value: string): void {
    this.sql.exec("INSERT OR REPLACE INTO meta VALUES (?, ?)", name, value);
  }

  private meta(name: string): string | undefined {
    return this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE name = ?", name).toArray()[0]?.value;
  }
}
