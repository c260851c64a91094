// Operator tokens in D1 (`operator_tokens`), read on every operator request, written by the CLI
// (scripts/lib/operator-records.mjs, the first admin token) and by `/api/admin/tokens`.

import type { OperatorRole, OperatorTokenRecord } from "../auth/operator-token";
import { auditStatement, type AuditEvent } from "./audit";
import { d1, decodeCursor, encodeCursor } from "./d1";

interface TokenRow {
  public_id: string;
  name: string;
  role: OperatorRole;
  organizations: string;
  secret_sha256: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

/** The token record with this public id, or null (one indexed read; D1 failure → 503). */
export async function readOperatorToken(db: D1Database, publicId: string): Promise<OperatorTokenRecord | null> {
  const row = await d1("read token", () => db.prepare("SELECT * FROM operator_tokens WHERE public_id = ?").bind(publicId).first<TokenRow>());
  return row ? fromRow(row) : null;
}

function fromRow(row: TokenRow): OperatorTokenRecord | null {
  let organizations: string[] | "*";
  if (row.organizations === "*") organizations = "*";
  else {
    try {
      const parsed: unknown = JSON.parse(row.organizations);
      if (!Array.isArray(parsed) || !parsed.every((o) => typeof o === "string")) return null;
      organizations = parsed;
    } catch {
      return null; // a damaged row authenticates nobody
    }
  }
  return { ...row, organizations };
}

/** Tokens whose every organisation lies in `scope` (all of them for `*`), by name, one page; null for a cursor not ours. */
export async function listScopedOperatorTokens(
  db: D1Database,
  scope: string[] | "*",
  page: { limit: number; cursor: string | null },
): Promise<{ tokens: OperatorTokenRecord[]; cursor: string | null } | null> {
  const after = page.cursor === null ? ["", ""] : parseNameCursor(page.cursor);
  if (!after) return null;
  // One read over `operator_tokens_by_name` (migration 0007); a scoped caller's filter runs in SQL, so a page is full
  // whatever the other scopes hold. A damaged scope (not JSON) is never in anyone's narrower scope.
  const { results } = await d1("list tokens", () =>
    db
      .prepare(
        `SELECT * FROM operator_tokens INDEXED BY operator_tokens_by_name WHERE (name, public_id) > (?, ?)
           AND (?3 = '*' OR (organizations != '*' AND json_valid(organizations)
                AND NOT EXISTS (SELECT 1 FROM json_each(operator_tokens.organizations) AS o WHERE o.value NOT IN (SELECT value FROM json_each(?3)))))
         ORDER BY name, public_id LIMIT ?`,
      )
      .bind(after[0], after[1], scope === "*" ? "*" : JSON.stringify(scope), page.limit + 1)
      .all<TokenRow>(),
  );
  const rows = results.slice(0, page.limit);
  const tokens = rows.map(fromRow).filter((t): t is OperatorTokenRecord => t !== null);
  const last = rows[rows.length - 1];
  return { tokens, cursor: results.length > page.limit ? encodeCursor(JSON.stringify([last.name, last.public_id])) : null };
}

/** A token page's cursor: `["<name>","<public id>"]`; names may hold spaces (OPERATOR_TOKEN_NAME_PATTERN). */
const TOKEN_CURSOR_SHAPE = /^\["[\x20-\x7e]{1,200}"\]$/;

function parseNameCursor(cursor: string): [string, string] | null {
  try {
    const parsed: unknown = JSON.parse(decodeCursor(cursor, TOKEN_CURSOR_SHAPE) ?? "");
    return Array.isArray(parsed) && parsed.length === 2 && parsed.every((p) => typeof p === "string") ? (parsed as [string, string]) : null;
  } catch {
    return null;
  }
}

/** The live (not revoked) token of that name, or null (the partial unique index on live names). */
export async function readLiveOperatorTokenByName(db: D1Database, name: string): Promise<OperatorTokenRecord | null> {
  const row = await d1("read token by name", () => db.prepare("SELECT * FROM operator_tokens WHERE name = ? AND revoked_at IS NULL").bind(name).first<TokenRow>());
  return row ? fromRow(row) : null;
}

/**
 * Stores a new token with its audit events in one batch (both or neither). False when a live
 * token already has that name (the unique index on live names refused it): nothing was written.
 */
export async function insertOperatorToken(db: D1Database, record: OperatorTokenRecord, audit: AuditEvent[]): Promise<boolean> {
  const scope = record.organizations === "*" ? "*" : JSON.stringify(record.organizations);
  const insert = db
    .prepare("INSERT INTO operator_tokens (public_id, name, role, organizations, secret_sha256, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)")
    .bind(record.public_id, record.name, record.role, scope, record.secret_sha256, record.created_at, record.expires_at);
  return d1("create token", async () => {
    try {
      await db.batch([insert, ...audit.map((e) => auditStatement(db, e))]);
      return true;
    } catch (err) {
      if (/UNIQUE constraint failed: operator_tokens\.name/.test(String((err as { cause?: unknown }).cause ?? err))) return false;
      throw err;
    }
  });
}

/** Revokes a token (it stops working on the next request: every request reads D1) with its audit events, in one batch. */
export async function revokeOperatorTokenRecord(db: D1Database, publicId: string, revokedAt: string, audit: AuditEvent[]): Promise<void> {
  const update = db.prepare("UPDATE operator_tokens SET revoked_at = ? WHERE public_id = ? AND revoked_at IS NULL").bind(revokedAt, publicId);
  await d1("revoke token", () => db.batch([update, ...audit.map((e) => auditStatement(db, e))]));
}
