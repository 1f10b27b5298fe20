/**
 * Run one program with the terminal attached (stdin, stdout, stderr inherited) and give back its
 * exit code: what `exec`, `shell` and `ovs` do. Ctrl-C reaches the program through the terminal's
 * process group; this process only waits for it (so it never exits before its child).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { PrerequisiteError } from '../errors.js';
import type { Invocation } from './target.js';

/** The shell convention for a program killed by a signal: 128 + its number. */
export function signalExitCode(signal: NodeJS.Signals | null): number {
  return signal ? 128 + (constants.signals[signal] ?? 0) : 0;
}

export function runAttached(inv: Invocation): Promise<number> {
  const [file, ...args] = inv.argv;
  return new Promise((resolve, reject) => {
    const child = spawn(file!, args, { stdio: 'inherit', env: { ...process.env, ...inv.env } });
    // While the program runs, Ctrl-C and SIGTERM are its business: SIGTERM is passed on, SIGINT
    // already reached it through the terminal (same process group).
    const onInt = () => {};
    const onTerm = () => child.kill('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    const off = () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      off();
      if (e.code === 'ENOENT') reject(new PrerequisiteError([{ feature: `program ${file}`, fix: `${file} is not installed here; install it (it runs the command in the lab)` }]));
      else reject(e);
    });
    child.on('exit', (code, signal) => {
      off();
      resolve(code ?? signalExitCode(signal));
    });
  });
}
