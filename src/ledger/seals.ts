// Seals: a system whose purge or move has begun (or ended) takes no new reservation and no
// commit in this organisation's ledger, whatever a stale credential cache lets through. The
// ledger is on every upload's path (reserve, then commit), so this is the strong check; a
// move's destination reserves the incoming bytes in the same step that checks the quota.

import { usageTotal } from "./totals";

/** Why a system is sealed here: a purge (for good), a move under way, or a move that took it away. */
export type SealReason = "purge" | "move" | "moved";

/** A move's reservation in its destination: one per system, so a repeated move replaces it. */
export function moveToken(systemKey: string): string {
  return `move:${systemKey}`;
}

/** How long a move's destination reservation lives (a failed move is repeated within it, or reserves again). */
export const MOVE_RESERVATION_MS = 86_400_000;

/** The seal on a system, or null when it may upload here. */
export function sealOf(sql: SqlStorage, systemKey: string): SealReason | null {
  return sql.exec<{ reason: SealReason }>("SELECT reason FROM seals WHERE system_key = ?", systemKey).toArray()[0]?.reason ?? null;
}

/**
 * Seals a system (a purge seal is never weakened by a later move seal) and returns how many of
 * its upload reservations are still open: the purge or move goes on only when none is.
 */
export function sealSystem(sql: SqlStorage, systemKey: string, reason: SealReason, now: number): number {
  sql.exec(
    `INSERT INTO seals (system_key, reason, at) VALUES (?, ?, ?)
     ON CONFLICT (system_key) DO UPDATE SET reason = excluded.reason, at = excluded.at WHERE seals.reason <> 'purge'`,
    systemKey,
    reason,
    now,
  );
  return openReservations(sql, systemKey, now);
}

/** Upload reservations of the system not yet committed, released or expired. */
export function openReservations(sql: SqlStorage, systemKey: string, now: number): number {
  return sql
    .exec<{ n: number }>("SELECT COUNT(*) AS n FROM reservations WHERE system_key = ? AND expires_at > ? AND token <> ?", systemKey, now, moveToken(systemKey))
    .one().n;
}

/**
 * Reserves a moving system's bytes in this (destination) ledger, in the same synchronous step
 * that checks them against the quota: committed + reserved + incoming. The incoming bytes are
 * those the system does not hold here yet; a repeat replaces its own earlier reservation. A
 * `moved` seal from an earlier move away is lifted; a purge seal never is.
 */
export function reserveMove(sql: SqlStorage, systemKey: string, bytes: number, quota: number, now: number): "ok" | "quota" | "purged" {
  if (sealOf(sql, systemKey) === "purge") return "purged";
  const token = moveToken(systemKey);
  const held = sql.exec<{ n: number }>("SELECT COALESCE(SUM(size), 0) AS n FROM backups WHERE system_key = ?", systemKey).one().n;
  const earlier = sql.exec<{ n: number }>("SELECT COALESCE(SUM(size), 0) AS n FROM reservations WHERE token = ?", token).one().n;
  const incoming = Math.max(0, bytes - held);
  if (quota > 0 && usageTotal(sql) - earlier + incoming > quota) return "quota";
  sql.exec("DELETE FROM reservations WHERE token = ?", token);
  sql.exec("INSERT INTO reservations VALUES (?, ?, ?, ?)", token, systemKey, incoming, now + MOVE_RESERVATION_MS);
  sql.exec("DELETE FROM seals WHERE system_key = ? AND reason = 'moved'", systemKey);
  return "ok";
}

/** Ends a move into this ledger: its reservation goes (the adopted rows now count) and the system may upload here. */
export function settleMoveIn(sql: SqlStorage, systemKey: string): void {
  sql.exec("DELETE FROM reservations WHERE token = ?", moveToken(systemKey));
  sql.exec("DELETE FROM seals WHERE system_key = ? AND reason <> 'purge'", systemKey);
}

/** Lifts a purge's seal: only for a purge undone within its recovery window (docs/recovery.md). */
export function liftPurgeSeal(sql: SqlStorage, systemKey: string): void {
  sql.exec("DELETE FROM seals WHERE system_key = ? AND reason = 'purge'", systemKey);
}
