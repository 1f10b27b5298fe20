/** Run the real CLI from the sources (through tsx), the way a user runs the built one. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { snapshotOptions } from '../../lib/vm/project.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// The test runner (test/support/run-tests.js) builds dist/ first and sets GENEVE_LAB_TEST_CLI=dist:
// the compiled CLI starts much faster (it matters in the TCG VM). Inside the VM it runs the way
// `geneve-lab vm -- …` runs it there: from the startup snapshot (lib/vm/project.ts), when fresh.
// Run directly, tests use sources.
const fromDist = process.env.GENEVE_LAB_TEST_CLI === 'dist';
const snapshot = fromDist && process.env.GENEVE_LAB_IN_VM === '1' ? snapshotOptions(ROOT) : undefined;
export const CLI_ARGV: readonly string[] = snapshot
  ? snapshot
  : fromDist
    ? [fileURLToPath(new URL('../../bin/geneve-lab.js', import.meta.url))]
    : ['--import', 'tsx', fileURLToPath(new URL('../../cli/main.ts', import.meta.url))];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], env: Record<string, string> = {}): CliResult {
  return cliFrom(CLI_ARGV, args, env);
}

/** The CLI started with these Node.js arguments before its own (a script, or the startup snapshot's options). */
export function cliFrom(nodeArgs: readonly string[], args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [...nodeArgs, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 180_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function cliSpawn(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [...CLI_ARGV, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}
