// The signs of life an appliance call leaves, recorded in the background (`ctx.waitUntil`) so that
// the appliance never waits on them: last seen (at most one D1 write per system and hour per
// isolate), the commit time of a new backup, and an upload the vault refused.

import { log } from "../platform/log";
import { recordRefusal, recordSeen, seenHour, type ActivitySubject } from "./system-activity";
import { recordBackupAt } from "./system-profile";

/** The hour already recorded per system key in this isolate; cleared when it grows past the bound. */
const seenMemo = new Map<string, string>();
const SEEN_MEMO_MAX = 10_000;

/** `recordSeen` unless this isolate already recorded this system in this hour; null when nothing is to be written. */
export function noteSeen(db: D1Database, subject: ActivitySubject, at = Date.now()): Promise<void> | null {
  const hour = seenHour(at);
  if (seenMemo.get(subject.systemKey) === hour) return null;
  if (seenMemo.size >= SEEN_MEMO_MAX) seenMemo.clear();
  seenMemo.set(subject.systemKey, hour);
  return recordSeen(db, subject, at).catch((err) => {
    seenMemo.delete(subject.systemKey); // the next call tries again
    log.error("last seen not recorded", { system: subject.systemKey, error: err });
  });
}

/** Records a new backup's commit time (errors logged: the listing repairs it from the ledger). */
export function noteBackup(db: D1Database, systemKey: string, at = Date.now()): Promise<void> {
  return recordBackupAt(db, systemKey, at).catch((err) => log.error("last backup not recorded", { system: systemKey, error: err }));
}

/** Records a refused upload with its reason (errors logged). */
export function noteRefusal(db: D1Database, subject: ActivitySubject, reason: string, at = Date.now()): Promise<void> {
  return recordRefusal(db, subject, reason, at).catch((err) => log.error("refusal not recorded", { system: subject.systemKey, error: err }));
}

/** The refusal reason of an upload answered `status` with `message`, or null when it is not a refusal (413, 429). */
export function refusalReason(status: number, message: string): string | null {
  if (status === 429) return "rate";
  if (status !== 413) return null;
  return /quota/.test(message) ? "quota" : "size";
}
