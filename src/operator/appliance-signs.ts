// The signs of life an appliance call leaves, recorded in the background (`ctx.waitUntil`) so that
// the appliance never waits on them: last seen (at most one D1 write per system and hour per
// isolate), the commit time of a new backup, and an upload the vault refused.

import { log } from "../platform/log";
import { rfc3339 } from "../platform/time";
import { d1 } from "./d1";
import { recordSeen, refusalStatement, seenHour, type ActivitySubject } from "./system-activity";
import { backupAtStatement } from "./system-profile";
import { countUploadStatement } from "./upload-counts";

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

/** Records a new backup's commit time and counts the upload, in one D1 batch (errors logged: the listing repairs the time from the ledger). */
export function noteBackup(db: D1Database, subject: ActivitySubject, at = Date.now()): Promise<void> {
  const writing = d1("backup noted", () => db.batch([backupAtStatement(db, subject.systemKey, rfc3339(at)), countUploadStatement(db, subject.organizationId, "stored")]));
  return writing.then(
    () => undefined,
    (err) => log.error("last backup not recorded", { system: subject.systemKey, error: err }),
  );
}

/** Records a refused upload with its reason, and counts it (errors logged). */
export function noteRefusal(db: D1Database, subject: ActivitySubject, reason: string, at = Date.now()): Promise<void> {
  const writing = d1("refusal noted", () => db.batch([refusalStatement(db, subject, reason, at), countUploadStatement(db, subject.organizationId, reason)]));
  return writing.then(
    () => undefined,
    (err) => log.error("refusal not recorded", { system: subject.systemKey, error: err }),
  );
}

/** The refusal reason of an upload answered `status` with `message`, or null when it is not a refusal (413, 429). */
export function refusalReason(status: number, message: string): string | null {
  if (status === 429) return "rate";
  if (status !== 413) return null;
  return /quota/.test(message) ? "quota" : "size";
}
