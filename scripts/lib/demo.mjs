// The demo system that `npm start` keeps in local KV, with its clear credentials in a file.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { recordSystemChange } from "./operator-records.mjs";
import { createSystem, credentialsView, loadRecord, secretVerifies, SystemError } from "./systems.mjs";
import { DEFAULT_PERSIST_TO, REPO_ROOT } from "../harness/wrangler.mjs";

export const DEMO_ORGANIZATION = "demo-org";

/**
 * Where the demo credentials are kept: `.wrangler/demo-system.json` for the default state,
 * inside the persist directory otherwise (so another state never clobbers the default demo).
 */
export function demoFileFor(persistTo) {
  const dir = resolve(persistTo);
  return dir === resolve(DEFAULT_PERSIST_TO) ? join(REPO_ROOT, ".wrangler", "demo-system.json") : join(dir, "demo-system.json");
}

/**
 * Returns the demo credentials {system_key, system_secret, system_id, organization_id} and whether
 * they were reused: the saved ones when their record is still in KV and the secret still verifies,
 * otherwise a new system in `demo-org`, saved to `file` (and indexed in `db`, the operator database, when given).
 */
export async function ensureDemoSystem(kv, file, db = null) {
  const saved = await readSavedCredentials(file);
  if (saved && (await stillVerifies(kv, saved))) return { credentials: saved, reused: true };
  const { systemKey, systemSecret, record } = await createSystem(kv, DEMO_ORGANIZATION);
  // Its index row and audit event, so that the operator API lists it at once.
  if (db) await recordSystemChange(db, systemKey, record, DEMO_ORGANIZATION, "system.create");
  const credentials = credentialsView(systemKey, systemSecret, record);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(credentials, null, 2) + "\n", { mode: 0o600 });
  return { credentials, reused: false };
}

/** True when the saved system is still in KV, active, and its secret matches the stored hash. */
async function stillVerifies(kv, saved) {
  try {
    return await secretVerifies(await loadRecord(kv, saved.system_key), saved.system_secret);
  } catch (error) {
    if (error instanceof SystemError) return false; // gone, malformed key or record: make a new one
    throw error;
  }
}

/** The saved credentials, or null when the file is missing or not what we wrote. */
async function readSavedCredentials(file) {
  try {
    const saved = JSON.parse(await readFile(file, "utf8"));
    return typeof saved?.system_key === "string" && typeof saved?.system_secret === "string" ? saved : null;
  } catch {
    return null;
  }
}
