/**
 * What a lab owns, on disk: a state file (the model, the plan, the phase, the owning pid)
 * rewritten at phase changes, and an append-only journal of step intents and completions.
 * The intent of a step is journaled BEFORE the step touches the system, so after a crash
 * (`kill -9` during `up`) `gc` knows everything that may exist.
 */
import { mkdirSync, readFileSync, writeFileSync, renameSync, appendFileSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import type { Lab } from '../model/types.js';
import type { Step } from '../plan/ops.js';
import type { SshSpec } from '../remote/ssh-args.js';

export type Phase = 'applying' | 'up' | 'rolling-back' | 'tearing-down';

export interface LabState {
  version: 1;
  lab: string;
  tag: string;
  source?: string;
  model: Lab;
  planHash: string;
  backend: string;
  steps: Step[];
  /** How the lab's SSH hosts were reached, so down/gc/status can reconnect (absent: all local). */
  remotes?: SshSpec[];
  phase: Phase;
  pid: number;
  updatedAt: string;
}

export interface Journal {
  intent: Set<number>;
  done: Set<number>;
}

export function defaultStateDir(): string {
  return process.env.GENEVE_LAB_STATE_DIR || '/run/geneve-lab';
}

export class StateStore {
  constructor(readonly dir: string = defaultStateDir()) {}

  /**
   * Labs kept in a non-default state directory (tests, side-by-side installs) tag their
   * objects `geneve-lab:<lab>@<scope>`, so that `gc` of one directory never collects the
   * labs of another. The default directory keeps the plain `geneve-lab:<lab>` tag.
   */
  get scope(): string {
    if (resolve(this.dir) === '/run/geneve-lab') return '';
    return '@' + createHash('sha1').update(resolve(this.dir)).digest('hex').slice(0, 8);
  }

  private labsDir() {
    return join(this.dir, 'labs');
  }
  private file(lab: string) {
    return join(this.labsDir(), `${lab}.json`);
  }
  private journalFile(lab: string) {
    return join(this.labsDir(), `${lab}.journal`);
  }
  /** Per-lab run directory for daemons, pidfiles, logs and artifacts. */
  runDir(lab: string) {
    return join(this.dir, 'run', lab);
  }

  read(lab: string): LabState | undefined {
    try {
      return JSON.parse(readFileSync(this.file(lab), 'utf8')) as LabState;
    } catch {
      return undefined;
    }
  }

  write(state: LabState): void {
    mkdirSync(this.labsDir(), { recursive: true, mode: 0o755 });
    const tmp = this.file(state.lab) + `.tmp${process.pid}`;
    // 0600: the whole model is in it (secrets, e.g. a PSK, already serialise as <redacted>).
    writeFileSync(tmp, JSON.stringify({ ...state, updatedAt: new Date().toISOString() }), { mode: 0o600 });
    renameSync(tmp, this.file(state.lab));
  }

  setPhase(state: LabState, phase: Phase): LabState {
    const next = { ...state, phase, pid: process.pid };
    this.write(next);
    return next;
  }

  startJournal(lab: string): void {
    mkdirSync(this.labsDir(), { recursive: true });
    writeFileSync(this.journalFile(lab), '');
  }

  journalIntent(lab: string, ids: number[]): void {
    appendFileSync(this.journalFile(lab), JSON.stringify({ intent: ids }) + '\n');
  }

  journalDone(lab: string, id: number): void {
    appendFileSync(this.journalFile(lab), JSON.stringify({ done: id }) + '\n');
  }

  journalUndone(lab: string, id: number): void {
    appendFileSync(this.journalFile(lab), JSON.stringify({ undone: id }) + '\n');
  }

  readJournal(lab: string): Journal {
    const j: Journal = { intent: new Set(), done: new Set() };
    let text = '';
    try {
      text = readFileSync(this.journalFile(lab), 'utf8');
    } catch {
      return j;
    }
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as { intent?: number[]; done?: number; undone?: number };
        e.intent?.forEach((i) => j.intent.add(i));
        if (e.done !== undefined) j.done.add(e.done);
        if (e.undone !== undefined) {
          j.done.delete(e.undone);
          j.intent.delete(e.undone);
        }
      } catch {
        // A torn last line after a crash: everything before it is still valid.
      }
    }
    return j;
  }

  remove(lab: string): void {
    rmSync(this.file(lab), { force: true });
    rmSync(this.journalFile(lab), { force: true });
    rmSync(this.runDir(lab), { recursive: true, force: true });
  }

  list(): string[] {
    if (!existsSync(this.labsDir())) return [];
    return readdirSync(this.labsDir())
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5));
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
