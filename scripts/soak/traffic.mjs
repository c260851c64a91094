// The soak's traffic: concurrent clients picking a system and an operation at random (list,
// upload, download, ranged download, HEAD, delete, another system's backup, bad credentials),
// each answer checked as it arrives. Traffic can be paused for a quiet measurement.
import { randomBytes, randomInt } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { basicAuthorization } from "../harness/basic-auth.mjs";
import { MAX_PER_SYSTEM } from "./settings.mjs";
import { authAs, sha256Hex } from "./systems.mjs";

// The failed-login throttle allows 30 failures a minute per address; all soak traffic comes
// from loopback, so bad credentials are paced well below that.
const BAD_AUTH_EVERY_MS = 4_000;
const BACKUPS = "/api/systems/backups";

const pick = (items) => items[randomInt(items.length)];

async function opList({ call, tally }, system) {
  const inFlight = system.pending;
  const startedBefore = system.started;
  const r = await call("list", BACKUPS, { headers: authAs(system) }, [200]);
  if (r.status !== 200) return;
  const backups = r.json.data.backups;
  // Retention holds at rest; an upload in flight while the list ran may be listed just before its commit prunes.
  const allowed = MAX_PER_SYSTEM + inFlight + (system.started - startedBefore);
  if (backups.length > allowed) tally.violation(`list: ${system.key} shows ${backups.length} backups (retention allows ${MAX_PER_SYSTEM})`);
  for (const b of backups) {
    const mine = system.uploaded.get(b.id);
    if (!mine) system.unconfirmed.set(b.id, b.sha256); // its 201 may still be on the way: checked in the audit
    else if (mine.sha256 !== b.sha256 || mine.size !== b.size) tally.violation(`list: ${b.id} listed with another digest or size`);
  }
  system.known = backups.map((b) => b.id).filter((id) => system.uploaded.has(id));
}

async function opUpload({ call, tally }, system) {
  const size = randomInt(100) < 5 ? randomInt(1 << 20, 4 << 20) : randomInt(1024, 512 * 1024);
  const bytes = randomBytes(size);
  const digest = sha256Hex(bytes);
  const headers = authAs(system, { "Content-Type": "application/octet-stream", "X-Filename": `backup-${Date.now()}.tar.gz.gpg` });
  if (randomInt(2) === 0) headers["X-Checksum-SHA256"] = digest;
  tally.bytesUp += size;
  system.pending++;
  system.started++;
  let r;
  try {
    r = await call("upload", BACKUPS, { method: "POST", body: bytes, headers }, [201]);
  } finally {
    system.pending--;
  }
  if (r.status !== 201) return;
  const data = r.json.data;
  if (data.sha256 !== digest || data.size !== size) tally.violation(`upload: ${data.id} answered another digest or size`);
  system.uploaded.set(data.id, { sha256: digest, size });
  system.known.push(data.id);
}

async function opDownload(client, system, ranged) {
  const id = system.known.length ? pick(system.known) : null;
  if (!id) return opList(client, system);
  const mine = system.uploaded.get(id);
  const headers = authAs(system);
  let range = null;
  if (ranged) {
    const start = randomInt(mine.size);
    const end = Math.min(mine.size - 1, start + randomInt(65_536));
    range = [start, end];
    headers.Range = `bytes=${start}-${end}`;
  }
  // 404: pruned or deleted meanwhile (retention runs with every upload).
  const r = await client.call(ranged ? "download range" : "download", `${BACKUPS}/${id}`, { headers }, ranged ? [206, 404] : [200, 404]);
  if (r.status === 404) {
    system.known = system.known.filter((k) => k !== id);
    return;
  }
  const { tally } = client;
  if (!ranged && sha256Hex(r.body) !== mine.sha256) tally.violation(`download: ${id} bytes do not match the uploaded digest`);
  if (ranged && r.status === 206) {
    if (r.body.length !== range[1] - range[0] + 1) tally.violation(`download range: ${id} wrong length`);
    if (r.headers.get("content-range") !== `bytes ${range[0]}-${range[1]}/${mine.size}`) tally.violation(`download range: ${id} wrong Content-Range`);
  }
}

async function opHead(client, system) {
  const id = system.known.length ? pick(system.known) : null;
  if (!id) return opList(client, system);
  const r = await client.call("head", `${BACKUPS}/${id}`, { method: "HEAD", headers: authAs(system) }, [200, 404]);
  if (r.status === 200 && r.headers.get("content-length") !== String(system.uploaded.get(id).size)) client.tally.violation(`head: ${id} wrong Content-Length`);
}

async function opDelete({ call }, system) {
  const id = system.known.length ? pick(system.known) : null;
  if (!id) return;
  const r = await call("delete", `${BACKUPS}/${id}`, { method: "DELETE", headers: authAs(system) }, [200, 404]);
  system.known = system.known.filter((k) => k !== id);
  if (r.status === 200) system.deleted.add(id);
}

/** Another system's backup, asked for by this one: always 404, never its bytes, never its removal. */
async function opForeign({ call }, system, systems) {
  const others = systems.filter((s) => s !== system && s.known.length > 0);
  if (others.length === 0) return;
  const owner = pick(others);
  const id = pick(owner.known);
  const method = pick(["GET", "HEAD", "DELETE"]);
  await call("foreign attempt", `${BACKUPS}/${id}`, { method, headers: authAs(system) }, [404]);
}

let lastBadAuth = 0;
async function opBadAuth(client, system) {
  if (Date.now() - lastBadAuth < BAD_AUTH_EVERY_MS) return opList(client, system);
  lastBadAuth = Date.now();
  const wrong = pick([
    basicAuthorization(system.key, system.secret + "x"),
    basicAuthorization(`NETH-${crypto.randomUUID()}`, system.secret),
    "Basic Zm9vOmJhcg==",
    "Bearer x",
  ]);
  await client.call("bad credentials", BACKUPS, { headers: { Authorization: wrong } }, [401]);
}

const OPERATIONS = {
  list: opList,
  upload: opUpload,
  download: (client, system) => opDownload(client, system, false),
  "download range": (client, system) => opDownload(client, system, true),
  head: opHead,
  delete: opDelete,
  foreign: opForeign,
  "bad auth": opBadAuth,
};

/** An operation drawn from `mix` ([[op, weight], …]). */
function chooseOp(mix) {
  const total = mix.reduce((n, [, w]) => n + w, 0);
  let r = randomInt(total);
  for (const [op, w] of mix) if ((r -= w) < 0) return op;
  return "list";
}

/**
 * Starts `concurrency` clients sending the `mix` of operations for `systems` until `deadline`
 * (ms since the epoch) or `maxRequests`. Returns `{ done, quiesced(measure) }`: `done` settles when
 * every client has stopped; `quiesced` pauses traffic, lets requests in flight finish, runs
 * `measure()` and resumes, so that bodies in transit are not mistaken for memory the worker keeps.
 */
export function startTraffic(client, systems, { concurrency, mix, deadline, maxRequests }) {
  const quiet = { paused: null, inFlight: 0 };
  async function clientLoop() {
    while (Date.now() < deadline && client.tally.requests < maxRequests) {
      if (quiet.paused) await quiet.paused;
      const system = pick(systems);
      const op = chooseOp(mix);
      quiet.inFlight++;
      try {
        await OPERATIONS[op](client, system, systems);
      } catch (error) {
        client.tally.violation(`${op}: request failed: ${error?.message ?? error}`);
      } finally {
        quiet.inFlight--;
      }
    }
  }
  async function quiesced(measure) {
    let resume;
    quiet.paused = new Promise((resolve) => (resume = resolve));
    const settle = Date.now() + 30_000;
    while (quiet.inFlight > 0 && Date.now() < settle) await sleep(20);
    try {
      return await measure();
    } finally {
      quiet.paused = null;
      resume();
    }
  }
  const done = Promise.all(Array.from({ length: concurrency }, clientLoop)).then(() => {});
  return { done, quiesced };
}
