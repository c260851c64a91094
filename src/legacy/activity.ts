// What the older protocol's refused uploads leave for the operator: the released clients ignore
// HTTP errors on upload, so no one else will ever learn of a refusal. Each one is audited
// (`backup.refused`, with its reason) and marked on the system through fleet health's signs
// (operator/appliance-signs.ts: `last_refused_at`, `last_refused_reason`, the refusal counters).
// Both run under waitUntil, off the appliance's critical path.

import type { AuthenticatedSystem } from "../auth/credentials";
import { ApiError } from "../errors";
import { noteRefusal } from "../operator/appliance-signs";
import { recordAuditQuietly } from "../operator/audit";

type Subject = Pick<AuthenticatedSystem, "systemKey" | "organizationId">;

/** The reason a refused upload is recorded with: short, stable words an operator can filter on. */
export function refusalReason(err: unknown): string {
  if (!(err instanceof ApiError)) return "internal error";
  if (err.status === 413) return /quota/.test(err.message) ? "quota" : "size";
  if (err.status === 429) return "rate";
  if (err.status === 408) return "stalled";
  if (err.status === 503) return "unavailable";
  if (err.status === 401) return err.message; // the system's state: suspended, deleted
  return `rejected: ${err.publicMessage}`;
}

/** The `backup.refused` audit event of a refused legacy upload. */
export function auditRefusal(db: D1Database, system: Subject, reason: string, clientIp: string, now = Date.now()): Promise<void> {
  return recordAuditQuietly(db, [
    { organizationId: system.organizationId, actor: system.systemKey, action: "backup.refused", target: system.systemKey, outcome: `refused: ${reason}`, clientIp, at: now },
  ]);
}

/** A refused legacy upload, everywhere an operator looks: the audit trail and the system's last refusal. */
export async function noteLegacyRefusal(db: D1Database, system: Subject, reason: string, clientIp: string, now = Date.now()): Promise<void> {
  await Promise.all([auditRefusal(db, system, reason, clientIp, now), noteRefusal(db, system, reason, now)]);
}
