/**
 * Checks every lab command makes before it does anything: root for the verbs that create or
 * enter namespaces, a usable state directory, and output streams that may go away (EPIPE).
 */
import { mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { LabError, ExitCode, NeedsRootError, UsageError } from '../lib/errors.js';
import { defaultStateDir } from '../lib/engine/state.js';

/** Verbs that create, enter or remove namespaces need root: exit 3 "needs root" before anything else. */
export function requireRoot(verb: string): void {
  if (process.getuid?.() !== 0) throw new NeedsRootError(verb);
}

/**
 * The state directory must be a directory we can write (created when missing): a file, a
 * device (`--state-dir /dev/null`) or an unwritable place is a clear error, not a crash later.
 */
export function checkStateDir(dir: string | undefined): string {
  const d = resolve(dir ?? defaultStateDir());
  const what = dir ? `--state-dir ${dir}` : `the state directory ${d} (GENEVE_LAB_STATE_DIR or --state-dir choose another)`;
  let st;
  try {
    st = statSync(d);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new UsageError(`${what}: a part of the path is not a directory; give a directory`);
    if (code !== 'ENOENT') throw new LabError(`${what}: cannot be used (${code})`, ExitCode.missingPrerequisite);
  }
  if (st && !st.isDirectory()) throw new UsageError(`${what}: is not a directory (${st.isCharacterDevice() ? 'a device' : 'a file'}); give a directory where geneve-lab can keep lab state`);
  if (!st) {
    try {
      mkdirSync(d, { recursive: true, mode: 0o755 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR' || code === 'EEXIST') throw new UsageError(`${what}: a part of the path is not a directory; give a directory`);
      throw new LabError(`${what}: cannot be created (${code}); create it or choose another`, ExitCode.missingPrerequisite);
    }
  }
  return d;
}

let guarded = false;

/**
 * stdout/stderr may be closed under us (`status | head -1`, `up -v 2>&1 | head -3`): the write
 * error (EPIPE) must end nothing — without a listener Node turns it into an uncaught exception
 * and the process would die mid-apply with a half-built lab. Output that cannot be written is
 * dropped; the command finishes (or rolls back) and exits with its usual code.
 */
export function guardOutputStreams(): void {
  if (guarded) return;
  guarded = true;
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
}
