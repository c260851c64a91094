// What `npm start` passes to `wrangler dev` and prints for the user; pure functions of the user's arguments.
import { relative } from "node:path";
import { DEFAULT_PERSIST_TO, REPO_ROOT } from "../harness/wrangler.mjs";

/** Loopback and the default local state, unless the user sets them. */
export const DEV_DEFAULTS = { ip: "127.0.0.1", port: "8787", "persist-to": relative(REPO_ROOT, DEFAULT_PERSIST_TO) };

/** The value of `--name VALUE` or `--name=VALUE` (or `-a VALUE` for an alias) in the user's arguments, if given. */
export function flagValue(args, name, alias) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}` || (alias && args[i] === `-${alias}`)) return args[i + 1];
    if (args[i].startsWith(`--${name}=`)) return args[i].slice(name.length + 3);
  }
  return undefined;
}

/** Whether a boolean flag such as `--remote` (or its alias) is set in the user's arguments. */
export function hasFlag(args, name, alias) {
  return args.some((a) => a === `--${name}` || a === `--${name}=true` || (alias && a === `-${alias}`));
}

/** The arguments for `wrangler dev`: our loopback defaults for whatever the user did not set, then theirs. */
export function devArguments(userArgs) {
  const args = ["dev"];
  for (const [name, value] of Object.entries(DEV_DEFAULTS)) {
    if (name === "persist-to" && hasFlag(userArgs, "remote", "r")) continue;
    if (flagValue(userArgs, name) === undefined) args.push(`--${name}`, value);
  }
  // Local alert receivers are plain http (https only, except for local development), and the
  // cron can be run as if at any time (/cdn-cgi/local/scheduled?time=…, docs/fleet-health.md).
  if (!hasFlag(userArgs, "remote", "r")) args.push("--var", "ALERT_ALLOW_HTTP:1");
  if (!hasFlag(userArgs, "test-scheduled")) args.push("--test-scheduled");
  return [...args, ...userArgs];
}

/** The origin `wrangler dev` serves on, as a browser or curl reaches it (a wildcard listen address via loopback). */
export function localOrigin(userArgs) {
  const protocol = flagValue(userArgs, "local-protocol") ?? "http";
  let host = flagValue(userArgs, "ip") ?? DEV_DEFAULTS.ip;
  if (host === "0.0.0.0" || host === "*") host = "127.0.0.1";
  else if (host === "::" || host === "[::]") host = "::1";
  if (host.includes(":") && !host.startsWith("[")) host = `[${host}]`;
  const port = flagValue(userArgs, "port") ?? DEV_DEFAULTS.port;
  return `${protocol}://${host}:${port}`;
}

/** The base URL the curl examples use. */
export function apiBase(userArgs) {
  return `${localOrigin(userArgs)}/api/systems/backups`;
}

/** The operator console's address (static assets under /console/). */
export function consoleUrl(userArgs) {
  return `${localOrigin(userArgs)}/console/`;
}

/** The copy-paste walkthrough: the appliance script's exact curl options, one call per endpoint. */
export function walkthrough({ system_key, system_secret }, base, insecure = false) {
  const curl = `curl --silent --location-trusted --fail-with-body${insecure ? " --insecure" : ""} --user "$AUTH"`;
  return [
    `  BASE=${base}`,
    `  AUTH=${system_key}:${system_secret}`,
    ``,
    `  # list the backups (the envelope, then just the list as the appliance reads it)`,
    `  ${curl} "$BASE"`,
    `  ${curl} "$BASE" | jq .data.backups`,
    ``,
    `  # upload (any bytes will do; the appliances send GPG-encrypted archives)`,
    `  head -c 4096 /dev/urandom > backup.tar.gz.gpg`,
    `  ${curl} -X POST -H "Content-Type: application/octet-stream" -H "X-Filename: backup-$(date +%s).tar.gz.gpg" --data-binary @backup.tar.gz.gpg "$BASE"`,
    ``,
    `  # download the newest one, then delete it`,
    `  ID=$(${curl} "$BASE" | jq -r '.data.backups[0].id')`,
    `  ${curl} -o restored.gpg "$BASE/$ID"`,
    `  ${curl} -X DELETE "$BASE/$ID"`,
  ].join("\n");
}

/** The operator walkthrough: the admin token, the demo system over the operator API, and a link downloaded with plain curl. */
export function operatorWalkthrough(token, base, { system_key, organization_id }) {
  const admin = base.replace(/\/api\/systems\/backups$/, "/api/admin");
  const curl = `curl --silent --fail-with-body -H "Authorization: Bearer $TOKEN"`;
  return [
    `  TOKEN=${token}`,
    `  ADMIN=${admin}`,
    ``,
    `  ${curl} "$ADMIN/organizations/${organization_id}/systems" | jq .data.systems`,
    `  # a link to the newest backup (upload one first, as above), downloaded with no credential`,
    `  ID=$(${curl} "$ADMIN/systems/${system_key}/backups" | jq -r '.data.backups[0].id')`,
    `  URL=$(${curl} -X POST "$ADMIN/systems/${system_key}/backups/$ID/link" | jq -r .data.download_url)`,
    `  curl --fail -o restored.gpg "$URL"`,
    `  # or with the CLI: npm run system -- list --org ${organization_id} --url ${admin.replace(/\/api\/admin$/, "")} --token "$TOKEN"`,
  ].join("\n");
}
