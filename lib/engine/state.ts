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
import { processAlive, processStartTime, type ProcessId } from './procs.js';

/**
 * `checking`: the lab is built and checks run (see `checking` for which verb); after a crash
 * gc tears a `run` lab down (its contract is "always torn down") and, for `up`/`check`, only
 * stops the checks' helper processes and removes their files, leaving the built lab up.
 */
export type Phase = 'applying' | 'up' | 'checking' | 'rolling-back' | 'tearing-down';

/** The verb whose checks are running, while phase is `checking`. */
export type CheckVerb = 'up' | 'run' | 'check';

/** A process a check started (tcpdump, iperf3, ping…), or a file/directory it made. */
export type HelperRecord =
  | { helper: ProcessId & { host?: string; argv0?: string } }
  | { ended: number }
  | { temp: string; host?: string };

export interface Helpers {
  /** Processes still running as far as the record knows (pid + start time, host when remote). */
  processes: (ProcessId & { host?: string; argv0?: string })[];
  /** Files and directories the checks made (capture pcaps), with their host when remote. */
  temps: { path: string; host?: string }[];
}

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
  /** Start time of process `pid` (procs.ts): a recycled pid is not mistaken for the owner. */
  pidStart?: number;
  /** Set while phase is `checking`: whose checks run. */
  checking?: { verb: CheckVerb };
  updatedAt: string;
  /** Set (to the first step that did it) when scenario steps changed the running lab: `up` then rebuilds it. */
  mutated?: string;
}

export interface Journal {
  intent: Set<number>;
  done: Set<number>;
  /** Identity (identity.ts) of each namespace the lab created, by the id of its netns.add step. */
  identities: Map<number, string>;
}

/** Whether the process that last wrote the state still runs (pid and start time). */
export function ownerAlive(state: Pick<LabState, 'pid' | 'pidStart'>): boolean {
  return processAlive({ pid: state.pid, ...(state.pidStart !== undefined ? { start: state.pidStart } : {}) });
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
  private helpersFile(lab: string) {
    return join(this.labsDir(), `${lab}.helpers`);
  }
  /** Where open SSH connections are on record (connections/; see lib/remote/connections.ts). */
  get connectionsPath(): string {
    return join(this.dir, 'connections');
  }
  /** Where lab state and locks live (labs/). */
  get labsPath(): string {
    return this.labsDir();
  }
  /** Where checks of the lab keep their files on this machine (capture pcaps): under runDir, so down and gc remove them. */
  capturesDir(lab: string) {
    return join(this.runDir(lab), 'captures');
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

  setPhase(state: LabState, phase: Phase, checking?: { verb: CheckVerb }): LabState {
    const start = processStartTime(process.pid);
    const { checking: _drop, ...rest } = state;
    const next: LabState = { ...rest, phase, pid: process.pid, ...(start !== undefined ? { pidStart: start } : {}), ...(checking ? { checking } : {}) };
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

  /** A step completed; for a namespace, with the identity it was created with. */
  journalDone(lab: string, id: number, identity?: string): void {
    appendFileSync(this.journalFile(lab), JSON.stringify(identity ? { done: id, identity } : { done: id }) + '\n');
  }

  journalUndone(lab: string, id: number): void {
    appendFileSync(this.journalFile(lab), JSON.stringify({ undone: id }) + '\n');
  }

  readJournal(lab: string): Journal {
    const j: Journal = { intent: new Set(), done: new Set(), identities: new Map() };
    let text = '';
    try {
      text = readFileSync(this.journalFile(lab), 'utf8');
    } catch {
      return j;
    }
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as { intent?: number[]; done?: number; identity?: string; undone?: number };
        e.intent?.forEach((i) => j.intent.add(i));
        if (e.done !== undefined) j.done.add(e.done);
        if (e.done !== undefined && typeof e.identity === 'string') j.identities.set(e.done, e.identity);
        if (e.undone !== undefined) {
          j.done.delete(e.undone);
          j.intent.delete(e.undone);
          j.identities.delete(e.undone);
        }
      } catch {
        // A torn last line after a crash: everything before it is still valid.
      }
    }
    return j;
  }

  /** Record a helper process or temporary file of the running checks (append-only, like the journal). */
  recordHelper(lab: string, record: HelperRecord): void {
    mkdirSync(this.labsDir(), { recursive: true });
    appendFileSync(this.helpersFile(lab), JSON.stringify(record) + '\n');
  }

  /** What the checks of a lab started and have not finished (for Ctrl-C, down and gc). */
  readHelpers(lab: string): Helpers {
    const procs = new Map<number, Helpers['processes'][number]>();
    const temps = new Map<string, Helpers['temps'][number]>();
    let text = '';
    try {
      text = readFileSync(this.helpersFile(lab), 'utf8');
    } catch {
      return { processes: [], temps: [] };
    }
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const r = JSON.parse(line) as HelperRecord;
        if ('helper' in r) procs.set(r.helper.pid, r.helper);
        else if ('ended' in r) procs.delete(r.ended);
        else if ('temp' in r) temps.set(`${r.host ?? ''}:${r.temp}`, { path: r.temp, ...(r.host ? { host: r.host } : {}) });
      } catch {
        // torn last line after a crash
      }
    }
    return { processes: [...procs.values()], temps: [...temps.values()] };
  }

  /** Forget the checks' helpers (after they were stopped and their files removed). */
  clearHelpers(lab: string): void {
    rmSync(this.helpersFile(lab), { force: true });
  }

  remove(lab: string): void {
    rmSync(this.file(lab), { force: true });
    rmSync(this.journalFile(lab), { force: true });
    rmSync(this.helpersFile(lab), { force: true });
    rmSync(this.runDir(lab), { recursive: true, force: true });
  }

  list(): string[] {
    if (!existsSync(this.labsDir())) return [];
    return readdirSync(this.labsDir())
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5));
  }
}

/** Whether some process has this pid (prefer ownerAlive/processAlive: they survive pid reuse). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
