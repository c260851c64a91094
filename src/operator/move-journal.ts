// Moves in progress (D1 `moves`): a row from a move's first step to its last, so that a move
// that failed half-way is resumed, towards the same organisation, by the next attempt.

import { ApiError } from "../errors";
import { rfc3339 } from "../platform/time";
import { d1 } from "./d1";

/** A move that has started and not finished. */
export interface MoveInProgress {
  from_org: string;
  to_org: string;
}

/** The move in progress for a system, or null. */
export async function readMoveInProgress(db: D1Database, systemKey: string): Promise<MoveInProgress | null> {
  return d1("read move", () => db.prepare("SELECT from_org, to_org FROM moves WHERE system_key = ?").bind(systemKey).first<MoveInProgress>());
}

/** Records that a move has started (idempotent for the same move); 409 when the row names another move. */
export async function startMove(db: D1Database, systemKey: string, move: MoveInProgress): Promise<void> {
  const row = await d1("start move", () =>
    db
      .prepare(
        `INSERT INTO moves (system_key, from_org, to_org, started_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (system_key) DO UPDATE SET system_key = system_key RETURNING from_org, to_org`,
      )
      .bind(systemKey, move.from_org, move.to_org, rfc3339())
      .first<MoveInProgress>(),
  );
  if (row && (row.from_org !== move.from_org || row.to_org !== move.to_org)) throw new ApiError(409, "another move of this system is in progress");
}

/** The statement that ends a move (batched with its index row and audit events). */
export function finishMoveStatement(db: D1Database, systemKey: string): D1PreparedStatement {
  return db.prepare("DELETE FROM moves WHERE system_key = ?").bind(systemKey);
}
