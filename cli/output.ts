/**
 * Printing for the CLI: human text to stdout/stderr, or one JSON document with --json — always
 * in the common envelope (lib/report/envelope.ts), for successes and errors alike.
 */
import { readFileSync, statSync } from 'node:fs';
import { MAX_RECIPE_BYTES } from '../lib/recipe/limits.js';
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

/**
 * An invalid recipe can still name its lab (`lab: NAME` on a line of its own): enough for the
 * error document and the JUnit report to say which lab failed. Nothing when it cannot be read.
 */
export function noteLabOfRecipe(file: string): string | undefined {
  try {
    // Only what the loader itself would read: a regular file within the recipe size limit.
    const st = statSync(file);
    if (!st.isFile() || st.size > MAX_RECIPE_BYTES) return undefined;
    const m = /^lab:\s*["']?([a-z][a-z0-9-]*)["']?\s*$/m.exec(readFileSync(file, 'utf8'));
    if (m) noteLab(m[1]!);
    return m?.[1];
  } catch {
    return undefined;
  }
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
