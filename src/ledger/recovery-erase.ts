// Erasure at the end of the recovery window (docs/recovery.md): the hourly cron asks each
// organisation's ledger, with the trigger's scheduled time, to erase what has passed its window
// (a page at a time, audited); pruned backups also give way when the organisation's recoverable
// bytes reach their bound. A bucket lock's refusal (R2 error 10069) is "not yet": the row stays
// and the next run tries again. The ledger tells the operator database when it next has work.

import { purgedSystemKey, recoveryKey } from "../backups/keys";
import { eraseObjects } from "../backups/store";
import { recordAuditQuietly, type AuditEvent } from "../operator/audit";
import { registerRecoveryDue } from "../operator/recovery-due";
import { log } from "../platform/log";
import { rfc3339 } from "../platform/time";
import type { LedgerMeta } from "./meta";
import { dropRecoverable, duePurges, dueRows, nextEraseAt, oldestPruned, type RecoverableRow } from "./recovery-rows";
import { recoverableTotal } from "./totals";

const HOUR = 3_600_000;
/** Journal rows erased per R2 delete call and per cron visit of an organisation. */
export const ERASE_PAGE = 1000;

/** What the recovery window's steps need from their ledger. */
export interface RecoveryHost {
  sql: SqlStorage;
  meta: LedgerMeta;
  /** The ledger's bindings, read at each call (a test may wrap them). */
  env(): Env;
  waitUntil(promise: Promise<unknown>): void;
}

/** Erasure and its bookkeeping, for one organisation's ledger. */
export class RecoveryEraser {
  private registering: Promise<void> = Promise.resolve();

  constructor(private readonly host: RecoveryHost) {}

  private get organizationId(): string {
    return this.host.meta.get("organization_id") ?? "";
  }

  /**
   * Erases what has passed its window by `now` (one page: at most ERASE_PAGE rows), then the
   * records of purged systems whose backups are all gone; audited. A lock refusal (10069) keeps
   * the row for the next run. Returns how many were erased and whether more is due.
   */
  async eraseDue(now: number): Promise<{ erased: number; systems: number; locked: number }> {
    const { sql } = this.host;
    this.host.meta.delete("erase_retry_at"); // set again below by any refusal that remains
    const rows = dueRows(sql, now, ERASE_PAGE);
    const { erased, locked } = await this.erase(rows, now, (row) => `ok: ${row.reason} ${rfc3339(row.removed_at)} by ${row.removed_by}, window ended`);
    let systems = 0;
    for (const purge of duePurges(sql, now, ERASE_PAGE)) {
      const refused = await eraseObjects(this.host.env().BACKUPS, [purgedSystemKey(purge.system_key)]);
      if (refused.length > 0) {
        this.host.meta.set("erase_retry_at", String(now + HOUR));
        continue;
      }
      sql.exec("DELETE FROM purges WHERE system_key = ?", purge.system_key);
      if (purge.state === "restored") continue; // restored within its window: nothing was erased
      systems++;
      await this.audit([{ action: "system.erase", target: purge.system_key, outcome: `ok: purged ${rfc3339(purge.removed_at)} by ${purge.removed_by}, window ended`, at: now }]);
    }
    await this.register();
    return { erased, systems, locked };
  }

  /**
   * Keeps the recoverable bytes within `bound` (0: unbounded): the oldest backups that left by
   * a retention prune are erased first, audited; deleted and purged ones keep their window.
   */
  async enforceBound(bound: number, now: number): Promise<number> {
    const { sql } = this.host;
    let erased = 0;
    while (bound > 0 && recoverableTotal(sql) > bound) {
      const excess = recoverableTotal(sql) - bound;
      const victims: RecoverableRow[] = [];
      let freed = 0;
      for (const row of oldestPruned(sql, ERASE_PAGE)) {
        if (freed >= excess) break;
        victims.push(row);
        freed += row.size;
      }
      if (victims.length === 0) break;
      const result = await this.erase(victims, now, (row) => `ok: pruned ${rfc3339(row.removed_at)}, recoverable bytes at their bound`);
      erased += result.erased;
      if (result.erased === 0) break;
    }
    if (erased > 0) this.register();
    return erased;
  }

  /** Erases rows' recovery copies (one delete call per page), drops the rows and audits `backup.erase`. */
  private async erase(rows: RecoverableRow[], now: number, outcome: (row: RecoverableRow) => string): Promise<{ erased: number; locked: number }> {
    if (rows.length === 0) return { erased: 0, locked: 0 };
    const keyOf = (row: RecoverableRow) => recoveryKey({ organizationId: this.organizationId, systemKey: row.system_key }, row.id);
    const locked = new Set(await eraseObjects(this.host.env().BACKUPS, rows.map(keyOf)));
    if (locked.size > 0) this.host.meta.set("erase_retry_at", String(now + HOUR));
    const gone = rows.filter((row) => !locked.has(keyOf(row)));
    for (const row of gone) dropRecoverable(this.host.sql, row.system_key, row.id);
    const events = gone.filter((row) => row.state === "held").map((row) => ({ action: "backup.erase" as const, target: `${row.system_key}/${row.id}`, outcome: outcome(row), at: now }));
    await this.audit(events);
    return { erased: gone.length, locked: locked.size };
  }

  private async audit(events: Pick<AuditEvent, "action" | "target" | "outcome" | "at">[]): Promise<void> {
    if (events.length === 0) return;
    await recordAuditQuietly(
      this.host.env().OPERATOR_DB,
      events.map((e) => ({ ...e, organizationId: this.organizationId, actor: "recovery", clientIp: null })),
    );
  }

  /**
   * Tells the operator database when this organisation next has something to erase, if that
   * changed. Writes are chained, each writing the value current when it runs, so the last one
   * written is always the latest. Returns the write in progress (the cron waits for it).
   */
  register(): Promise<void> {
    const write = async () => {
      const retry = Number(this.host.meta.get("erase_retry_at") ?? NaN);
      const next = nextEraseAt(this.host.sql);
      const due = Number.isNaN(retry) || next === null ? next : Math.min(next, retry);
      if (next === null) this.host.meta.delete("erase_retry_at");
      const registered = this.host.meta.get("erase_registered");
      if (registered === String(due)) return;
      await registerRecoveryDue(this.host.env().OPERATOR_DB, this.organizationId, due);
      this.host.meta.set("erase_registered", String(due));
    };
    this.registering = this.registering.then(write).catch((err) => {
      log.error("recovery due registration failed, will retry", { organizationId: this.organizationId, error: err });
      this.host.meta.delete("erase_registered");
    });
    this.host.waitUntil(this.registering);
    return this.registering;
  }
}
