/** Running the host tools the VM needs (apt-get, dpkg, depmod, modprobe) as argv arrays. */
import { execa } from 'execa';
import type { RunResult } from '../exec/executor.js';

export type Run = (argv: readonly string[], opts?: { cwd?: string }) => Promise<RunResult>;

export const runProcess: Run = async (argv, opts = {}) => {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty argv');
  const started = Date.now();
  const r = await execa(file, args, { cwd: opts.cwd, reject: false, stdin: 'ignore', stripFinalNewline: false });
  const spawnError = r.code && typeof r.exitCode !== 'number' ? String(r.code) : undefined;
  return {
    argv: [...argv],
    exitCode: typeof r.exitCode === 'number' ? r.exitCode : -1,
    stdout: typeof r.stdout === 'string' ? r.stdout : '',
    stderr: typeof r.stderr === 'string' && r.stderr !== '' ? r.stderr : spawnError === 'ENOENT' ? `${file}: command not found` : '',
    durationMs: Date.now() - started,
    timedOut: false,
    ...(spawnError ? { spawnError } : {}),
  };
};

/** The last lines of what a failed tool said, for error messages. */
export function tailOf(r: RunResult, lines = 5): string {
  return (r.stderr || r.stdout).trim().split('\n').slice(-lines).join('\n') || `exit code ${r.exitCode}`;
}
