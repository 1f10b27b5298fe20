/**
 * Oracles and drivers for the chaos suite (test/priv/chaos): what a lab left on this machine
 * (namespaces, /run/netns entries, mounts, processes, links in the root namespace, state and
 * temporary files), read directly from /proc, /run/netns and `ip` — nothing from lib/ — and a
 * way to run the real CLI, wait for a line on its stderr, and signal it.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliSpawn } from './cli.js';

/**
 * The lab's namespaces, held: an fd on each keeps it from being freed, so its inode number
 * (`net:[N]`) cannot be handed to another namespace meanwhile (the kernel reuses them at once)
 * and a process found in `net:[N]` later is surely in one of these. Release when done.
 */
export class HeldNamespaces {
  readonly inodes = new Set<string>();
  private readonly fds: number[] = [];
  constructor(prefix: string) {
    for (const ns of safeReaddir('/run/netns')) {
      if (!ns.startsWith(prefix)) continue;
      try {
        const fd = openSync(`/run/netns/${ns}`, 'r');
        this.fds.push(fd);
        this.inodes.add(`net:[${fstatSync(fd).ino}]`);
      } catch {
        /* gone, or a stale entry */
      }
    }
  }
  release(): void {
    for (const fd of this.fds.splice(0)) closeSync(fd);
  }
}

/** Network namespace inodes of the namespaces whose names start with `prefix`, now (for polling; to judge leftovers, hold them: HeldNamespaces). */
export function netnsInodes(prefix: string): Set<string> {
  const out = new Set<string>();
  for (const ns of safeReaddir('/run/netns')) {
    if (!ns.startsWith(prefix)) continue;
    try {
      out.add(`net:[${statSync(`/run/netns/${ns}`).ino}]`);
    } catch {
      /* gone */
    }
  }
  return out;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Processes (pid, comm) whose network namespace is one of `inodes`. */
export function processesIn(inodes: Set<string>): { pid: number; comm: string }[] {
  if (!inodes.size) return [];
  const out: { pid: number; comm: string }[] = [];
  for (const d of safeReaddir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (inodes.has(readlinkSync(`/proc/${d}/ns/net`))) out.push({ pid: Number(d), comm: readFileSync(`/proc/${d}/comm`, 'utf8').trim() });
    } catch {
      /* exited */
    }
  }
  return out;
}

/** Processes whose command line mentions `needle` (e.g. the state directory: OVS daemons' run dirs). */
export function processesMentioning(needle: string): string[] {
  const out: string[] = [];
  for (const d of safeReaddir('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (cmd.includes(needle)) out.push(`${d}: ${cmd}`);
    } catch {
      /* exited */
    }
  }
  return out;
}

/** Files under `dir`, relative, recursively. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).map(String).sort();
}

export interface Leftovers {
  namespaces: string[];
  mounts: string[];
  rootLinks: string[];
  processes: string[];
  stateFiles: string[];
  tempFiles: string[];
}

/**
 * Everything of lab `lab` (state directory `stateDir`) still on this machine.
 * - `inodes`: the lab's namespaces as they were while it ran (a process can keep a deleted
 *   namespace alive: found by its /proc/PID/ns/net);
 * - temporary files: capture directories in the system temp dir holding a file named after the
 *   lab (name the lab's capture checks after the lab: other test runs make captures there too);
 * - `except`: namespace names that are not the lab's (a foreign namespace under its name).
 */
export function leftovers(lab: string, stateDir: string, o: { inodes?: Set<string>; except?: string[] } = {}): Leftovers {
  const prefix = `gl-${lab}-`;
  const except = new Set(o.except ?? []);
  const mine = (ns: string) => ns.startsWith(prefix) && !except.has(ns);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith('/run/netns/') && mine(m.slice('/run/netns/'.length)));
  let rootLinks: string[] = [];
  try {
    rootLinks = (JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { ifname: string; ifalias?: string }[])
      .filter((l) => l.ifalias?.startsWith(`geneve-lab:${lab}`))
      .map((l) => l.ifname);
  } catch {
    /* no ip */
  }
  return {
    namespaces: safeReaddir('/run/netns').filter(mine),
    mounts,
    rootLinks,
    processes: [...processesIn(o.inodes ?? new Set()).map((p) => `${p.pid} ${p.comm}`), ...processesMentioning(join(stateDir, 'run', lab))],
    stateFiles: [...filesUnder(join(stateDir, 'labs')).filter((f) => f.startsWith(`${lab}.`)), ...filesUnder(join(stateDir, 'run', lab)).map((f) => `run/${lab}/${f}`)],
    tempFiles: tempEntries().flatMap((e) => safeReaddir(join(tmpdir(), e)).filter((f) => f.includes(lab)).map((f) => `${e}/${f}`)),
  };
}

export const NOTHING: Leftovers = { namespaces: [], mounts: [], rootLinks: [], processes: [], stateFiles: [], tempFiles: [] };

/** Capture directories in the system temp dir (where captures went before they moved under the state directory). */
export function tempEntries(): string[] {
  return safeReaddir(tmpdir()).filter((e) => e.startsWith('geneve-lab-capture-'));
}

export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or 128 + signal number when killed). */
  exit: Promise<number>;
  /** Resolves when stderr has matched `re` (rejects if the process exits first or after `ms`). */
  waitFor(re: RegExp, ms?: number): Promise<void>;
}

const SIGNALS: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** The real CLI, running. */
export function startCli(args: string[], env: Record<string, string> = {}): Running {
  const child = cliSpawn(args, env);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (err += String(d)));
  const exit = new Promise<number>((resolve) => child.once('close', (code, sig) => resolve(code ?? 128 + (SIGNALS[sig ?? ''] ?? 0))));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exit,
    waitFor(re, ms = 120_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} on stderr:\n${err}`)), ms);
        const check = () => {
          if (re.test(err)) {
            clearTimeout(timer);
            child.stderr!.off('data', check);
            resolve();
          }
        };
        child.stderr!.on('data', check);
        check();
        void exit.then((code) => {
          clearTimeout(timer);
          if (!re.test(err)) reject(new Error(`exited (${code}) before ${re}:\nstdout: ${out}\nstderr: ${err}`));
        });
      });
    },
  };
}

/** Poll until `fn` returns a truthy value (or throw after `ms`). */
export async function until<T>(fn: () => T | undefined | false, ms = 60_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The id of each step of a recipe's plan, with its operation and namespace (from `plan --format json`). */
export interface PlanStep {
  id: number;
  op: { op: string; ns?: string };
  subject: string;
}
