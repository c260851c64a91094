// One Durable Object per organisation: the strongly consistent ledger behind the quota, rate windows and retention.
// Its SQLite tables (schema.ts) mirror the committed backups; R2 stays the truth, rebuilt from page by page (r2-sync.ts).

import { DurableObject } from "cloudflare:workers";
import { backupKey } from "../backups/keys";
import { selectVictims, type RetentionPolicy } from "../backups/retention";
import { deleteObjects } from "../backups/store";
import { TIMINGS, uploadLifetimeMs } from "../config";
import { recordAuditQuietly } from "../operator/audit";
import type { RetentionOverrides } from "../operator/org-settings";
import { log } from "../platform/log";
import { hasRow, liveBackups, newestBackup, tombstone } from "./backup-rows";
import { LedgerMeta } from "./meta";
import { newPass, nextReconcileAt, outsideBackupHours, syncStep, type SyncPass } from "./r2-sync";
import { rateRetryAfter, recordUpload } from "./rate-windows";
import type { CommitRequest, CommitResult, RepeatRequest, ReserveRequest, ReserveResult } from "./protocol";
import { migrateLedger } from "./schema";
import { reserveMove, sealOf, sealSystem, settleMoveIn, type SealReason } from "./seals";
import { adoptRows, forgetSystemRows, systemRows, systemsUsage, type MovedBackup, type OrganizationUsage } from "./system-rows";
import { usageTotal } from "./totals";
import { RETENTION_META, tightenPolicy } from "./retention-overrides";
const TOMBSTONE_LIFETIME_MS = 2 * 86_400_000;
const PRUNE_BATCH = 1000;

export type * from "./protocol";

export class OrgLedger extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly meta: LedgerMeta;
  /** The sync step running now, if any: steps never overlap. */
  private stepping: Promise<void> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.meta = new LedgerMeta(this.sql);
    migrateLedger(ctx.storage);
  }

  /**
   * Admits an upload: checks the system's rate windows and the organisation's quota against
   * committed bytes plus reservations in flight (two running totals: constant time), then
   * reserves the declared size for as long as such an upload may take.
   */
  async reserve(req: ReserveRequest): Promise<ReserveResult> {
    const built = await this.ensureBuilt(req.organizationId);
    const now = Date.now();
    if (sealOf(this.sql, req.systemKey)) return { ok: false, reason: "sealed" }; // purged, or being purged or moved
    this.sql.exec("DELETE FROM reservations WHERE expires_at <= ?", now);
    const retryAfter = rateRetryAfter(this.sql, req.systemKey, req.perMinute, req.perHour, now);
    if (retryAfter > 0) return { ok: false, reason: "rate", retryAfterSeconds: retryAfter };
    if (req.quota > 0 && !built) return { ok: false, reason: "unknown" }; // fail closed while the rebuild runs
    if (req.quota > 0 && usageTotal(this.sql) + req.size > req.quota) return { ok: false, reason: "quota" };
    const token = crypto.randomUUID();
    this.sql.exec("INSERT INTO reservations VALUES (?, ?, ?, ?)", token, req.systemKey, req.size, now + uploadLifetimeMs(req.size));
    recordUpload(this.sql, req.systemKey, now);
    return { ok: true, token, newest: newestBackup(this.sql, req.systemKey) };
  }

  /**
   * Settles an upload whose bytes are backup `id`'s (same SHA-256 and size): if that backup still
   * is the system's newest, drops the reservation and returns true; else false (store the upload).
   */
  async settleRepeat(req: RepeatRequest): Promise<boolean> {
    await this.ensureBuilt(req.organizationId);
    if (newestBackup(this.sql, req.systemKey)?.id !== req.id) return false;
    this.sql.exec("DELETE FROM reservations WHERE token = ?", req.token);
    return true;
  }

  /** Drops a reservation whose upload failed, so its bytes stop counting at once. */
  async release(token: string): Promise<void> {
    this.sql.exec("DELETE FROM reservations WHERE token = ?", token);
  }

  /**
   * Records a stored backup in place of its reservation (commit time: the ledger's clock, so it is never its own
   * victim), then picks and deletes the system's retention victims in the same synchronous step. Idempotent; an
   * expired reservation is re-checked against the quota; bytes already the system's newest are not recorded.
   */
  async commit(req: CommitRequest): Promise<CommitResult> {
    const built = await this.ensureBuilt(req.organizationId);
    const now = Date.now();
    if (sealOf(this.sql, req.systemKey)) return { refused: "sealed" }; // the seal landed while its body arrived
    const known = hasRow(this.sql, "backups", req.systemKey, req.id);
    const gone = hasRow(this.sql, "tombstones", req.systemKey, req.id);
    const reserved = this.sql.exec("SELECT 1 FROM reservations WHERE token = ?", req.token).toArray().length > 0;
    const newest = known || gone ? null : newestBackup(this.sql, req.systemKey);
    if (newest && newest.size === req.size && newest.sha256 === req.sha256) {
      this.sql.exec("DELETE FROM reservations WHERE token = ?", req.token);
      return { stored: false, newest: newest.id };
    }
    if (!known && !reserved && !gone && req.quota > 0) {
      this.sql.exec("DELETE FROM reservations WHERE expires_at <= ?", now);
      if (!built) return { refused: "unknown" };
      if (usageTotal(this.sql) + req.size > req.quota) return { refused: "quota" };
    }
    this.sql.exec("DELETE FROM reservations WHERE token = ?", req.token);
    const live = liveBackups(this.sql, req.systemKey);
    if (!known && !gone) {
      const committedAt = Math.max(now, ...live.map((b) => b.committedAt + 1));
      this.sql.exec(
        "INSERT INTO backups (system_key, id, size, sha256, committed_at) VALUES (?, ?, ?, ?, ?)",
        req.systemKey,
        req.id,
        req.size,
        req.sha256,
        committedAt,
      );
      live.push({ id: req.id, size: req.size, committedAt });
    }
    // While a rebuild runs, the system's older backups may not be known yet: prune nothing.
    if (!built) return { stored: true, pruned: [] };
    const victims = selectVictims(live, tightenPolicy(req.policy, this.meta.getJson<RetentionOverrides>(RETENTION_META)), now);
    for (const id of victims) this.sql.exec("UPDATE backups SET doomed = 1 WHERE system_key = ? AND id = ?", req.systemKey, id);
    if (victims.length > 0) await this.deleteDoomed(req.organizationId, req.systemKey, victims);
    return { stored: true, pruned: victims };
  }

  /** Stores the organisation's retention overrides (its settings); every later commit applies them. */
  async setRetention(overrides: RetentionOverrides): Promise<void> {
    this.meta.set(RETENTION_META, JSON.stringify(overrides));
  }

  /** Forgets a backup the system deleted: its bytes stop counting at once, and no listing page brings it back. */
  async forget(organizationId: string, systemKey: string, id: string): Promise<void> {
    await this.ensureBuilt(organizationId);
    this.sql.exec("DELETE FROM backups WHERE system_key = ? AND id = ?", systemKey, id);
    tombstone(this.sql, systemKey, [id], Date.now());
  }

  /** Bytes counted against the quota (committed, pruned until R2 confirms, reserved); null while a rebuild runs. */
  async usageBytes(organizationId: string): Promise<number | null> {
    const built = await this.ensureBuilt(organizationId);
    this.sql.exec("DELETE FROM reservations WHERE expires_at <= ?", Date.now());
    return built ? usageTotal(this.sql) : null;
  }

  /**
   * Committed backups and bytes of the organisation, and per system (all of them, or the keys
   * given) with its newest backup: what the operator listings show, in one call.
   */
  async systemsUsage(organizationId: string, systemKeys: string[] | null): Promise<OrganizationUsage> {
    // Half a rebuild would show systems without their backups: the worker answers 503 instead.
    if (!(await this.ensureBuilt(organizationId))) throw new Error("ledger rebuilding its usage from R2");
    return systemsUsage(this.sql, systemKeys);
  }

  /** The rows of one system (a move copies them to the new organisation's ledger). */
  async systemBackups(organizationId: string, systemKey: string): Promise<MovedBackup[]> {
    await this.ensureBuilt(organizationId);
    return systemRows(this.sql, systemKey);
  }

  /** Records backups that arrived by a move (idempotent). */
  async adoptBackups(organizationId: string, systemKey: string, backups: MovedBackup[]): Promise<void> {
    await this.ensureBuilt(organizationId);
    this.ctx.storage.transactionSync(() => (adoptRows(this.sql, systemKey, backups, Date.now()), settleMoveIn(this.sql, systemKey)));
  }

  /** Seals a system against uploads (purge, move; null lifts a move's seal); returns how many of its reservations are still open. */
  async seal(organizationId: string, systemKey: string, reason: SealReason | null): Promise<number> {
    await this.ensureBuilt(organizationId);
    if (reason === null) this.sql.exec("DELETE FROM seals WHERE system_key = ? AND reason = 'move'", systemKey);
    return reason === null ? 0 : sealSystem(this.sql, systemKey, reason, Date.now());
  }

  /** Reserves a moving system's incoming bytes here, checked against the quota in the same step. */
  async reserveMove(organizationId: string, systemKey: string, bytes: number, quota: number): Promise<"ok" | "quota" | "purged" | "unknown"> {
    if (!(await this.ensureBuilt(organizationId)) && quota > 0) return "unknown";
    return reserveMove(this.sql, systemKey, bytes, quota, Date.now());
  }

  /** Forgets every backup of a system (purged, or moved away); its bytes stop counting at once. */
  async forgetSystem(organizationId: string, systemKey: string): Promise<void> {
    await this.ensureBuilt(organizationId);
    forgetSystemRows(this.sql, systemKey, Date.now());
  }

  /**
   * Runs a whole reconciliation now, page by page (the alarm runs one page per invocation):
   * drops rows whose object is gone, adds objects the ledger never recorded, corrects sizes.
   * Returns what it changed.
   */
  async reconcile(organizationId: string): Promise<{ dropped: number; added: number }> {
    while (!(await this.ensureBuilt(organizationId))) await this.step();
    if (!this.meta.getJson<SyncPass>("sync")) this.meta.set("sync", JSON.stringify(newPass("reconcile", Date.now())));
    while (this.meta.getJson<SyncPass>("sync")) await this.step();
    const done = this.meta.getJson<{ dropped: number; added: number }>("last_sync")!;
    return { dropped: done.dropped, added: done.added };
  }

  /**
   * Retries prunes whose R2 delete failed, runs one page of a rebuild or reconciliation in
   * progress, and starts the daily reconciliation when due (never during the fleet's backup
   * hours, 00:00–06:00 UTC).
   */
  override async alarm(): Promise<void> {
    const organizationId = this.meta.get("organization_id");
    if (!organizationId) return;
    const now = Date.now();
    const doomed = this.sql
      .exec<{ system_key: string; id: string }>("SELECT system_key, id FROM backups WHERE doomed = 1 LIMIT ?", PRUNE_BATCH)
      .toArray();
    for (const [systemKey, rows] of Map.groupBy(doomed, (row) => row.system_key)) await this.deleteDoomed(organizationId, systemKey, rows.map((r) => r.id));
    this.sql.exec("DELETE FROM tombstones WHERE at < ?", now - TOMBSTONE_LIFETIME_MS);
    const pass = this.meta.getJson<SyncPass>("sync");
    if (!pass && now >= this.reconcileDueAt(now) && outsideBackupHours(now) === now) this.meta.set("sync", JSON.stringify(newPass("reconcile", now)));
    const current = this.meta.getJson<SyncPass>("sync");
    if (current && (current.kind === "rebuild" || outsideBackupHours(now) === now)) await this.stepOrLog();
    await this.scheduleAlarm();
  }

  /** When the next daily reconciliation is due (a ledger from before `reconcile_due_at`: a day after its last one). */
  private reconcileDueAt(now: number): number {
    const due = this.meta.get("reconcile_due_at");
    if (due !== undefined) return Number(due);
    return Number(this.meta.get("reconciled_at") ?? now) + TIMINGS.reconcileEveryMs;
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
    tombstone(this.sql, systemKey, ids, at);
    const events = ids.map((id) => ({ organizationId, actor: "retention", action: "backup.prune" as const, target: `${systemKey}/${id}`, outcome: "ok", clientIp: null, at }));
    this.ctx.waitUntil(recordAuditQuietly(this.env.OPERATOR_DB, events));
  }

  /** The next alarm: at once while a pass runs, in a minute while prunes wait for a retry, else the next reconciliation. */
  private async scheduleAlarm(): Promise<void> {
    const now = Date.now();
    const pass = this.meta.getJson<SyncPass>("sync");
    const due = this.reconcileDueAt(now);
    let at = pass?.kind === "rebuild" ? now : outsideBackupHours(Math.max(due, now));
    if (this.sql.exec("SELECT 1 FROM backups WHERE doomed = 1 LIMIT 1").toArray().length > 0) at = Math.min(at, now + TIMINGS.pruneRetryMs);
    await this.ctx.storage.setAlarm(at);
  }

  /**
   * True once the ledger's rows are known. On first use (new or lost storage) it starts a
   * rebuild and runs its first page at once; a larger organisation continues from the alarm,
   * a page per invocation, and until then admission with a quota fails closed.
   */
  private async ensureBuilt(organizationId: string): Promise<boolean> {
    if (this.meta.get("built_at")) return true;
    if (!this.meta.get("organization_id")) {
      this.meta.set("organization_id", organizationId);
      this.meta.set("sync", JSON.stringify(newPass("rebuild", Date.now())));
    }
    // Each call drives the rebuild by a page; one that finds a page under way waits for that one only.
    if (this.stepping) await this.stepping.catch(() => {});
    else {
      await this.stepOrLog();
      await this.scheduleAlarm();
    }
    return this.meta.get("built_at") !== undefined;
  }

  /** One step; a failure (R2 unavailable) is logged and the pass resumes from its saved cursor later. */
  private async stepOrLog(): Promise<void> {
    try {
      await this.step();
    } catch (err) {
      log.error("ledger sync step failed, will resume", { organizationId: this.meta.get("organization_id"), error: err });
    }
  }

  /** Runs one step of the pass in progress (never two at once); records the pass's end. */
  private async step(): Promise<void> {
    while (this.stepping) await this.stepping;
    const pass = this.meta.getJson<SyncPass>("sync");
    const organizationId = this.meta.get("organization_id");
    if (!pass || !organizationId) return;
    this.stepping = (async () => {
      const { pass: next, done: finished } = await syncStep(this.sql, this.env.BACKUPS, organizationId, pass);
      if (!finished) return this.meta.set("sync", JSON.stringify(next));
      const done = next;
      this.meta.delete("sync");
      this.meta.set("last_sync", JSON.stringify(done));
      const now = Date.now();
      if (pass.kind === "rebuild") this.meta.set("built_at", String(now));
      this.meta.set("reconciled_at", String(now));
      this.meta.set("reconcile_due_at", String(nextReconcileAt(organizationId, now)));
      if (pass.kind === "reconcile" && done.dropped + done.added + done.resized > 0) log.warn("ledger reconciled with R2", { organizationId, ...done });
    })();
    try {
      await this.stepping;
    } finally {
      this.stepping = null;
    }
  }
}
