// What the tooling reads of running processes, from Linux's /proc: which workerd belongs to a
// run, its resident memory and CPU time, and the one memory sampler the bench and the soak share.
import { readdir, readFile, readlink } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

/** Every process as `pid → { ppid, name }` (processes that end while we look are skipped). */
async function processTable() {
  const table = new Map();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
    if (m) table.set(Number(entry), { ppid: Number(m[2]), name: m[1] });
  }
  return table;
}

/** The pids of processes called `name` that descend from `rootPid` (children, grandchildren, …). */
export async function descendantsNamed(rootPid, name) {
  const table = await processTable();
  const descends = (pid) => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = table.get(p)?.ppid ?? 0, hops++) if (p === rootPid) return true;
    return false;
  };
  return [...table].filter(([pid, process]) => process.name === name && pid !== rootPid && descends(pid)).map(([pid]) => pid);
}

/** The pid of the process called `name`, descending from `rootPid`, that listens on TCP `port`. */
export async function descendantListeningOn(rootPid, name, port) {
  const candidates = await descendantsNamed(rootPid, name);
  for (const pid of candidates) if ((await listeningPorts(pid)).has(Number(port))) return pid;
  throw new Error(`no ${name} under pid ${rootPid} listens on port ${port} (candidates: ${candidates.join(", ") || "none"})`);
}

/** TCP ports a process listens on, from /proc/<pid>/net/tcp{,6} and its socket descriptors. */
async function listeningPorts(pid) {
  const inodes = new Set();
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [])) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.add(m[1]);
  }
  const ports = new Set();
  for (const table of ["tcp", "tcp6"]) {
    const text = await readFile(`/proc/${pid}/net/${table}`, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && cols[3] === "0A" && inodes.has(cols[9])) ports.add(parseInt(cols[1].split(":").pop(), 16));
    }
  }
  return ports;
}

/** Resident memory (VmRSS) of a process in KiB, or null once it is gone. */
export async function residentKiB(pid) {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) : null;
}

/** CPU time (user + system) a process has used so far, in ms (Linux counts it in 1/100 s). */
export async function cpuMs(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Samples the resident memory of the processes `pids()` names (asked again at every sample, so
 * restarted processes are followed) every `everyMs` until `stop()`, which takes a last sample and
 * returns them all: `{ t (ms since start), kib (their sum), each: [[pid, kib], …] }`.
 * Processes that are gone count 0; a sample in which every process is gone is dropped.
 */
export function sampleResidentMemory(pids, everyMs) {
  const started = Date.now();
  const samples = [];
  const stopped = new AbortController();
  const sample = async () => {
    const each = [];
    for (const pid of await pids()) each.push([pid, await residentKiB(pid)]);
    if (!each.some(([, kib]) => kib !== null)) return;
    samples.push({ t: Date.now() - started, kib: each.reduce((sum, [, kib]) => sum + (kib ?? 0), 0), each: each.map(([pid, kib]) => [pid, kib ?? 0]) });
  };
  const loop = (async () => {
    // A steady cadence: the next sample is due `everyMs` after the last was due, not after it ended.
    for (let due = Date.now(); !stopped.signal.aborted; ) {
      await sample();
      due = Math.max(due + everyMs, Date.now());
      await sleep(due - Date.now(), undefined, { signal: stopped.signal }).catch(() => {});
    }
  })();
  return {
    /** The samples so far. */
    samples,
    async stop() {
      stopped.abort();
      await loop;
      await sample();
      return samples;
    },
  };
}
