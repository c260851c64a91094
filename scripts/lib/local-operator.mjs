// What `npm start` keeps for the operator plane in local state: the D1 schema, the signing
// secret of download links in .dev.vars, and a local admin token saved beside the demo system.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { verifyOperatorToken } from "../../src/auth/operator-token.ts";
import { sqlLiteral as q, operatorDb } from "./d1.mjs";
import { kvTarget } from "./kv.mjs";
import { createOperatorToken, revokeOperatorToken } from "./operator-records.mjs";
import { DEFAULT_PERSIST_TO, REPO_ROOT } from "../harness/wrangler.mjs";

/** The name of the token `npm start` makes; a new one replaces it when it no longer verifies. */
export const LOCAL_ADMIN_NAME = "local-admin";

/** Where the local admin token is kept: `.wrangler/operator-token.json`, or inside a custom persist directory. */
export function localTokenFileFor(persistTo = DEFAULT_PERSIST_TO) {
  const dir = resolve(persistTo);
  return dir === resolve(DEFAULT_PERSIST_TO) ? join(REPO_ROOT, ".wrangler", "operator-token.json") : join(dir, "operator-token.json");
}

/**
 * The local all-organisation admin token of `npm start` (for the browser console and curl):
 * the saved one while it still verifies against the local D1, else a new one, saved.
 * Applies the D1 migrations first. Returns {token, name, reused}.
 * @example const { token } = await ensureLocalAdminToken({ persistTo: ".wrangler/state" });
 */
export async function ensureLocalAdminToken({ persistTo = DEFAULT_PERSIST_TO, env } = {}) {
  const db = operatorDb(kvTarget({ persistTo, env }));
  await db.migrate();
  const file = localTokenFileFor(persistTo);
  const saved = await readJson(file);
  const publicId = /^op_([0-9a-f]{16})\./.exec(saved?.token ?? "")?.[1] ?? "";
  // One read: the saved token's row, and the live token of that name if it is another one.
  const rows = await db.query(`SELECT * FROM operator_tokens WHERE public_id = ${q(publicId)} OR (name = ${q(LOCAL_ADMIN_NAME)} AND revoked_at IS NULL)`);
  const savedRow = rows.find((r) => r.public_id === publicId);
  if (savedRow && (await verifies(savedRow, saved.token))) return { token: saved.token, name: saved.name, reused: true };
  if (rows.some((r) => r.name === LOCAL_ADMIN_NAME && !r.revoked_at)) await revokeOperatorToken(db, LOCAL_ADMIN_NAME); // its clear token is lost: replace it
  const created = await createOperatorToken(db, { name: LOCAL_ADMIN_NAME, role: "admin", organizations: "*", expiresDays: null });
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify({ token: created.token, name: created.name }, null, 2) + "\n", { mode: 0o600 });
  return { token: created.token, name: created.name, reused: false };
}

/** Makes sure `.dev.vars` gives `wrangler dev` a DOWNLOAD_LINK_SECRET (a random one, kept); returns true when it wrote one. */
export async function ensureLocalLinkSecret(file = join(REPO_ROOT, ".dev.vars")) {
  let text = "";
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if (error.code !== "ENOENT") throw error;
  }
  if (/^DOWNLOAD_LINK_SECRET\s*=/m.test(text)) return false;
  const line = `DOWNLOAD_LINK_SECRET="${randomBytes(32).toString("base64url")}"\n`;
  await writeFile(file, (text && !text.endsWith("\n") ? text + "\n" : text) + line, { mode: 0o600 });
  return true;
}

function verifies(row, token) {
  const organizations = row.organizations === "*" ? "*" : JSON.parse(row.organizations);
  return verifyOperatorToken({ ...row, organizations }, token);
}

async function readJson(file) {
  try {
    return JSON.parse(await readFile(file, "utf8"));
  } catch {
    return null;
  }
}
