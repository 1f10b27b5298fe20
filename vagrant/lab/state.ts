/**
 * The record of one Vagrant lab (namespace + libvirt + boxes), kept in its work directory as
 * lab.json. It is written before each thing is created, so whoever cleans up — the owner's
 * trap, the watchdog after the owner was killed, or `driver.ts gc` after everything was killed —
 * knows exactly what this lab made, by identity: the namespace by name *and* inode, daemons by
 * pid *and* start time.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { alive, procId, type ProcId } from './procs.js';

/** Marks a work directory as one of ours (gc never touches a directory without it). */
export const TAG = 'geneve-lab vagrant lab';
export const DEFAULT_WORK_BASE = '/var/tmp/geneve-lab/vagrant';
export const STATE_FILE = 'lab.json';

export interface LabState {
  tag: typeof TAG;
  id: string;
  /** Network namespace name (/run/netns/NAME) and its inode once created. */
  ns: string;
  nsInode?: number;
  workdir: string;
  createdAt: string;
  /** The process whose end means "clean up" (vagrant/ci.sh's shell, or the driver itself). */
  owner: ProcId;
  watchdog?: ProcId;
  virtlogd?: ProcId;
  libvirtd?: ProcId;
  /** Box added to the lab's private VAGRANT_HOME, if any. */
  box?: { name: string; file: string };
}

/** A fresh lab id: short, random, usable in namespace and directory names. */
export function newLabId(): string {
  return randomBytes(4).toString('hex');
}

export function nsNameFor(id: string): string {
  return `gl-vg-${id}`;
}

export function statePath(workdir: string): string {
  return join(workdir, STATE_FILE);
}

export function readState(workdir: string): LabState | undefined {
  try {
    const s = JSON.parse(readFileSync(statePath(workdir), 'utf8')) as LabState;
    return s.tag === TAG ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Atomic write (rename), so a reader never sees half a record. */
export function writeState(s: LabState): void {
  const tmp = `${statePath(s.workdir)}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(s, null, 2) + '\n');
  renameSync(tmp, statePath(s.workdir));
}

/**
 * One cleaner at a time per lab (the owner's trap and the watchdog may both try): an O_EXCL lock
 * file holding the locker's identity; a lock whose holder is gone is taken over. Returns a
 * release function, or undefined when a live process holds the lock.
 */
export function tryLock(workdir: string, name = 'down.lock'): (() => void) | undefined {
  const path = join(workdir, name);
  const me = procId(process.pid)!;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch {
      let holder: ProcId | undefined;
      try {
        holder = JSON.parse(readFileSync(path, 'utf8')) as ProcId;
      } catch {
        holder = undefined;
      }
      if (holder && alive(holder)) return undefined;
      rmSync(path, { force: true });
    }
  }
  return undefined;
}
