/**
 * Command modules are loaded on demand: a start of the CLI loads only the module that defines
 * the verb on its command line (`validate` never loads the engine, no verb but the TUI loads
 * ink/React). Why: each start used to load and compile every module — ~1 s before any work,
 * most of it the TUI (issue 19).
 *
 * A module is found by the verbs it registers (VerbModule.verbs). When the command line names
 * none of them (`--help`, `help up`, a misspelt verb, no verb), every module is loaded so help,
 * suggestions and errors are exactly what they were with everything loaded up front.
 */
import type { Command } from 'commander';
import type { GlobalOptions } from './context.js';

/** What cli/main.ts gives every command module. */
export interface Wiring {
  /** Runs an action: its exit code, or the error reported (as JSON with --json). */
  run: (fn: () => Promise<number>, json?: boolean) => Promise<void>;
  globals: () => GlobalOptions;
}

export interface VerbModule {
  /** Every verb (command name) the module registers: the first word after the global options. */
  verbs: readonly string[];
  /** Load the module (a dynamic import) and add its commands to the program. */
  register: (program: Command, wiring: Wiring) => Promise<void>;
}

/**
 * The verb of a command line: its first operand after the program's own options, skipping the
 * value of an option that takes one (`--state-dir DIR up …`; commander's positional options put
 * program options before the verb). Undefined when there is none.
 */
export function verbOf(args: readonly string[], program: Command): string | undefined {
  const takesValue = new Set(program.options.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f))));
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return args[i + 1];
    if (!a.startsWith('-') || a === '-') return a;
    if (!a.includes('=') && takesValue.has(a)) i++;
  }
  return undefined;
}

/** Register the module of the command line's verb, or every module when the verb is not one of theirs. */
export async function registerVerbs(program: Command, modules: readonly VerbModule[], args: readonly string[], wiring: Wiring): Promise<void> {
  const verb = verbOf(args, program);
  // `--version` alone needs no command at all.
  if (verb === undefined && args.some((a) => a === '-V' || a === '--version') && !args.some((a) => a === '-h' || a === '--help')) return;
  const owner = modules.find((m) => verb !== undefined && m.verbs.includes(verb));
  for (const m of owner ? [owner] : modules) await m.register(program, wiring);
}
