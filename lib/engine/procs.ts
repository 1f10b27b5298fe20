/**
 * Processes by identity, not by pid alone: a pid is recycled once its process is gone, so
 * everything geneve-lab records about a process (the owner of a lab, a check's tcpdump) is the
 * pair (pid, start time). Start time is field 22 of /proc/PID/stat (clock ticks since boot):
 * a recycled pid has a later one, so a dead process is never mistaken for a live one, and we
 * never signal a stranger that inherited the number.
 */
import { readFileSync } from 'node:fs';

export interface ProcessId {
  pid: number;
  /** /proc/PID/stat field 22; absent in records written before it was kept. */
  start?: number;
}

/** The start time of a process of this machine, or undefined when there is no such process. */
export function processStartTime(pid: number): number | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 (comm) is in parentheses and may itself contain spaces and parentheses: the fields
  // after it start after the LAST ')'. Field 3 (state) is then the first, so 22 is index 19.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (rest[0] === 'Z' || rest[0] === 'X') return undefined; // a zombie has finished
  const start = Number(rest[19]);
  return Number.isFinite(start) ? start : undefined;
}

/** This process, as recorded in state and lock files. */
export function selfId(): ProcessId {
  const start = processStartTime(process.pid);
  return { pid: process.pid, ...(start !== undefined ? { start } : {}) };
}

/**
 * Whether the recorded process still runs (same pid AND same start time). Without a recorded
 * start time, whether some process has the pid (the best an old record allows).
 */
export function processAlive(p: ProcessId | undefined): boolean {
  if (!p) return false;
  const now = processStartTime(p.pid);
  if (now === undefined) return false;
  return p.start === undefined || p.start === now;
}

/** Signal a recorded process only if it is still that process (never a recycled pid). */
export function signalProcess(p: ProcessId, signal: NodeJS.Signals): boolean {
  if (!processAlive(p)) return false;
  try {
    process.kill(p.pid, signal);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, up to `graceMs` to exit, then SIGKILL: for recorded helper processes of this machine. */
export async function stopProcesses(procs: readonly ProcessId[], graceMs = 2000): Promise<number> {
  const live = procs.filter((p) => signalProcess(p, 'SIGTERM'));
  const until = Date.now() + graceMs;
  while (Date.now() < until && live.some(processAlive)) await sleep(50);
  for (const p of live) signalProcess(p, 'SIGKILL');
  return live.length;
}
