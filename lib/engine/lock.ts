/**
 * One geneve-lab process at a time per lab: a lock file `labs/<lab>.lock` holding the owner's
 * pid, process start time and verb. It is created atomically (link(2) of a complete temporary
 * file: the lock never exists half-written), removed when the owner is done, and taken over
 * when its owner is gone (kill -9 leaves it behind; a recycled pid does not keep it alive,
 * see procs.ts).
 *
 * Taking over a stale lock renames it aside first, then checks that what was renamed is the
 * stale lock that was read: two processes breaking the same stale lock at once can then never
 * both win (the one that renamed a fresh lock puts it back and tries again).
 */
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LabBusyError } from '../errors.js';
import { processAlive, selfId, type ProcessId } from './procs.js';

export interface LockHolder extends ProcessId {
  verb?: string;
}

export interface LabLock {
  readonly lab: string;
  /** Release once; later calls do nothing. */
  release(): void;
}

const held = new Map<string, { count: number; file: string }>();
let exitHook = false;

function readHolder(file: string): { text: string; holder?: LockHolder } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return { text, holder: JSON.parse(text) as LockHolder };
  } catch {
    return { text }; // torn or foreign content: treated as stale
  }
}

/**
 * Take the lab's lock (re-entrant within this process: `run` holds it across up, checks and
 * down). Throws LabBusyError naming the holder when another live process has it.
 */
export function lockLab(labsDir: string, lab: string, verb: string): LabLock {
  const file = join(labsDir, `${lab}.lock`);
  const mine = held.get(file);
  if (mine) {
    mine.count++;
    return once(lab, file);
  }
  mkdirSync(labsDir, { recursive: true, mode: 0o755 });
  const me: LockHolder = { ...selfId(), verb };
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, JSON.stringify(me));
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, file);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 20) throw e;
      }
      const cur = readHolder(file);
      if (!cur) continue; // released meanwhile
      if (cur.holder && processAlive(cur.holder)) throw new LabBusyError(lab, { pid: cur.holder.pid, ...(cur.holder.verb ? { verb: cur.holder.verb } : {}) });
      // Stale: its owner is gone. Rename it aside, and make sure it is the one we judged.
      const aside = `${file}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
      try {
        renameSync(file, aside);
      } catch {
        continue; // someone else moved it first
      }
      const moved = readHolder(aside);
      if (moved?.text !== cur.text) {
        try {
          linkSync(aside, file); // a fresh lock of another process: put it back
        } catch {
          /* that process re-created it already */
        }
      }
      rmSync(aside, { force: true });
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  held.set(file, { count: 1, file });
  if (!exitHook) {
    exitHook = true;
    // Abandoning on a third Ctrl-C (process.exit) still releases: gc sees the state's dead owner.
    process.once('exit', () => {
      for (const h of held.values()) rmSync(h.file, { force: true });
      held.clear();
    });
  }
  return once(lab, file);
}

function once(lab: string, file: string): LabLock {
  let done = false;
  return {
    lab,
    release() {
      if (done) return;
      done = true;
      const h = held.get(file);
      if (!h) return;
      if (--h.count > 0) return;
      held.delete(file);
      // Only our own lock file goes (never one a successor wrote after a takeover).
      const cur = readHolder(file);
      if (cur?.holder?.pid === process.pid) rmSync(file, { force: true });
    },
  };
}

/** The live holder of a lab's lock, if any (for gc and status: never collect a lab in use). */
export function lockHolder(labsDir: string, lab: string): LockHolder | undefined {
  const cur = readHolder(join(labsDir, `${lab}.lock`));
  return cur?.holder && processAlive(cur.holder) ? cur.holder : undefined;
}
