// One Durable Object per organisation: the strongly consistent ledger behind the quota, rate windows and retention.
// Its SQLite tables (schema.ts) mirror the committed backups; R2 stays the truth, rebuilt from page by page (r2-sync.ts).

import { DurableObject } from "cloudflare:workers";
import { selectVictims } from "../backups/retention";
import { eraseAfter, limitsOf, TIMINGS, uploadLifetimeMs } from "../config";
import { recordAuditQuietly } from "../operator/audit";
import type { RetentionOverrides } from "../operator/org-settings";
import { log } from "../platform/log";
import { rfc3339 } from "../platform/time";
import { newestBackup, tombstone } from "./backup-rows";
import { admitCommit } from "./commit-rows";
import { LedgerMeta } from "./meta";
import { newPass, outsideBackupHours, type SyncPass } from "./r2-sync";
import { SyncRunner } from "./sync-runner";
import { isFirstOfDay, lastCommitTime, rateRetryAfter, recordUpload } from "./rate-windows";
import type { CommitRequest, CommitResult, RemovalRequest, RemovalResult, RepeatRequest, ReserveRequest, ReserveResult, RestoreRequest, RestoreResult } from "./protocol";
import { RecoveryDesk } from "./recovery";
import { beginRemoval, listRecoverable, recordPurge, type RecoverableBackup } from "./recovery-rows";
import { migrateLedger } from "./schema";
import { liftPurgeSeal, reserveMove, sealOf, sealSystem, settleMoveIn, type SealReason } from "./seals";
import { adoptRows, forgetSystemRows, systemRows, systemsUsage, type MovedBackup, type OrganizationUsage } from "./system-rows";
import { recoverableTotal, usageTotal } from "./totals";
import { RETENTION_META, tightenPolicy } from "./retention-overrides";

const TOMBSTONE_LIFETIME_MS = 2 * 86_400_000;

export type * from "./protocol";

export class OrgLedger extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly meta: LedgerMeta;
  protected readonly recovery: RecoveryDesk;
  private readonly sync: SyncRunner;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.meta = new LedgerMeta(this.sql);
    migrateLedger(ctx.storage);
    this.sync = new SyncRunner(this.sql, this.meta, () => this.env.BACKUPS);
    this.recovery = new RecoveryDesk({ sql: this.sql, meta: this.meta, env: () => this.env, waitUntil: (p) => ctx.waitUntil(p) });
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
    const exempt = retryAfter > 0 && req.firstOfDayExempt === true && isFirstOfDay(lastCommitTime(this.sql, req.systemKey), now);
    if (retryAfter > 0 && !exempt) return { ok: false, reason: "rate", retryAfterSeconds: retryAfter };
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
    const admitted = admitCommit(this.sql, req, built, now);
    if (!("live" in admitted)) return admitted;
    const { live } = admitted;
    // While a rebuild runs, the system's older backups may not be known yet: prune nothing.
    if (!built) return { stored: true, pruned: [] };
    const victims = selectVictims(live, tightenPolicy(req.policy, this.meta.getJson<RetentionOverrides>(RETENTION_META)), now);
    // In the same synchronous step: out of the rows and the quota, into the recovery window.
    const stamp = { removedAt: now, removedBy: "retention", reason: "pruned" as const, eraseAfter: eraseAfter(now, req) };
    beginRemoval(this.sql, req.systemKey, victims, stamp);
    const sizes = new Map(live.map((b) => [b.id, b.size]));
    const sized = victims.map((id) => ({ id, size: sizes.get(id) ?? 0 }));
    await this.recovery.pruneVictims(req.systemKey, sized, req.quota, limitsOf(this.env).bufferedUploadMax, () => this.scheduleAlarm());
    return { stored: true, pruned: victims };
  }

  /** Stores the organisation's retention overrides (its settings); every later commit applies them. */
  async setRetention(overrides: RetentionOverrides): Promise<void> {
    this.meta.set(RETENTION_META, JSON.stringify(overrides));
  }

  /**
   * Takes backups out of a system into the recovery window: out of the rows and the quota at
   * once, then copied into the recovery prefix and deleted (docs/recovery.md). Returns the ids
   * moved and those that were not there. A storage failure throws, and the alarm finishes the move.
   */
  async removeBackups(req: RemovalRequest): Promise<RemovalResult> {
    await this.ensureBuilt(req.organizationId);
    return this.retryOnFault(this.recovery.remove(req, Date.now()), { unavailable: true });
  }

  /** Puts recoverable backups back, byte-exact under the same ids; refused when the quota would be exceeded. */
  async restoreBackups(req: RestoreRequest): Promise<RestoreResult> {
    if (!(await this.ensureBuilt(req.organizationId))) return { refused: "unavailable" };
    return this.retryOnFault(this.recovery.restoreBackups(req), { refused: "unavailable" });
  }

  /** Records a purge of the system (its window; idempotent: a repeat keeps the first), before its backups are moved. */
  async recordPurge(organizationId: string, systemKey: string, removedBy: string, eraseAfterMs: number): Promise<{ removed_at: string; erase_after: string }> {
    await this.ensureBuilt(organizationId);
    const row = recordPurge(this.sql, systemKey, { removedAt: Date.now(), removedBy, reason: "purged", eraseAfter: eraseAfterMs });
    await this.recovery.eraser.register();
    return { removed_at: rfc3339(row.removed_at), erase_after: rfc3339(row.erase_after) };
  }

  /** Ends a purge that was undone: its seal goes, so the system uploads again (the cron then erases only its record's copy). */
  async liftPurge(organizationId: string, systemKey: string): Promise<void> {
    await this.ensureBuilt(organizationId);
    this.ctx.storage.transactionSync(() => (this.sql.exec("UPDATE purges SET state = 'restored' WHERE system_key = ?", systemKey), liftPurgeSeal(this.sql, systemKey)));
  }

  /** The system's recoverable backups, most recently removed first. */
  async recoverable(organizationId: string, systemKey: string): Promise<RecoverableBackup[]> {
    if (!(await this.ensureBuilt(organizationId))) throw new Error("ledger rebuilding its usage from R2");
    return listRecoverable(this.sql, systemKey);
  }

  /** Erases what has passed its window by `now` (the cron's scheduled time): one page, audited. */
  async eraseDue(organizationId: string, now: number): Promise<{ erased: number; systems: number; locked: number }> {
    await this.ensureBuilt(organizationId);
    return this.retryOnFault(this.recovery.eraser.eraseDue(now), { erased: 0, systems: 0, locked: 0 });
  }

  /** Bytes held in the recovery window (never counted against the quota), in constant time. */
  async recoverableBytes(organizationId: string): Promise<number> {
    await this.ensureBuilt(organizationId);
    return recoverableTotal(this.sql);
  }

  /** A recovery step's answer; on a fault (logged) the alarm is set to finish a journaled step (the next cron, an erasure), and `failed` answered. */
  private async retryOnFault<T, F>(step: Promise<T>, failed: F): Promise<T | F> {
    try {
      return await step;
    } catch (err) {
      log.error("recovery step failed, the alarm will finish it", { organizationId: this.meta.get("organization_id"), error: err });
      await this.scheduleAlarm();
      return failed;
    }
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
    while (!(await this.ensureBuilt(organizationId))) await this.sync.step();
    if (!this.meta.getJson<SyncPass>("sync")) this.meta.set("sync", JSON.stringify(newPass("reconcile", Date.now())));
    while (this.meta.getJson<SyncPass>("sync")) await this.sync.step();
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
    await this.recovery.resume(now, limitsOf(this.env).recoveryDays);
    this.sql.exec("DELETE FROM tombstones WHERE at < ?", now - TOMBSTONE_LIFETIME_MS);
    const pass = this.meta.getJson<SyncPass>("sync");
    if (!pass && now >= this.reconcileDueAt(now) && outsideBackupHours(now) === now) this.meta.set("sync", JSON.stringify(newPass("reconcile", now)));
    const current = this.meta.getJson<SyncPass>("sync");
    if (current && (current.kind === "rebuild" || outsideBackupHours(now) === now)) await this.sync.stepOrLog();
    await this.scheduleAlarm();
  }

  /** When the next daily reconciliation is due (a ledger from before `reconcile_due_at`: a day after its last one). */
  private reconcileDueAt(now: number): number {
    const due = this.meta.get("reconcile_due_at");
    if (due !== undefined) return Number(due);
    return Number(this.meta.get("reconciled_at") ?? now) + TIMINGS.reconcileEveryMs;
  }

  /** The next alarm: at once while a pass runs, in a minute while prunes wait for a retry, else the next reconciliation. */
  private async scheduleAlarm(): Promise<void> {
    const now = Date.now();
    const pass = this.meta.getJson<SyncPass>("sync");
    const due = this.reconcileDueAt(now);
    let at = pass?.kind === "rebuild" ? now : outsideBackupHours(Math.max(due, now));
    const inFlight = "SELECT 1 FROM backups WHERE doomed = 1 UNION ALL SELECT 1 FROM recoverable WHERE state IN ('moving', 'restoring') LIMIT 1";
    if (this.sql.exec(inFlight).toArray().length > 0) at = Math.min(at, now + TIMINGS.pruneRetryMs);
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
    if (this.sync.stepping) await this.sync.stepping.catch(() => {});
    else {
      await this.sync.stepOrLog();
      await this.scheduleAlarm();
    }
    return this.meta.get("built_at") !== undefined;
  }
}
