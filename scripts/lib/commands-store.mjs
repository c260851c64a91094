// The system commands run straight on the stores (--local / --remote): KV for the records,
// and D1 for each change's index row and audit event (scripts/lib/operator-records.mjs). A change
// to an existing system holds its change lease, as the worker's changes do (change-lease.mjs).
import { readFile } from "node:fs/promises";
import { refuseTombstoned, withChangeLease } from "./change-lease.mjs";
import { describeTarget } from "./kv.mjs";
import { recordImport, recordSystemChange } from "./operator-records.mjs";
import { abbreviate, fields, table } from "./output.mjs";
import { legacyIndexKey, SYSTEM_KEY_PATTERN } from "../../src/auth/secret.ts";
import { createSystem, credentialsView, hashImportedLegacySecret, recordEntries, inspectRecord, inspectStoredRecord, malformedView, parseImport, publicView, rfc3339Now, rotateSecret, SystemError, systemStatus, updateRecord } from "./systems.mjs";

export async function create({ kv, db, options, out }) {
  const { systemKey, systemSecret, record } = await createSystem(kv, options.org, { appendOnly: options["append-only"] === true });
  await recordSystemChange(db, systemKey, record, record.organization_id, "system.create");
  out.note(`Created ${systemKey} in ${describeTarget(kv.target)}. The secret is shown only this once; only its salted hash is stored.`);
  out.result(credentialsView(systemKey, systemSecret, record), fields(credentialsView(systemKey, systemSecret, record)));
}

export async function rotate({ kv, db, args, out }) {
  const { systemKey, systemSecret, record } = await withChangeLease(db, args.KEY, async (lease) => {
    refuseTombstoned(args.KEY, lease);
    const rotated = await rotateSecret(kv, args.KEY);
    await recordSystemChange(db, args.KEY, rotated.record, rotated.record.organization_id, "system.rotate", "ok", { lease });
    return rotated;
  });
  out.note(`Rotated the secret of ${systemKey} in ${describeTarget(kv.target)}; the old one no longer works. The new one is shown only this once.`);
  out.result(credentialsView(systemKey, systemSecret, record), fields(credentialsView(systemKey, systemSecret, record)));
}

/** Applies `change` to KEY's record holding its lease; a change that happened is recorded (index, audit) as `action`. */
function changeRecord(kv, db, systemKey, change, action, { outcome = "ok", allowDeleted = false, tombstone = null } = {}) {
  return withChangeLease(db, systemKey, async (lease) => {
    if (!allowDeleted) refuseTombstoned(systemKey, lease);
    const result = await updateRecord(kv, systemKey, change, { allowDeleted });
    if (result.changed) await recordSystemChange(db, systemKey, result.record, result.record.organization_id, action, outcome, { lease, tombstone });
    return result;
  });
}

export async function suspend({ kv, db, args, out }) {
  const { record, changed } = await changeRecord(kv, db, args.KEY, (r) => (r.suspended_at ? null : { ...r, suspended_at: rfc3339Now() }), "system.suspend");
  const verb = changed ? "Suspended" : "Already suspended:";
  out.result(publicView(args.KEY, record), `${verb} ${args.KEY} (since ${record.suspended_at}); its requests are refused until \`resume\`.`);
}

export async function resume({ kv, db, args, out }) {
  const { record, changed } = await changeRecord(kv, db, args.KEY, (r) => (r.suspended_at ? { ...r, suspended_at: null } : null), "system.resume");
  out.result(publicView(args.KEY, record), `${changed ? "Resumed" : "Not suspended:"} ${args.KEY} (status ${systemStatus(record)}).`);
}

export async function remove({ kv, db, args, options, out }) {
  if (options.purge) {
    await withChangeLease(db, args.KEY, async (lease) => {
      // An unknown key is an error, not a silent no-op; a malformed record (the worker refuses it) can go.
      const { record, problems } = await inspectRecord(kv, args.KEY);
      // Only a well-formed record ever had a legacy index entry (the CLI and the worker write nothing invalid).
      if (problems.length === 0) await kv.delete(legacyIndexKey(record.system_id));
      await kv.delete(args.KEY);
      const organizationId = typeof record?.organization_id === "string" ? record.organization_id : null;
      await recordSystemChange(db, args.KEY, null, organizationId, "system.purge", "ok: record removed (backups are erased by the API's purge)", { lease });
    });
    out.result({ system_key: args.KEY, purged: true }, `Purged the record of ${args.KEY}; the key could now be reused.`);
    return;
  }
  // A retire leaves the "retired" tombstone, as over the API: a change whose KV read is older than the retire still sees it.
  const { record, changed } = await changeRecord(kv, db, args.KEY, (r) => (r.deleted_at ? null : { ...r, deleted_at: rfc3339Now() }), "system.retire", { allowDeleted: true, tombstone: "retired" });
  out.result(publicView(args.KEY, record), `${changed ? "Deleted" : "Already deleted:"} ${args.KEY} (at ${record.deleted_at}); the record stays so the key is never reused.`);
}

export async function appendOnly({ kv, db, args, out }) {
  const wanted = args["on|off"] === "on";
  const { record, changed } = await changeRecord(kv, db, args.KEY, (r) => ((r.append_only === true) === wanted ? null : { ...r, append_only: wanted }), "system.append_only", { outcome: `ok: ${args["on|off"]}` });
  const effect = wanted ? "it cannot delete backups" : "it can delete its backups";
  out.result(publicView(args.KEY, record), `${changed ? "Set" : "Already"} append-only ${args["on|off"]} for ${args.KEY}: ${effect}.`);
}

export async function show({ kv, args, out }) {
  const { record, problems } = await inspectRecord(kv, args.KEY);
  const view = problems.length > 0 ? malformedView(args.KEY, record, problems) : publicView(args.KEY, record);
  out.result(view, fields({ ...view, ...(view.problems ? { problems: view.problems.join("; ") } : {}) }));
}

export async function list({ kv, out }) {
  // Only system keys: the legacy index entries (`legacy:<system_id>`) share the namespace.
  const keys = (await kv.list()).filter((key) => SYSTEM_KEY_PATTERN.test(key));
  const values = await kv.getMany(keys);
  const systems = keys.map((systemKey) => {
    const { record, problems } = inspectStoredRecord(values.get(systemKey) ?? "null");
    if (problems.length > 0) return { ...malformedView(systemKey, record, problems), append_only: false };
    return { system_key: systemKey, organization_id: record.organization_id, status: systemStatus(record), append_only: record.append_only === true };
  });
  out.note(`${systems.length} system${systems.length === 1 ? "" : "s"} in ${describeTarget(kv.target)}.`);
  const rows = systems.map((s) => [s.system_key, s.organization_id ?? "?", s.status, s.append_only ? "append-only" : ""]);
  out.result(systems, systems.length ? table([["SYSTEM KEY", "ORGANIZATION", "STATUS", ""], ...rows]) : "");
}

export async function importRecords({ kv, db, args, options, out }) {
  let text;
  try {
    text = await readFile(args.FILE, "utf8");
  } catch (error) {
    throw new SystemError(`cannot read ${args.FILE}: ${error.code ?? error.message}`);
  }
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SystemError(`${args.FILE} is not valid JSON: ${error.message}`);
  }
  // Clear legacy secrets become salted hashes before anything else looks at the records.
  const hashed = await hashLegacySecrets(parsed);
  const { records, problems } = parseImport(hashed.parsed);
  problems.unshift(...hashed.problems);
  if (problems.length > 0) {
    for (const problem of problems) out.note(`${args.FILE}: ${problem}`);
    throw new SystemError(`import refused: ${problems.length} problem${problems.length === 1 ? "" : "s"} in ${args.FILE}; nothing was written`);
  }
  if (!options.overwrite) {
    const existing = new Set(await kv.list());
    const clashes = records.map((r) => r.systemKey).filter((key) => existing.has(key));
    if (clashes.length > 0)
      throw new SystemError(`import refused: ${clashes.length} key${clashes.length === 1 ? "" : "s"} already exist${clashes.length === 1 ? "s" : ""} (${abbreviate(clashes)}); nothing was written (--overwrite replaces them)`);
  }
  const legacyIds = new Map();
  for (const { systemKey, record } of records) {
    if (legacyIds.has(record.system_id)) throw new SystemError(`import refused: ${systemKey} and ${legacyIds.get(record.system_id)} share the system_id ${record.system_id}; nothing was written`);
    legacyIds.set(record.system_id, systemKey);
  }
  await kv.bulkPut(recordEntries(records));
  await recordImport(db, records);
  const keys = records.map((r) => r.systemKey);
  out.result({ imported: keys.length, system_keys: keys }, `Imported ${keys.length} record${keys.length === 1 ? "" : "s"} into ${describeTarget(kv.target)}.`);
}

/** The import file with every clear `legacy_secret` replaced by its salted hash, and the problems found doing it. */
async function hashLegacySecrets(parsed) {
  const problems = [];
  const one = async (label, value) => {
    const { value: out, problem } = await hashImportedLegacySecret(value);
    if (problem) problems.push(`${label}: ${problem}`);
    return out;
  };
  if (Array.isArray(parsed)) return { parsed: await Promise.all(parsed.map((v, i) => one(`[${i}]`, v))), problems };
  if (typeof parsed !== "object" || parsed === null) return { parsed, problems };
  const out = {};
  for (const [key, value] of Object.entries(parsed)) out[key] = await one(key, value);
  return { parsed: out, problems };
}
