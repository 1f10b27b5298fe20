/** Printing for the CLI: human text to stdout/stderr, or one JSON document with --json. */
import { LabError, ExitCode } from '../lib/errors.js';

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Turn any error into a message and an exit code. Never a raw stack trace (unless debugging). */
export function reportError(e: unknown, json: boolean): number {
  if (e instanceof LabError) {
    if (json) printJson(e.toJSON());
    else process.stderr.write(`geneve-lab: ${e.message}\n`);
    return e.exitCode;
  }
  const err = e as Error;
  const msg = err?.message ?? String(e);
  if (json) printJson({ error: 'InternalError', code: 'internal_error', message: msg, exitCode: ExitCode.internal });
  else {
    process.stderr.write(`geneve-lab: internal error: ${msg}\n`);
    if (process.env.GENEVE_LAB_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
    else process.stderr.write('  (this is a bug in geneve-lab; set GENEVE_LAB_DEBUG=1 to see where it happened)\n');
  }
  return ExitCode.internal;
}

export { ExitCode };
