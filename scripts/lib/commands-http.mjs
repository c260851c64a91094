// The system and backup commands over HTTP (--url URL --token TOKEN, or BACKUP_VAULT_URL and
// BACKUP_VAULT_TOKEN): every one is a call to the operator API, checked and audited there.
import { fields, table } from "./output.mjs";
import { SystemError } from "./systems.mjs";

const path = encodeURIComponent;

export async function create({ api, options, out }) {
  const created = await api.call("POST", `/organizations/${path(options.org)}/systems`, { append_only: options["append-only"] === true });
  out.note(`Created ${created.system_key} through ${api.origin}. The secret is shown only this once; only its salted hash is stored.`);
  out.result(created, fields(created));
}

export async function rotate({ api, args, out }) {
  const rotated = await api.call("POST", `/systems/${path(args.KEY)}/rotate`);
  out.note(`Rotated the secret of ${args.KEY}; the old one no longer works. The new one is shown only this once.`);
  out.result(rotated, fields(rotated));
}

export const suspend = systemAction("POST", "suspend", "Suspended");
export const resume = systemAction("POST", "resume", "Resumed");

export async function remove({ api, args, options, out }) {
  const result = await api.call("DELETE", `/systems/${path(args.KEY)}${options.purge ? "?purge=true" : ""}`);
  const text = options.purge
    ? `Purged ${args.KEY}: its credentials no longer work, ${result.objects_deleted} objects left it; its backups stay recoverable until ${result.recoverable_until} (POST /api/admin/systems/${args.KEY}/restore undoes the purge).`
    : `Retired ${args.KEY}; the key is never reused.`;
  out.result(result, text);
}

export async function appendOnly({ api, args, out }) {
  const system = await api.call("PATCH", `/systems/${path(args.KEY)}`, { append_only: args["on|off"] === "on" });
  out.result(system, fields(system));
}

export async function show({ api, args, out }) {
  const system = await api.call("GET", `/systems/${path(args.KEY)}`);
  out.result(system, fields(system));
}

export async function list({ api, options, out }) {
  if (options.org === undefined) throw new SystemError("over HTTP, list needs --org ORG (organizations lists the organisations)");
  const systems = await api.all(`/organizations/${path(options.org)}/systems`, "systems");
  const rows = systems.map((s) => [s.system_key, s.status, s.append_only ? "append-only" : "", s.backups, s.bytes_used, s.last_backup_at ?? "-"]);
  out.result(systems, systems.length ? table([["SYSTEM KEY", "STATUS", "", "BACKUPS", "BYTES", "LAST BACKUP"], ...rows]) : `No systems in ${options.org}.`);
}

export async function organizations({ api, out }) {
  const orgs = await api.all("/organizations", "organizations");
  const rows = orgs.map((o) => [o.organization_id, o.systems, o.backups, o.bytes_used, o.quota_bytes ?? "-"]);
  out.result(orgs, orgs.length ? table([["ORGANIZATION", "SYSTEMS", "BACKUPS", "BYTES", "QUOTA"], ...rows]) : "No organisations in scope.");
}

export async function backups({ api, args, out }) {
  const data = await api.call("GET", `/systems/${path(args.KEY)}/backups`);
  const rows = data.backups.map((b) => [b.id, b.filename, b.size, b.uploaded_at]);
  out.result(data, data.backups.length ? table([["ID", "FILENAME", "SIZE", "UPLOADED"], ...rows]) : `No backups for ${args.KEY}.`);
}

export async function deleteBackup({ api, args, out }) {
  const data = await api.call("DELETE", `/systems/${path(args.KEY)}/backups/${path(args.ID)}`);
  out.result(data, `Deleted backup ${args.ID} of ${args.KEY}.`);
}

export async function link({ api, args, options, out }) {
  const data = await api.call("POST", `/systems/${path(args.KEY)}/backups/${path(args.ID)}/link${options.ttl ? `?ttl=${path(options.ttl)}` : ""}`);
  out.note(`Valid until ${data.expires_at} (${data.expires_in_seconds} s); needs no other credential: curl -fo backup "<url>"`);
  out.result(data, data.download_url);
}

export async function move({ api, args, options, out }) {
  if (options.to === undefined) throw new SystemError("move needs --to ORG");
  const system = await api.call("POST", `/systems/${path(args.KEY)}/move`, { organization_id: options.to });
  out.result(system, `Moved ${args.KEY} and its ${system.backups} backups to ${system.organization_id}.`);
}

export async function audit({ api, args, options, out }) {
  const data = await api.call("GET", `/organizations/${path(args.ORG)}/audit?limit=${path(options.limit ?? "100")}`);
  const rows = data.events.map((e) => [e.at, e.actor, e.action, e.target, e.outcome]);
  out.result(data.events, data.events.length ? table([["AT", "ACTOR", "ACTION", "TARGET", "OUTCOME"], ...rows]) : `No events for ${args.ORG}.`);
}

function systemAction(method, action, verb) {
  return async ({ api, args, out }) => {
    const system = await api.call(method, `/systems/${path(args.KEY)}/${action}`);
    out.result(system, `${verb} ${args.KEY} (status ${system.status}).`);
  };
}
