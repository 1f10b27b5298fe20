/**
 * Shared helpers for the OVS recipe tests: run a shipped recipe through the real CLI under a
 * random lab name with its own state directory, and look for anything it could have left behind.
 */
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomLabName } from '../../support/priv.js';
import { cli, type CliResult } from '../../support/cli.js';
import { netnsList } from '../../support/oracle.js';

export const OVS_TOOLS = { tools: ['ovs-vswitchd', 'ovsdb-server', 'ovsdb-tool', 'ovs-vsctl', 'ovs-ofctl', 'tcpdump'] };

export interface RecipeCopy {
  lab: string;
  file: string;
  stateDir: string;
  /** The CLI with this copy's state directory. */
  g(args: string[], env?: Record<string, string>): CliResult;
}

/**
 * `recipes/<name>` with `lab:` replaced by a random name (and `edit` applied), in a temp dir with
 * its own state dir; teardown runs `down` and removes both directories.
 */
export function recipeCopy(t: ExecutionContext, name: string, edit: (s: string) => string = (s) => s): RecipeCopy {
  const lab = randomLabName('o');
  const dir = mkdtempSync(join(tmpdir(), 'gl-ovsr-'));
  const stateDir = join(dir, 'state');
  const file = join(dir, name);
  const text = readFileSync(join('recipes', name), 'utf8');
  if (!/^lab: \S+$/m.test(text)) throw new Error(`recipes/${name} has no "lab:" line`);
  writeFileSync(file, edit(text.replace(/^lab: \S+$/m, `lab: ${lab}`)));
  const g = (args: string[], env: Record<string, string> = {}) => cli(['--state-dir', stateDir, ...args], env);
  t.teardown(() => {
    g(['down', lab]);
    rmSync(dir, { recursive: true, force: true });
  });
  return { lab, file, stateDir, g };
}

/**
 * Processes whose command line mentions `needle` (OVS daemons name their run dir; tcpdump its
 * pcap). Shells and ssh clients are ignored: other test suites on this machine inspect every
 * namespace (`ip -n <ns> …` over ssh), which would otherwise look like ours.
 */
export function processesMentioning(needle: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(needle) && !/^\s*\d+ (ps|ssh|sh|bash) /.test(l));
}

/** Everything a lab could leave behind: namespaces, processes, OVS run directories. */
export function leftovers(c: RecipeCopy): { namespaces: string[]; processes: string[]; runDirs: boolean } {
  return {
    namespaces: netnsList().filter((n) => n.startsWith(`gl-${c.lab}-`)),
    processes: [...processesMentioning(c.stateDir), ...processesMentioning(`gl-${c.lab}-`), ...processesMentioning(`geneve-lab-${c.lab}`)],
    runDirs: existsSync(join(c.stateDir, 'run', c.lab)),
  };
}

export const NOTHING_LEFT = { namespaces: [], processes: [], runDirs: false };

export interface CheckOut {
  name: string;
  status: string;
  message?: string;
  figures: Record<string, unknown>;
}

/** `run --json`: exit code and check results by name (the text table truncates long names). */
export function runJson(c: RecipeCopy): { code: number; checks: Record<string, CheckOut>; out: string } {
  const r = c.g(['run', '--json', c.file]);
  let checks: Record<string, CheckOut> = {};
  try {
    const j = JSON.parse(r.stdout) as { checks: CheckOut[] };
    checks = Object.fromEntries(j.checks.map((x) => [x.name, x]));
  } catch {
    // Not JSON: the caller's assertion on the code shows stdout/stderr.
  }
  return { code: r.code, checks, out: r.stdout + r.stderr };
}

/** Root-namespace links: the lab must never add any. */
export function rootLinks(): string[] {
  return execFileSync('ip', ['-br', 'link'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(/\s+/)[0]!.replace(/@.*$/, ''))
    .filter(Boolean)
    .sort();
}
