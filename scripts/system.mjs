// Operator CLI for system credentials in the SYSTEMS KV namespace: `npm run system -- <command> …`.
// The command table is below; KV access is scripts/lib/kv.mjs, record logic scripts/lib/systems.mjs.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { describeTarget, kvTarget, systemsKv } from "./lib/kv.mjs";
import { ORGANIZATION_ID_PATTERN, SYSTEM_KEY_PATTERN } from "../src/auth/secret.ts";
import {
  createSystem,
  credentialsView,
  inspectRecord,
  inspectStoredRecord,
  malformedView,
  parseImport,
  publicView,
  rfc3339Now,
  rotateSecret,
  SystemError,
  systemStatus,
  updateRecord,
} from "./lib/systems.mjs";
import { WranglerError } from "./harness/wrangler.mjs";

const USAGE = `Usage: npm run system -- <command> [arguments] [options]

Manage the credentials of appliance systems (records in the SYSTEMS KV namespace).

Commands:
  create --org ORG [--append-only]  make a system; prints its key and secret (shown only once)
  rotate KEY                        replace the secret of KEY; prints the new one (shown only once)
  suspend KEY                       refuse KEY's requests until it is resumed
  resume KEY                        lift a suspension
  delete KEY [--purge]              retire KEY; the record stays so the key is never reused
                                    (--purge removes the record entirely)
  append-only KEY on|off            when on, KEY can upload and download but never delete backups
  show KEY                          print KEY's record (never its secret hash), or what makes it malformed
  list                              every system key with its organization and status (malformed:
                                    a record the worker refuses; delete --purge removes it)
  import FILE [--overwrite]         load records exported from the existing backend: a JSON object
                                    {system_key: record} or an array of records with a system_key
                                    field; all are checked first, then written in one bulk put;
                                    existing keys are refused unless --overwrite

Target (as wrangler names them):
  --local [--persist-to DIR]        local state of \`npm start\` / \`wrangler dev\` (default;
                                    DIR defaults to .wrangler/state)
  --remote [--env ENV]              the deployed namespace bound as SYSTEMS in wrangler.toml
                                    (--env selects a wrangler environment, local or remote)

Options:
  --json                            machine-readable output on stdout, messages on stderr
                                    (use \`npm run -s system -- …\` to keep npm's banner off stdout)
  -h, --help                        show this text

Exit status: 0 done, 1 refused or failed (nothing half-written), 2 bad usage.
`;

/** Options every command accepts: the target and the output format. */
const COMMON_OPTIONS = {
  local: { type: "boolean" },
  remote: { type: "boolean" },
  "persist-to": { type: "string" },
  env: { type: "string", short: "e" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/** The command table: positional arguments, extra options, and the function that runs the command. */
const COMMANDS = {
  create: { args: [], options: { org: { type: "string" }, "append-only": { type: "boolean" } }, run: create },
  rotate: { args: ["KEY"], run: rotate },
  suspend: { args: ["KEY"], run: suspend },
  resume: { args: ["KEY"], run: resume },
  delete: { args: ["KEY"], options: { purge: { type: "boolean" } }, run: remove },
  "append-only": { args: ["KEY", "on|off"], run: appendOnly },
  show: { args: ["KEY"], run: show },
  list: { args: [], run: list },
  import: { args: ["FILE"], options: { overwrite: { type: "boolean" } }, run: importRecords },
};

/** Bad usage: the message, and exit status 2. */
class UsageError extends Error {}

async function create({ kv, options, out }) {
  if (options.org === undefined) throw new UsageError("create needs --org ORG");
  if (!ORGANIZATION_ID_PATTERN.test(options.org))
    throw new UsageError(`invalid organization id ${JSON.stringify(options.org)}: it must match ${ORGANIZATION_ID_PATTERN.source}`);
  const { systemKey, systemSecret, record } = await createSystem(kv, options.org, { appendOnly: options["append-only"] === true });
  out.note(`Created ${systemKey} in ${describeTarget(kv.target)}. The secret is shown only this once; only its salted hash is stored.`);
  out.result(credentialsView(systemKey, systemSecret, record), fields(credentialsView(systemKey, systemSecret, record)));
}

async function rotate({ kv, args, out }) {
  const { systemKey, systemSecret, record } = await rotateSecret(kv, args.KEY);
  out.note(`Rotated the secret of ${systemKey} in ${describeTarget(kv.target)}; the old one no longer works. The new one is shown only this once.`);
  out.result(credentialsView(systemKey, systemSecret, record), fields(credentialsView(systemKey, systemSecret, record)));
}

async function suspend({ kv, args, out }) {
  const { record, changed } = await updateRecord(kv, args.KEY, (r) => (r.suspended_at ? null : { ...r, suspended_at: rfc3339Now() }));
  const verb = changed ? "Suspended" : "Already suspended:";
  out.result(publicView(args.KEY, record), `${verb} ${args.KEY} (since ${record.suspended_at}); its requests are refused until \`resume\`.`);
}

async function resume({ kv, args, out }) {
  const { record, changed } = await updateRecord(kv, args.KEY, (r) => (r.suspended_at ? { ...r, suspended_at: null } : null));
  out.result(publicView(args.KEY, record), `${changed ? "Resumed" : "Not suspended:"} ${args.KEY} (status ${systemStatus(record)}).`);
}

async function remove({ kv, args, options, out }) {
  if (options.purge) {
    await inspectRecord(kv, args.KEY); // an unknown key is an error, not a silent no-op; a malformed one can go
    await kv.delete(args.KEY);
    out.result({ system_key: args.KEY, purged: true }, `Purged the record of ${args.KEY}; the key could now be reused.`);
    return;
  }
  const { record, changed } = await updateRecord(kv, args.KEY, (r) => (r.deleted_at ? null : { ...r, deleted_at: rfc3339Now() }), { allowDeleted: true });
  out.result(publicView(args.KEY, record), `${changed ? "Deleted" : "Already deleted:"} ${args.KEY} (at ${record.deleted_at}); the record stays so the key is never reused.`);
}

async function appendOnly({ kv, args, out }) {
  const setting = args["on|off"];
  if (setting !== "on" && setting !== "off") throw new UsageError(`append-only takes on or off, not ${JSON.stringify(setting)}`);
  const wanted = setting === "on";
  const { record, changed } = await updateRecord(kv, args.KEY, (r) => ((r.append_only === true) === wanted ? null : { ...r, append_only: wanted }));
  const effect = wanted ? "it cannot delete backups" : "it can delete its backups";
  out.result(publicView(args.KEY, record), `${changed ? "Set" : "Already"} append-only ${setting} for ${args.KEY}: ${effect}.`);
}

async function show({ kv, args, out }) {
  const { record, problems } = await inspectRecord(kv, args.KEY);
  const view = problems.length > 0 ? malformedView(args.KEY, record, problems) : publicView(args.KEY, record);
  out.result(view, fields({ ...view, ...(view.problems ? { problems: view.problems.join("; ") } : {}) }));
}

async function list({ kv, out }) {
  const keys = await kv.list();
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

async function importRecords({ kv, args, options, out }) {
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
  const keys = records.map((r) => r.systemKey);
  out.result({ imported: keys.length, system_keys: keys }, `Imported ${keys.length} record${keys.length === 1 ? "" : "s"} into ${describeTarget(kv.target)}.`);
}

/** `name  value` lines, for one record or one set of credentials. */
function fields(object) {
  const width = Math.max(...Object.keys(object).map((k) => k.length));
  return Object.entries(object)
    .map(([key, value]) => `${key.padEnd(width)}  ${value === null || value === undefined ? "-" : String(value)}`)
    .join("\n");
}

function table(rows) {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => String(row[column]).length)));
  return rows.map((row) => row.map((cell, column) => String(cell).padEnd(widths[column])).join("  ").trimEnd()).join("\n");
}

function abbreviate(keys, max = 5) {
  return keys.length <= max ? keys.join(", ") : `${keys.slice(0, max).join(", ")}, … ${keys.length - max} more`;
}

/** Output: `result` is the command's answer (JSON or text on stdout), `note` a message for the operator (stderr). */
function output(json) {
  return {
    result(value, text) {
      if (json) process.stdout.write(JSON.stringify(value, null, 2) + "\n");
      else if (text) process.stdout.write(text + "\n");
    },
    note(message) {
      process.stderr.write(message + "\n");
    },
  };
}

/** Parses the arguments of one command strictly: unknown flags, missing values and extra words are usage errors. */
function parseCommandLine(name, command, argv) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
  } catch (error) {
    if (!String(error.code).startsWith("ERR_PARSE_ARGS")) throw error;
    const missingValue = /^Option '(--[\w-]+)[^']*' argument (missing|is ambiguous)/.exec(error.message);
    if (missingValue) throw new UsageError(`${name}: ${missingValue[1]} needs a value`);
    throw new UsageError(`${name}: ${error.message.split("\n")[0].split(". ")[0].replace(/\.$/, "")}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };
  if (positionals.length < command.args.length) throw new UsageError(`${name} needs ${command.args.join(" ")}`);
  if (positionals.length > command.args.length)
    throw new UsageError(`${name}: unexpected argument ${JSON.stringify(positionals[command.args.length])}`);
  if (values.local && values.remote) throw new UsageError("choose --local or --remote, not both");
  if (values.remote && values["persist-to"] !== undefined) throw new UsageError("--persist-to is for --local only");
  const args = Object.fromEntries(command.args.map((arg, i) => [arg, positionals[i]]));
  if (args.KEY !== undefined && !SYSTEM_KEY_PATTERN.test(args.KEY))
    throw new UsageError(`not a system key: ${JSON.stringify(args.KEY)} (expected something like NETH-<uuid>)`);
  return { values, args };
}

/** Runs one command line; returns the exit status. */
async function main(argv) {
  const [name, ...rest] = argv;
  if (name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    if (name === undefined) throw new UsageError("no command given");
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    const { help, values, args } = parseCommandLine(name, command, rest);
    if (help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const kv = systemsKv(kvTarget({ remote: values.remote === true, env: values.env, persistTo: values["persist-to"] }));
    await command.run({ kv, args, options: values, out: output(values.json === true) });
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`system: ${error.message} (see --help)\n`);
      return 2;
    }
    if (error instanceof SystemError || error instanceof WranglerError) {
      process.stderr.write(`system: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`system: unexpected error: ${error?.stack ?? error}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
