// The soak's end-state audit: what every system holds once traffic has stopped, checked against
// what the run saw, and the worker's log scanned for credentials and error lines.
import { MAX_PER_SYSTEM } from "./settings.mjs";
import { authAs, sha256Hex } from "./systems.mjs";

const BACKUPS = "/api/systems/backups";

/**
 * Lists every system and downloads every listed backup: retention holds, nothing unknown or
 * deleted is listed, every digest matches its bytes, each system's newest backup survives, and
 * each system gets 404 for a backup of every other system. Returns `system → listed backups`.
 */
export async function auditSystems({ call, tally }, systems) {
  const listed = new Map();
  for (const system of systems) {
    const r = await call("audit list", BACKUPS, { headers: authAs(system) }, [200]);
    if (r.status !== 200) continue;
    const backups = r.json.data.backups;
    listed.set(system, backups);
    if (backups.length > MAX_PER_SYSTEM) tally.violation(`audit: ${system.key} holds ${backups.length} backups (retention allows ${MAX_PER_SYSTEM})`);
    for (const b of backups) {
      const mine = system.uploaded.get(b.id);
      if (!mine) tally.violation(`audit: ${system.key} lists ${b.id}, which it never uploaded`);
      if (system.deleted.has(b.id)) tally.violation(`audit: ${b.id} was deleted (200) but is listed`);
      const d = await call("audit download", `${BACKUPS}/${b.id}`, { headers: authAs(system) }, [200]);
      if (d.status === 200 && (sha256Hex(d.body) !== b.sha256 || (mine && mine.sha256 !== b.sha256))) tally.violation(`audit: ${b.id} bytes do not match its digest`);
    }
    // Whatever a list showed before its upload's 201 arrived must be an upload of this system, with that digest.
    for (const [id, digest] of system.unconfirmed) {
      const mine = system.uploaded.get(id);
      if (!mine) tally.violation(`audit: ${system.key} was shown ${id}, which it never uploaded`);
      else if (mine.sha256 !== digest) tally.violation(`audit: ${id} was listed with another digest`);
    }
    // The newest backup a system uploaded and did not delete itself is never pruned.
    const newest = [...system.uploaded.keys()].filter((id) => !system.deleted.has(id)).sort().at(-1);
    if (newest && !backups.some((b) => b.id === newest)) tally.violation(`audit: ${system.key}'s newest backup ${newest} is missing`);
  }
  // Cross-system: each system tries one backup of every other system.
  for (const [system] of listed) {
    for (const [other, backups] of listed) {
      if (other === system || backups.length === 0) continue;
      await call("audit foreign", `${BACKUPS}/${backups[0].id}`, { headers: authAs(system) }, [404]);
    }
  }
  return listed;
}

/**
 * Scans the worker's log: no secret, secret part, Authorization value or stored hash may appear,
 * and in a healthy local run no request takes an error path (a failed prune, cleanup or rollback).
 * Returns `{ leaks, errorLines }`; each is also a violation.
 */
export function auditLog(log, systems, tally) {
  let leaks = 0;
  for (const s of systems) {
    const [salt, hash] = s.record.secret_sha256.split(":");
    for (const needle of [s.secret, s.secret.split(".")[1], s.authorization.slice(6), salt, hash]) {
      if (log.includes(needle)) {
        leaks++;
        tally.violation(`log: a line carries a credential or hash of ${s.key}`);
      }
    }
  }
  const errorLines = log.split("\n").filter((line) => line.includes('"level":"error"'));
  for (const line of errorLines.slice(0, 5)) tally.violation(`log: the worker logged an error: ${line.slice(0, 200)}`);
  if (errorLines.length > 5) tally.violationCount += errorLines.length - 5;
  return { leaks, errorLines: errorLines.length };
}
