// The system commands run straight on the stores (--local / --remote): KV for the records,
// and D1 for each change's index row and audit event (scripts/lib/operator-records.mjs).
import { readFile } from "node:fs/promises";
import { describeTarget } from "./kv.mjs";
import { recordImport, recordSystemChange } from "./operator-records.mjs";
import { abbreviate, fields, table } from "./output.mjs";
import { createSystem, credentialsView, loadRecord, parseImport, parseStoredRecord, publicView, rfc3339Now, rotateSecret, SystemError, systemStatus, updateRecord } from "./systems.mjs";

export async function create({ kv, db, options, out }) {
  const { systemKey, systemSecret, record } = await createSystem(kv, options.org, { appendOnly: options["append-only"] === true });
  await recordSystemChange(db, systemKey, record, record.organization_id, "system.create");
  out.note(`Created ${systemKey} in ${describeTarget(kv.target)}. The secret is shown only this once; only its salted hash is stored.`);
  out.result(credentialsView(systemKey, systemSecret, record), fields(credentialsView(systemKey, systemSecret, record)));
}

export async function rotate({ kv, db, args, out }) {
  const { systemKey, systemSecret, record } = await rotateSecret(kv, args.KEY);
  await recordSystemChange(db, systemKey, record, record.organization_id, "system.rotate");
  out.note(`Rotated the secret of ${systemKey} in ${describeTarget(kv.target)}; the old one no longer works. The new one is shown only this once.`);
  out.result(credentialsView(systemKey, systemSecret, record), fields(credentialsView(systemKey, systemSecret, record)));
}

export async function suspend({ kv, db, args, out }) {
  const { record, changed } = await updateRecord(kv, args.KEY, (r) => (r.suspended_at ? null : { ...r, suspended_at: rfc3339Now() }));
  if (changed) await recordSystemChange(db, args.KEY, record, record.organization_id, "system.suspend");
  const verb = changed ? "Suspended" : "Already suspended:";
  out.result(publicView(args.KEY, record), `${verb} ${args.KEY} (since ${record.suspended_at}); its requests are refused until \`resume\`.`);
}

export async function resume({ kv, db, args, out }) {
  const { record, changed } = await updateRecord(kv, args.KEY, (r) => (r.suspended_at ? { ...r, suspended_at: null } : null));
  if (changed) await recordSystemChange(db, args.KEY, record, record.organization_id, "system.resume");
  out.result(publicView(args.KEY, record), `${changed ? "Resumed" : "Not suspended:"} ${args.KEY} (status ${systemStatus(record)}).`);
}

export async function remove({ kv, db, args, options, out }) {
  if (options.purge) {
    const record = await loadRecord(kv, args.KEY); // an unknown key is an error, not a silent no-op
    await kv.delete(args.KEY);
    await recordSystemChange(db, args.KEY, null, record.organization_id, "system.purge", "ok: record removed (backups are erased by the API's purge)");
    out.result({ system_key: args.KEY, purged: true }, `Purged the record of ${args.KEY}; the key could now be reused.`);
    return;
  }
  const { record, changed } = await updateRecord(kv, args.KEY, (r) => (r.deleted_at ? null : { ...r, deleted_at: rfc3339Now() }), { allowDeleted: true });
  if (changed) await recordSystemChange(db, args.KEY, record, record.organization_id, "system.retire");
  out.result(publicView(args.KEY, record), `${changed ? "Deleted" : "Already deleted:"} ${args.KEY} (at ${record.deleted_at}); the record stays so the key is never reused.`);
}

export async function appendOnly({ kv, db, args, out }) {
  const wanted = args["on|off"] === "on";
  const { record, changed } = await updateRecord(kv, args.KEY, (r) => ((r.append_only === true) === wanted ? null : { ...r, append_only: wanted }));
  if (changed) await recordSystemChange(db, args.KEY, record, record.organization_id, "system.append_only", `ok: ${args["on|off"]}`);
  const effect = wanted ? "it cannot delete backups" : "it can delete its backups";
  out.result(publicView(args.KEY, record), `${changed ? "Set" : "Already"} append-only ${args["on|off"]} for ${args.KEY}: ${effect}.`);
}

export async function show({ kv, args, out }) {
  const view = publicView(args.KEY, await loadRecord(kv, args.KEY));
  out.result(view, fields(view));
}

export async function list({ kv, out }) {
  const keys = await kv.list();
  const values = await kv.getMany(keys);
  const systems = keys.map((systemKey) => {
    try {
      const record = parseStoredRecord(systemKey, values.get(systemKey) ?? "null");
      return { system_key: systemKey, organization_id: record.organization_id, status: systemStatus(record), append_only: record.append_only === true };
    } catch {
      return { system_key: systemKey, organization_id: null, status: "invalid", append_only: false };
    }
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
  const { records, problems } = parseImport(parsed);
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
  await kv.bulkPut(records.map(({ systemKey, record }) => ({ key: systemKey, value: JSON.stringify(record) })));
  await recordImport(db, records);
  const keys = records.map((r) => r.systemKey);
  out.result({ imported: keys.length, system_keys: keys }, `Imported ${keys.length} record${keys.length === 1 ? "" : "s"} into ${describeTarget(kv.target)}.`);
}
