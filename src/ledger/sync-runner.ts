// Runs the ledger's rebuild and reconciliation passes (r2-sync.ts) one step at a time, never two
// at once, and records each pass's end in the ledger's meta.

import { log } from "../platform/log";
import type { LedgerMeta } from "./meta";
import { nextReconcileAt, syncStep, type SyncPass } from "./r2-sync";

/** The step runner of one ledger. */
export class SyncRunner {
  /** The sync step running now, if any: steps never overlap. */
  stepping: Promise<void> | null = null;

  constructor(
    private readonly sql: SqlStorage,
    private readonly meta: LedgerMeta,
    private readonly bucket: () => R2Bucket,
  ) {}

  /** One step; a failure (R2 unavailable) is logged and the pass resumes from its saved cursor later. */
  async stepOrLog(): Promise<void> {
    try {
      await this.step();
    } catch (err) {
      log.error("ledger sync step failed, will resume", { organizationId: this.meta.get("organization_id"), error: err });
    }
  }

  /** Runs one step of the pass in progress (never two at once); records the pass's end. */
  async step(): Promise<void> {
    while (this.stepping) await this.stepping;
    const pass = this.meta.getJson<SyncPass>("sync");
    const organizationId = this.meta.get("organization_id");
    if (!pass || !organizationId) return;
    this.stepping = (async () => {
      const { pass: next, done: finished } = await syncStep(this.sql, this.bucket(), organizationId, pass);
      if (!finished) return this.meta.set("sync", JSON.stringify(next));
      const done = next;
      this.meta.delete("sync");
      this.meta.set("last_sync", JSON.stringify(done));
      const now = Date.now();
      if (pass.kind === "rebuild") this.meta.set("built_at", String(now));
      this.meta.set("reconciled_at", String(now));
      this.meta.set("reconcile_due_at", String(nextReconcileAt(organizationId, now)));
      if (pass.kind === "reconcile" && done.dropped + done.added + done.resized + (done.cleared ?? 0) > 0) log.warn("ledger reconciled with R2", { organizationId, ...done });
    })();
    try {
      await this.stepping;
    } finally {
      this.stepping = null;
    }
  }
}
