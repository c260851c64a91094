// When each organisation next has something to erase at the end of its recovery window
// (`recovery_due`, migration 0006): written by the organisation's ledger, read by the hourly cron.

import { d1 } from "./d1";

/** Records when the organisation's earliest window ends (null: nothing waits, the row goes). */
export async function registerRecoveryDue(db: D1Database, organizationId: string, dueAt: number | null): Promise<void> {
  const statement =
    dueAt === null
      ? db.prepare("DELETE FROM recovery_due WHERE organization_id = ?").bind(organizationId)
      : db.prepare("INSERT INTO recovery_due VALUES (?, ?) ON CONFLICT (organization_id) DO UPDATE SET due_at = excluded.due_at").bind(organizationId, dueAt);
  await d1("recovery due", () => statement.run());
}

/** Organisations with a window ended by `now`, the longest overdue first (at most `limit`). */
export async function dueOrganizations(db: D1Database, now: number, limit: number): Promise<string[]> {
  const { results } = await d1("recovery due list", () =>
    db.prepare("SELECT organization_id FROM recovery_due WHERE due_at <= ? ORDER BY due_at LIMIT ?").bind(now, limit).all<{ organization_id: string }>(),
  );
  return results.map((r) => r.organization_id);
}
