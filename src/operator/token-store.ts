// Operator tokens in D1 (`operator_tokens`), read on every operator request and written by the CLI.

import type { OperatorRole, OperatorTokenRecord } from "../auth/operator-token";
import { d1 } from "./d1";

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
