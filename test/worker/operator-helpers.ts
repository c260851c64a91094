// Test helpers for the operator plane: tokens written straight into the local D1 (as the CLI
// writes them), and a client that calls /api/admin with a Bearer token.

import { env } from "cloudflare:workers";
import { generateOperatorToken, type OperatorRole } from "../../src/auth/operator-token";
import { send, type Overrides } from "./helpers";

export const ADMIN = "https://vault.test/api/admin";

export interface TestOperator {
  token: string;
  name: string;
  role: OperatorRole;
  authorization: string;
}

/** Stores a new operator token in D1 and returns it in the clear. */
export async function newOperator(
  role: OperatorRole,
  organizations: string[] | "*",
  options: { expiresDays?: number; revoked?: boolean; expiresAt?: string } = {},
): Promise<TestOperator> {
  const name = `${role}-${crypto.randomUUID().slice(0, 8)}`;
  const { token, record } = await generateOperatorToken({ name, role, organizations, expiresDays: options.expiresDays });
  const expires = options.expiresAt ?? record.expires_at;
  await env.OPERATOR_DB.prepare("INSERT INTO operator_tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    .bind(
      record.public_id,
      name,
      role,
      organizations === "*" ? "*" : JSON.stringify(record.organizations),
      record.secret_sha256,
      record.created_at,
      expires,
      options.revoked ? record.created_at : null,
    )
    .run();
  return { token, name, role, authorization: `Bearer ${token}` };
}

/** Calls the operator API: `path` is below /api/admin (with its query), `body` is sent as JSON. */
export function admin(operator: TestOperator | null, method: string, path: string, body?: unknown, overrides?: Overrides): Promise<Response> {
  const headers: Record<string, string> = {};
  if (operator) headers.Authorization = operator.authorization;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return send(new Request(ADMIN + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }), overrides);
}
