/**
 * Printing for the CLI: human text to stdout/stderr, or one JSON document with --json — always
 * in the common envelope (lib/report/envelope.ts), for successes and errors alike.
 */
import { LabError, ExitCode } from '../lib/errors.js';
import { envelope, errorEnvelope } from '../lib/report/envelope.js';

/** The verb being run and the lab it is about, as far as known: the envelope's head. */
const invocation: { verb: string; lab: string | null } = { verb: 'geneve-lab', lab: null };

/** Set by the program before a verb's action runs (cli/main.ts). */
export function noteVerb(verb: string): void {
  invocation.verb = verb;
}

/** A verb names its lab as soon as it knows it, so an error document names it too. */
export function noteLab(lab: string): void {
  invocation.lab = lab;
}

export function currentLab(): string | undefined {
  return invocation.lab ?? undefined;
}

/**
 * One `--json` document: `payload` (an object, keys in any case) in the envelope of the current
 * verb. `exitCode` is the code the command is about to exit with (0 unless said).
 */
export function printJson(payload: unknown, head: { lab?: string | null; exitCode?: number; ok?: boolean } = {}): void {
  const doc = envelope({ verb: invocation.verb, lab: head.lab ?? invocation.lab, ...(head.exitCode !== undefined ? { exitCode: head.exitCode } : {}), ...(head.ok !== undefined ? { ok: head.ok } : {}) }, payload);
  process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
}

/** A JSON document as it is (the JSON Schemas `schema` prints are not enveloped). */
export function printRawJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Turn any error into a message and an exit code. Never a raw stack trace (unless debugging). */
export function reportError(e: unknown, json: boolean): number {
  if (json) {
    const doc = errorEnvelope(invocation.verb, invocation.lab, e);
    process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
    return doc.exit_code;
  }
  if (e instanceof LabError) {
    process.stderr.write(`geneve-lab: ${e.message}\n`);
    return e.exitCode;
  }
  const err = e as Error;
  const msg = err?.message ?? String(e);
  process.stderr.write(`geneve-lab: internal error: ${msg}\n`);
  if (process.env.GENEVE_LAB_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
  else process.stderr.write('  (this is a bug in geneve-lab; set GENEVE_LAB_DEBUG=1 to see where it happened)\n');
  return ExitCode.internal;
}

export { ExitCode };
