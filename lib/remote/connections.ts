/**
 * The SSH connections of geneve-lab processes, on record in the state directory.
 *
 * An open SshExecutor owns three things that outlive a process killed without close() (kill -9,
 * the OOM killer, a lost terminal): its ControlMaster (and any session clients still attached),
 * the local 0700 directory holding the control socket, and its private directory on the remote
 * host. Each connection writes its record BEFORE it creates any of them, close() deletes the
 * record, and `gc` collects the records whose owner (pid + start time) is dead:
 * - the remote directory (and the processes its pid files name) through a fresh connection;
 * - the local ssh processes whose argv carries the record's ControlPath — a path made by mkdtemp
 *   and written down before ssh started, so no one else's ssh can match it;
 * - the local directory.
 * A record whose host cannot be reached stays for a later gc; a live owner's record is never read
 * for anything but its owner.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { processAlive, processStartTime, stopProcesses, type ProcessId } from '../engine/procs.js';
import { controlPathOption, type SshSpec } from './ssh-args.js';

export interface ConnectionRecord {
  /** The local directory's base name (unique: mkdtemp). */
  id: string;
  /** The geneve-lab process that opened the connection. */
  owner: ProcessId;
  host: string;
  /** Everything needed to reach the host again (client namespace, keys, port, jump host). */
  spec: SshSpec;
  /** Local 0700 directory of the control socket. */
  localDir: string;
  controlPath: string;
  /** Private directory on the remote host (pid files of started processes). */
  remoteDir: string;
}

/** Where connections are put on record (a directory of the state store; absent in bare tests). */
export interface ConnectionLedger {
  /** Write (or replace) a record, synchronously: it must be on disk before what it names exists. */
  write(rec: ConnectionRecord): void;
  /** The connection was closed cleanly: forget it. */
  remove(id: string): void;
}

/** One JSON file per open connection: `<state dir>/connections/<id>.json`, 0600. */
export class ConnectionFiles implements ConnectionLedger {
  constructor(readonly dir: string) {}

  private file(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  write(rec: ConnectionRecord): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file(rec.id)}.tmp${process.pid}`;
    writeFileSync(tmp, JSON.stringify(rec), { mode: 0o600 });
    renameSync(tmp, this.file(rec.id));
  }

  remove(id: string): void {
    rmSync(this.file(id), { force: true });
  }

  /** Every readable record (a torn or foreign file is skipped, never acted on). */
  list(): ConnectionRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: ConnectionRecord[] = [];
    for (const n of names) {
      if (!n.endsWith('.json')) continue;
      try {
        const r = JSON.parse(readFileSync(join(this.dir, n), 'utf8')) as ConnectionRecord;
        if (r && typeof r.id === 'string' && `${r.id}.json` === n && r.owner && typeof r.controlPath === 'string' && r.spec) out.push(r);
      } catch {
        /* being written, or not ours */
      }
    }
    return out;
  }
}

/** Whether a record's paths have the shape SshExecutor gives them (a damaged record is left alone). */
function wellFormed(rec: ConnectionRecord): boolean {
  return (
    /^gl-ssh-[A-Za-z0-9]+$/.test(rec.id) &&
    basename(rec.localDir) === rec.id &&
    rec.controlPath === join(rec.localDir, 'm') &&
    dirname(rec.remoteDir) === '/tmp' &&
    /^geneve-lab-ssh\.[0-9a-f]+$/.test(basename(rec.remoteDir))
  );
}

/**
 * Local ssh processes (master and session clients) started with this ControlPath: the argv
 * element ssh was given (`-o ControlPath=…`), compared whole.
 */
export function sshProcessesOf(controlPath: string, proc = '/proc'): ProcessId[] {
  const option = controlPathOption(controlPath)[1]!;
  const out: ProcessId[] = [];
  let pids: string[];
  try {
    pids = readdirSync(proc).filter((p) => /^\d+$/.test(p));
  } catch {
    return [];
  }
  for (const p of pids) {
    let argv: string[];
    try {
      argv = readFileSync(join(proc, p, 'cmdline'), 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    if (!/(^|\/)ssh$/.test(argv[0] ?? '') || !argv.includes(option)) continue;
    const pid = Number(p);
    const start = processStartTime(pid);
    if (start !== undefined) out.push({ pid, start });
  }
  return out;
}

/** What gc did with the records of dead owners. */
export interface ConnectionSweep {
  /** Hosts whose leftovers (remote dir, master, local dir) are gone. */
  collected: { host: string; id: string; processes: number }[];
  /** Records kept for a later gc (the remote directory could not be removed), with why. */
  kept: { host: string; id: string; reason: string }[];
}

/**
 * Collect the connections of dead geneve-lab processes. `removeRemote` reaches the host afresh
 * and removes the directory (stopping what its pid files name); it throws when it cannot.
 */
export async function sweepConnections(
  ledger: ConnectionFiles,
  removeRemote: (rec: ConnectionRecord) => Promise<void>,
): Promise<ConnectionSweep> {
  const sweep: ConnectionSweep = { collected: [], kept: [] };
  for (const rec of ledger.list()) {
    if (processAlive(rec.owner) || !wellFormed(rec)) continue;
    let remoteError: string | undefined;
    try {
      await removeRemote(rec);
    } catch (e) {
      remoteError = e instanceof Error ? e.message : String(e);
    }
    // The local side goes either way: the old master is of no use to anyone.
    const processes = await stopProcesses(sshProcessesOf(rec.controlPath), 1000);
    rmSync(rec.localDir, { recursive: true, force: true });
    if (remoteError) {
      sweep.kept.push({ host: rec.host, id: rec.id, reason: remoteError });
      continue;
    }
    ledger.remove(rec.id);
    sweep.collected.push({ host: rec.host, id: rec.id, processes });
  }
  return sweep;
}
