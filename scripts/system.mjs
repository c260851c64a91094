// Operator CLI: `npm run system -- <command> …`. Straight on the stores (--local, the default,
// or --remote: KV and D1 through wrangler), or over HTTP through the operator API (--url and
// --token). The command table is below; the commands live in scripts/lib/commands-*.mjs.
import { parseArgs } from "node:util";
import { ORGANIZATION_ID_PATTERN, SYSTEM_KEY_PATTERN } from "../src/auth/secret.ts";
import * as http from "./lib/commands-http.mjs";
import * as store from "./lib/commands-store.mjs";
import { operatorDb } from "./lib/d1.mjs";
import { kvTarget, systemsKv } from "./lib/kv.mjs";
import { operatorClient } from "./lib/operator-client.mjs";
import { createOperatorToken, listOperatorTokens, revokeOperatorToken } from "./lib/operator-records.mjs";
import { fields, output, table } from "./lib/output.mjs";
import { SystemError } from "./lib/systems.mjs";
import { WranglerError } from "./harness/wrangler.mjs";

const USAGE = `Usage: npm run system -- <command> [arguments] [options]

Manage appliance systems, their backups and the operator tokens of the backup vault.

Systems (on the stores, or over HTTP):
  create --org ORG [--append-only]  make a system; prints its key and secret (shown only once)
  rotate KEY                        replace the secret of KEY; prints the new one (shown only once)
  suspend KEY                       refuse KEY's requests until it is resumed
  resume KEY                        lift a suspension
  delete KEY [--purge]              retire KEY; the record stays so the key is never reused
                                    (--purge: on the stores, removes the record; over HTTP,
                                    moves every backup of KEY into the recovery window, then
                                    removes its record)
  append-only KEY on|off            when on, KEY can upload and download but never delete backups
  show KEY                          print KEY (never its secret hash), or what makes its record malformed
  list [--org ORG]                  systems with organization and status (over HTTP: --org needed);
                                    malformed: a record the worker refuses (delete --purge removes it)
  import FILE [--overwrite]         (stores only) load records exported from the existing backend:
                                    {system_key: record} or an array of records with system_key;
                                    all are checked first, then written in one bulk put;
                                    existing keys are refused unless --overwrite

Backups and organisations (over HTTP only):
  organizations                     organisations in the token's scope, with usage
  backups KEY                       KEY's backups, newest first
  link KEY ID [--ttl SECONDS]       a download link for backup ID (default 300 s, at most 900)
  delete-backup KEY ID              delete backup ID of KEY (also for append-only systems)
  move KEY --to ORG                 move KEY and all its backups to organisation ORG
  audit ORG [--limit N]             ORG's audit trail, newest first

Operator tokens (on the stores only; the first admin token has to come from here):
  token create --name NAME --role admin|manager|reader (--org ORG ...|--all-orgs) [--expires-days N]
                                    prints the token once (op_…); only its salted hash is stored
  token list                        every token: name, role, scope, expiry, status (never a hash)
  token revoke NAME                 the token stops working at once

Target:
  --local [--persist-to DIR]        local state of \`npm start\` / \`wrangler dev\` (default;
                                    DIR defaults to .wrangler/state)
  --remote [--env ENV]              the deployed KV namespace and D1 database (wrangler.toml;
                                    --env selects a wrangler environment, local or remote)
  --url URL --token TOKEN           the operator API of the worker at URL, with an operator token
                                    (or set BACKUP_VAULT_URL and BACKUP_VAULT_TOKEN)

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
  url: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/** The command table: positional arguments, extra options, and how the command runs on the stores and over HTTP. */
const COMMANDS = {
  create: { args: [], options: { org: { type: "string" }, "append-only": { type: "boolean" } }, store: store.create, http: http.create },
  rotate: { args: ["KEY"], store: store.rotate, http: http.rotate },
  suspend: { args: ["KEY"], store: store.suspend, http: http.suspend },
  resume: { args: ["KEY"], store: store.resume, http: http.resume },
  delete: { args: ["KEY"], options: { purge: { type: "boolean" } }, store: store.remove, http: http.remove },
  "append-only": { args: ["KEY", "on|off"], store: store.appendOnly, http: http.appendOnly },
  show: { args: ["KEY"], store: store.show, http: http.show },
  list: { args: [], options: { org: { type: "string" } }, store: store.list, http: http.list },
  import: { args: ["FILE"], options: { overwrite: { type: "boolean" } }, store: store.importRecords },
  organizations: { args: [], http: http.organizations },
  backups: { args: ["KEY"], http: http.backups },
  link: { args: ["KEY", "ID"], options: { ttl: { type: "string" } }, http: http.link },
  "delete-backup": { args: ["KEY", "ID"], http: http.deleteBackup },
  move: { args: ["KEY"], options: { to: { type: "string" } }, http: http.move },
  audit: { args: ["ORG"], options: { limit: { type: "string" } }, http: http.audit },
  "token create": {
    args: [],
    options: { name: { type: "string" }, role: { type: "string" }, org: { type: "string", multiple: true }, "all-orgs": { type: "boolean" }, "expires-days": { type: "string" } },
    store: tokenCreate,
  },
  "token list": { args: [], store: tokenList },
  "token revoke": { args: ["NAME"], store: tokenRevoke },
};

/** Bad usage: the message, and exit status 2. */
class UsageError extends Error {}

async function tokenCreate({ db, options, out }) {
  if (options.name === undefined || options.role === undefined) throw new UsageError("token create needs --name NAME and --role admin|manager|reader");
  if ((options.org === undefined) === (options["all-orgs"] !== true)) throw new UsageError("token create needs --org ORG (repeatable) or --all-orgs, not both");
  const days = options["expires-days"];
  if (days !== undefined && !/^[1-9]\d{0,4}$/.test(days)) throw new UsageError("--expires-days takes a whole number of days from 1 to 99999");
  const organizations = options["all-orgs"] ? "*" : options.org;
  const created = await createOperatorToken(db, { name: options.name, role: options.role, organizations, expiresDays: days === undefined ? null : Number(days) });
  out.note(`Created operator token ${JSON.stringify(created.name)} (${created.role}). It is shown only this once; only its salted hash is stored.`);
  out.result(created, created.token);
}

async function tokenList({ db, out }) {
  const tokens = await listOperatorTokens(db);
  const rows = tokens.map((t) => [t.name, t.role, t.organizations === "*" ? "*" : t.organizations.join(","), t.expires_at ?? "-", t.status]);
  out.result(tokens, tokens.length ? table([["NAME", "ROLE", "ORGANIZATIONS", "EXPIRES", "STATUS"], ...rows]) : "No operator tokens.");
}

async function tokenRevoke({ db, args, out }) {
  const revoked = await revokeOperatorToken(db, args.NAME);
  out.result(revoked, fields(revoked));
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
  if (positionals.length > command.args.length) throw new UsageError(`${name}: unexpected argument ${JSON.stringify(positionals[command.args.length])}`);
  if (values.local && values.remote) throw new UsageError("choose --local or --remote, not both");
  if (values.remote && values["persist-to"] !== undefined) throw new UsageError("--persist-to is for --local only");
  const args = Object.fromEntries(command.args.map((arg, i) => [arg, positionals[i]]));
  if (args.KEY !== undefined && !SYSTEM_KEY_PATTERN.test(args.KEY))
    throw new UsageError(`not a system key: ${JSON.stringify(args.KEY)} (expected something like NETH-<uuid>)`);
  for (const org of [values.org, values.to, args.ORG].flat())
    if (org !== undefined && !ORGANIZATION_ID_PATTERN.test(org))
      throw new UsageError(`invalid organization id ${JSON.stringify(org)}: it must match ${ORGANIZATION_ID_PATTERN.source}`);
  return { values, args };
}

/** Where the command runs: over HTTP (--url, or BACKUP_VAULT_URL unless --local/--remote), else on the stores. */
function chooseTarget(name, command, values) {
  const onStores = values.local || values.remote || values["persist-to"] !== undefined;
  if (values.url !== undefined && onStores) throw new UsageError("choose --url, or --local/--remote, not both");
  const url = values.url ?? (onStores ? undefined : process.env.BACKUP_VAULT_URL);
  if (url === undefined) {
    if (!command.store) throw new UsageError(`${name} works over HTTP only: give --url URL --token TOKEN (or BACKUP_VAULT_URL and BACKUP_VAULT_TOKEN)`);
    const target = kvTarget({ remote: values.remote === true, env: values.env, persistTo: values["persist-to"] });
    return { run: command.store, context: { kv: systemsKv(target), db: operatorDb(target) } };
  }
  if (!command.http) throw new UsageError(`${name} works on the stores only (--local or --remote), not over HTTP`);
  const token = values.token ?? process.env.BACKUP_VAULT_TOKEN;
  if (!token) throw new UsageError("over HTTP, give --token TOKEN (or BACKUP_VAULT_TOKEN): an operator token (token create)");
  return { run: command.http, context: { api: operatorClient(url, token) } };
}

/** Runs one command line; returns the exit status. */
async function main(argv) {
  const [first, ...after] = argv;
  if (first === "--help" || first === "-h" || first === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    if (first === undefined) throw new UsageError("no command given");
    const name = first === "token" && after.length > 0 && !after[0].startsWith("-") ? `token ${after[0]}` : first;
    const rest = name === first ? after : after.slice(1);
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!command) throw new UsageError(first === "token" ? "token needs create, list or revoke" : `unknown command ${JSON.stringify(name)}`);
    const { help, values, args } = parseCommandLine(name, command, rest);
    if (help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (name === "create" && values.org === undefined) throw new UsageError("create needs --org ORG");
    if (name === "append-only" && !["on", "off"].includes(args["on|off"])) throw new UsageError(`append-only takes on or off, not ${JSON.stringify(args["on|off"])}`);
    const { run, context } = chooseTarget(name, command, values);
    await run({ ...context, args, options: values, out: output(values.json === true) });
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
