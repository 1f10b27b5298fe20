/**
 * Processes by identity, never by name: a process is (pid, start time since boot), so a pid the
 * kernel reused for someone else's process is never signalled; the processes of a lab are the
 * ones inside its network namespace (same inode of /proc/PID/ns/net).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';

export interface ProcId {
  pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks after boot). */
  start: number;
}

/** Start time of `pid`, or undefined when there is no such process. */
export function startTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and ')': fields start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(rest[19]); // field 22 overall = index 19 after the first two fields
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export function procId(pid: number): ProcId | undefined {
  const start = startTime(pid);
  return start === undefined ? undefined : { pid, start };
}

/** The process is still the one that was recorded (not gone, not a reused pid). */
export function alive(p: ProcId | undefined): boolean {
  if (!p) return false;
  const s = startTime(p.pid);
  if (s !== p.start) return false;
  // A zombie has exited; only its parent's wait() is missing.
  try {
    return !/^\S+ \(.*\) Z /.test(readFileSync(`/proc/${p.pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Inode of a network namespace file (/run/netns/NAME or /proc/PID/ns/net). */
export function netnsInode(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

/** Every process whose network namespace is the one with inode `ino`. */
export function processesInNetns(ino: number): ProcId[] {
  const out: ProcId[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    if (netnsInode(`/proc/${pid}/ns/net`) !== ino) continue;
    const p = procId(pid);
    if (p) out.push(p);
  }
  return out;
}

/** The command line of a process, for messages ("qemu-system-x86_64 -name guest=…"). */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * SIGTERM, then SIGKILL after `graceMs` for whatever still runs; resolves with the processes
 * that survived even SIGKILL (normally none).
 */
export async function stopProcesses(procs: readonly ProcId[], graceMs = 5000): Promise<ProcId[]> {
  const send = (p: ProcId, sig: NodeJS.Signals) => {
    if (!alive(p)) return;
    try {
      process.kill(p.pid, sig);
    } catch {
      /* gone meanwhile */
    }
  };
  for (const p of procs) send(p, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (Date.now() < until && procs.some(alive)) await sleep(100);
  for (const p of procs) send(p, 'SIGKILL');
  const hard = Date.now() + 5000;
  while (Date.now() < hard && procs.some(alive)) await sleep(100);
  return procs.filter(alive);
}
