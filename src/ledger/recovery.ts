// Removing backups into the recovery window and putting them back (docs/recovery.md). Each step
// is journaled first (recovery-rows.ts): a removal leaves the rows and the quota at once, then is
// copied into the recovery prefix and deleted; a restore counts against the quota at once, then
// is copied back. A fault between two steps leaves the row `moving` or `restoring`, and the
// alarm (or a retry) finishes it: nothing is lost, nothing counted twice.

import { backupKey, backupKeys, recoveryKey, type SystemScope } from "../backups/keys";
import { backupSize, backupTime } from "../backups/backup-object";
import { copyFromRecovery, copyToRecovery, type Removal } from "../backups/copies";
import { deleteObjects, eraseObjects, headObject } from "../backups/store";
import { eraseAfter } from "../config";
import { recordAuditQuietly } from "../operator/audit";
import { log } from "../platform/log";
import { rfc3339 } from "../platform/time";
import type { RemovalRequest, RestoreRequest, RestoreResult } from "./protocol";
import { RecoveryEraser, type RecoveryHost } from "./recovery-erase";
import { beginRemoval, beginRestore, dropRecoverable, finishRemoval, finishRestore, recoverableRow, rowsInState, type RecoverableRow } from "./recovery-rows";
import { usageTotal } from "./totals";

const RESUME_BATCH = 1000;

function removalOf(row: RecoverableRow): Removal {
  return { removed_at: rfc3339(row.removed_at), removed_by: row.removed_by, reason: row.reason, erase_after: rfc3339(row.erase_after) };
}

/** Removals and restores, for one organisation's ledger. */
export class RecoveryDesk {
  readonly eraser: RecoveryEraser;
  /** Prunes of large victims still running after their commit was answered. */
  private readonly afterAnswer = new Set<Promise<unknown>>();

  constructor(private readonly host: RecoveryHost) {
    this.eraser = new RecoveryEraser(host);
  }

  private scope(systemKey: string): SystemScope {
    return { organizationId: this.host.meta.get("organization_id") ?? "", systemKey };
  }

  /** Takes backups out of a system into the window (journal, move, then the bound); throws on a storage failure. */
  async remove(req: RemovalRequest, now: number): Promise<{ removed: string[]; missing: string[] }> {
    const stamp = { removedAt: now, removedBy: req.removedBy, reason: req.reason, eraseAfter: req.eraseAfter };
    const journaled = beginRemoval(this.host.sql, req.systemKey, req.ids, stamp);
    const moved = await this.move(req.systemKey, journaled);
    await this.eraser.enforceBound(req.bound, now);
    await this.eraser.register(); // done before the answer: nothing of this removal is left in flight
    return { removed: moved.moved, missing: [...req.ids.filter((id) => !journaled.includes(id)), ...moved.missing] };
  }

  /**
   * A commit's retention victims, journaled in its synchronous step. The copies of those up to
   * `awaitedMax` bytes (what appliances send) are awaited, so the listing is pruned when the upload
   * is answered; a larger one's (an R2 get and put of its whole size) finishes after the answer,
   * with the alarm (`scheduleRetry`, set first) as its backstop. A failed prune is left to the alarm.
   * The later copy starts on the next task, not in the commit's own: started at once, it held the
   * upload's HTTP answer until it had finished under the local runtime (docs/performance.md).
   */
  async pruneVictims(systemKey: string, victims: { id: string; size: number }[], bound: number, awaitedMax: number, scheduleRetry: () => Promise<void>): Promise<void> {
    const prune = (ids: string[]) =>
      this.prune(systemKey, ids, bound).catch((err) => {
        log.error("prune failed, will retry", { systemKey, ids, error: err });
        return scheduleRetry();
      });
    const now = victims.filter((v) => v.size <= awaitedMax).map((v) => v.id);
    const later = victims.filter((v) => v.size > awaitedMax).map((v) => v.id);
    if (now.length > 0) await prune(now);
    if (later.length === 0) return;
    await scheduleRetry();
    const running = new Promise((resolve) => setTimeout(resolve, 0)).then(() => prune(later));
    this.afterAnswer.add(running);
    this.host.waitUntil(running.finally(() => this.afterAnswer.delete(running)));
  }

  /** Settles once every prune running after its commit's answer has finished (the bench and tests wait on it). */
  async afterAnswerSettled(): Promise<void> {
    while (this.afterAnswer.size > 0) await Promise.allSettled([...this.afterAnswer]);
  }

  /** Moves a commit's retention victims (journaled in its synchronous step) into the window, then the bound; audited as `backup.prune`. */
  async prune(systemKey: string, ids: string[], bound: number): Promise<void> {
    const { moved } = await this.move(systemKey, ids);
    await this.eraser.enforceBound(bound, Date.now());
    this.auditPrunes(systemKey, moved);
    await this.eraser.register();
  }

  /** `backup.prune` events for pruned backups now in the window (off the caller's path). */
  private auditPrunes(systemKey: string, ids: string[]): void {
    if (ids.length === 0) return;
    const at = Date.now();
    const organizationId = this.scope(systemKey).organizationId;
    const events = ids.map((id) => ({ organizationId, actor: "retention", action: "backup.prune" as const, target: `${systemKey}/${id}`, outcome: "ok: recoverable", clientIp: null, at }));
    this.host.waitUntil(recordAuditQuietly(this.host.env().OPERATOR_DB, events));
  }

  /** Puts recoverable backups back (all of them, or refused: 413 when the quota would be exceeded); throws on a storage failure. */
  async restoreBackups(req: RestoreRequest): Promise<RestoreResult> {
    const { sql } = this.host;
    const purged = req.ids === "purged";
    const query = "SELECT id, size, state FROM recoverable WHERE system_key = ? AND reason = 'purged' AND state IN ('held', 'restoring')";
    const rows = purged
      ? sql.exec<{ id: string; size: number; state: string }>(query, req.systemKey).toArray()
      : (req.ids as string[]).map((id) => recoverableRow(sql, req.systemKey, id)).filter((r) => r !== null && (r.state === "held" || r.state === "restoring"));
    // Already back (a retry whose first answer was lost): done, not "missing".
    const live = (id: string) => sql.exec("SELECT 1 FROM backups WHERE system_key = ? AND id = ?", req.systemKey, id).toArray().length > 0;
    if (!purged && rows.length === 0) return (req.ids as string[]).every(live) ? { restored: [] } : { refused: "missing" };
    const adding = rows.filter((r) => r!.state === "held").reduce((sum, r) => sum + r!.size, 0);
    if (req.quota > 0 && adding > 0 && usageTotal(sql) + adding > req.quota) return { refused: "quota" };
    const started = rows.map((r) => r!.id).filter((id) => beginRestore(sql, req.systemKey, id, 0) === "ok");
    await this.restore(req.systemKey, started);
    await this.eraser.register();
    return { restored: started };
  }

  /**
   * Moves journaled (`moving`) backups into the recovery prefix: copy, delete the original, mark
   * `held`. A backup already gone counts as moved when its copy is there, else its row goes.
   */
  async move(systemKey: string, ids: string[]): Promise<{ moved: string[]; missing: string[] }> {
    const { sql } = this.host;
    const bucket = this.host.env().BACKUPS;
    const moved: string[] = [];
    const missing: string[] = [];
    try {
      for (const id of ids) {
        const row = recoverableRow(sql, systemKey, id);
        if (row?.state !== "moving") continue;
        const scope = this.scope(systemKey);
        const source = await copyToRecovery(bucket, backupKey(scope, id), recoveryKey(scope, id), removalOf(row));
        // The original goes only once its copy is stored (no bucket lock covers the systems' prefixes).
        if (source) await deleteObjects(bucket, backupKeys(scope, id));
        const copy = source ?? (await headObject(bucket, recoveryKey(scope, id)));
        if (!copy) {
          dropRecoverable(sql, systemKey, id);
          missing.push(id);
          continue;
        }
        const custom = copy.customMetadata ?? {};
        finishRemoval(sql, systemKey, id, { size: backupSize(copy), sha256: custom.sha256 ?? null, filename: custom.filename ?? null, uploadedAt: backupTime(copy) });
        moved.push(id);
      }
    } finally {
      this.eraser.register();
    }
    return { moved, missing };
  }

  /**
   * Puts journaled (`restoring`) backups back under their keys, byte-exact, then erases their
   * recovery copies (a bucket lock keeps a copy until its window ends: `restored`).
   */
  async restore(systemKey: string, ids: string[]): Promise<void> {
    const { sql } = this.host;
    const bucket = this.host.env().BACKUPS;
    try {
      for (const id of ids) {
        if (recoverableRow(sql, systemKey, id)?.state !== "restoring") continue;
        const scope = this.scope(systemKey);
        // No copy left means an earlier attempt put the backup back and erased the copy, then stopped.
        const copied = await copyFromRecovery(bucket, recoveryKey(scope, id), backupKey(scope, id));
        const locked = copied ? await eraseObjects(bucket, [recoveryKey(scope, id)]) : [];
        if (!copied && !(await headObject(bucket, backupKey(scope, id)))) {
          log.error("recoverable backup lost its copy", { ...scope, id });
          sql.exec("DELETE FROM backups WHERE system_key = ? AND id = ?", systemKey, id);
          dropRecoverable(sql, systemKey, id);
          continue;
        }
        finishRestore(sql, systemKey, id, locked.length > 0);
      }
    } finally {
      this.eraser.register();
    }
  }

  /** Finishes steps a fault cut short (prunes an earlier version chose: `doomed`; `moving`; `restoring`), and re-registers the next erasure. */
  async resume(now: number, recoveryDays: number): Promise<void> {
    const { sql } = this.host;
    const doomed = sql.exec<{ system_key: string; id: string }>("SELECT system_key, id FROM backups WHERE doomed = 1 LIMIT ?", RESUME_BATCH).toArray();
    const stamp = { removedAt: now, removedBy: "retention", reason: "pruned" as const, eraseAfter: eraseAfter(now, { recoveryDays }) };
    for (const [systemKey, rows] of Map.groupBy(doomed, (row) => row.system_key)) beginRemoval(sql, systemKey, rows.map((r) => r.id), stamp);
    // A prune the commit left to finish (a fault, or a large victim moved after the answer) is audited when it lands.
    const finishMoves = async (k: string, ids: string[]) => {
      const { moved } = await this.move(k, ids);
      this.auditPrunes(k, moved.filter((id) => recoverableRow(sql, k, id)?.reason === "pruned"));
    };
    const steps = [
      ["moving", finishMoves],
      ["restoring", (k: string, ids: string[]) => this.restore(k, ids)],
    ] as const;
    for (const [state, step] of steps) {
      for (const [systemKey, group] of Map.groupBy(rowsInState(sql, state, RESUME_BATCH), (row) => row.system_key)) {
        await step(systemKey, group.map((r) => r.id)).catch((err) => log.error("recovery step failed, will retry", { systemKey, state, error: err }));
      }
    }
    await this.eraser.register();
  }
}
