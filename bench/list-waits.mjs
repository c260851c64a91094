// Which storage calls the appliance's list waits for. A list is the first call of its system in
// the hour, so it also records `last_seen_at` (D1, in ctx.waitUntil). The list is replayed once
// as is, then once per call with that call's answer held back (fleet-routes.ts, probeWaits): a
// call is blocking when the response does not come while it is held. Each replay uses a fresh
// system with the same backups, so that each records its last-seen hour.
import { billed } from "./billing.mjs";

/** The appliance API's list; `protocol` may name another list of the same backups (path, credentials, how to read the answer). */
export const APPLIANCE_LIST = { path: "/api/systems/backups", auth: (sys) => sys.auth, backupsOf: (body) => body.data.backups };

/** The older protocol's list (docs/api/legacy.md) of the same backups, with the system's imported legacy credentials. */
export const LEGACY_LIST = { path: "/enterprise/api/v2/backup/", auth: (sys) => sys.legacyAuth, backupsOf: (body) => body.backups };

/** Counts and classifies the calls of a first-of-the-hour list of `backups` backups; returns the figures. */
export async function measureListWaits(bench, http, { backups, protocol = APPLIANCE_LIST }) {
  const replay = async (hold) => {
    const sys = await bench.newSystem("bench-waits");
    await bench.seedBackups(sys, backups);
    const res = await http.request("GET", `/__bench/waits${protocol.path}${hold === null ? "" : `?hold=${hold}`}`, { headers: { Authorization: protocol.auth(sys) }, keep: true });
    if (res.status !== 200) throw new Error(`list replay: ${res.status} ${res.text}`);
    const replayed = JSON.parse(res.text);
    const listed = replayed.status === 200 ? protocol.backupsOf(JSON.parse(replayed.body)).length : -1;
    if (listed !== backups) throw new Error(`list replay (hold ${hold}) answered ${replayed.status} with ${listed} backups, expected ${backups}`);
    return { sys, ...replayed };
  };
  await bench.resetCounters();
  const plain = await replay(null);
  const calls = billed(await bench.counters());
  const seen = await http.request("GET", `/__bench/activity?key=${plain.sys.systemKey}`, { keep: true });
  const lastSeenAt = JSON.parse(seen.text).last_seen_at;
  if (!lastSeenAt) throw new Error("the list did not record last_seen_at");
  const classified = [];
  for (let i = 0; i < plain.calls.length; i++) {
    const held = await replay(i);
    if (held.calls.join() !== plain.calls.join()) throw new Error(`list replay made other calls with call ${i} held: ${held.calls.join()} vs ${plain.calls.join()}`);
    classified.push({ call: plain.calls[i], blocking: !held.answered_while_held });
  }
  const blocking = classified.filter((c) => c.blocking).length;
  return { backups, blocking, background: classified.length - blocking, calls: classified, last_seen_at: lastSeenAt, billed: calls };
}
