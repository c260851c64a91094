// What the older protocol's calls leave for the operator views (operator/system-activity.ts):
// "last seen" for every authenticated call, and every refused upload (audited `backup.refused`
// and marked on the system), because the released clients ignore HTTP errors on upload and no
// one else will ever learn of it. Both run under waitUntil, off the appliance's critical path.

import type { AuthenticatedSystem } from "../auth/credentials";
import { ApiError } from "../errors";
import { recordAuditQuietly } from "../operator/audit";
import { recordRefusal, recordSeen, seenHour } from "../operator/system-activity";
import { log } from "../platform/log";

/** Hours already recorded by this isolate, per system: a second call in the same hour writes nothing. */
const seenHours = new Map<string, string>();
const MAX_TRACKED = 10_000;

/** Records an authenticated legacy call (at most one D1 write per system and hour in this isolate). */
export function noteSeen(db: D1Database, system: AuthenticatedSystem, now = Date.now()): Promise<void> | null {
  const hour = seenHour(now);
  if (seenHours.get(system.systemKey) === hour) return null;
  if (seenHours.size >= MAX_TRACKED) seenHours.delete(seenHours.keys().next().value as string);
  seenHours.set(system.systemKey, hour);
  return recordSeen(db, system, now).catch((err) => {
    seenHours.delete(system.systemKey);
    log.error("last-seen record failed", { system: system.systemKey, error: err });
  });
}

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

/** Records a refused legacy upload: a `backup.refused` audit event and the system's last refusal. */
export async function noteRefusal(db: D1Database, system: Pick<AuthenticatedSystem, "systemKey" | "organizationId">, reason: string, clientIp: string, now = Date.now()): Promise<void> {
  await Promise.all([
    recordAuditQuietly(db, [
      { organizationId: system.organizationId, actor: system.systemKey, action: "backup.refused", target: system.systemKey, outcome: `refused: ${reason}`, clientIp, at: now },
    ]),
    recordRefusal(db, system, reason, now).catch((err) => log.error("refusal record failed", { system: system.systemKey, error: err })),
  ]);
}
