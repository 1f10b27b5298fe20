/**
 * geneve-lab command line: argument parsing and wiring only — the logic lives in lib/.
 * cli/main.ts runs it for the process; cli/snapshot.ts builds a V8 startup snapshot around it.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { reportError, noteVerb } from './output.js';
import { registerVerbs } from './lazy-verbs.js';
import { verbModules } from './verbs.js';
import type { GlobalOptions } from './context.js';
import { ExitCode } from '../lib/errors.js';
import { guardOutputStreams } from './guards.js';
import { acceptGlobalsAfterVerb, JOBS_HELP, parseJobs } from './global-options.js';

/** The package's own package.json, found upwards from here (works from dist/ and from sources). */
function packageVersion(): string {
  for (let dir = new URL('.', import.meta.url); dir.pathname !== '/'; dir = new URL('..', dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'geneve-lab') return pkg.version ?? '0.0.0';
    } catch {
      /* keep looking */
    }
  }
  return '0.0.0';
}

/** Parse one command line and run its verb; the process's exit code is left in process.exitCode. */
export async function runCli(argv: readonly string[]): Promise<void> {
  guardOutputStreams();
  const program = new Command('geneve-lab')
    .description('Build and test Geneve overlay networks on Linux from YAML recipes')
    .version(packageVersion())
    .option('--backend <name>', 'kernel backend: netlink | iproute2 (default: netlink where it loads)')
    .option('--state-dir <dir>', 'where lab state is kept (default /run/geneve-lab)')
    .option('--jobs <n>', JOBS_HELP)
    .showHelpAfterError()
    // `vm -- <args>` passes everything after it through untouched.
    .enablePositionalOptions()
    .exitOverride()
    // The --json envelope names the verb, also when the verb fails before printing anything.
    .hook('preAction', (_program, action) => noteVerb(action.name()));

  const globals = (): GlobalOptions => {
    const o = program.opts<{ backend?: GlobalOptions['backend']; stateDir?: string; jobs?: string }>();
    const jobs = parseJobs(o.jobs);
    return { ...(o.backend ? { backend: o.backend } : {}), ...(o.stateDir ? { stateDir: o.stateDir } : {}), ...(jobs ? { jobs } : {}) };
  };

  async function run(fn: () => Promise<number>, json = false): Promise<void> {
    let code: number;
    try {
      code = await fn();
    } catch (e) {
      code = reportError(e, json);
    }
    process.exitCode = code;
  }

  // Command modules load on demand: a new one is an entry in cli/verbs.ts, never an import here.
  await registerVerbs(program, verbModules, argv.slice(2), { run, globals });
  // After the verbs exist: --backend/--state-dir after the verb, --json before it.
  acceptGlobalsAfterVerb(program);

  try {
    await program.parseAsync([...argv]);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      process.exitCode = e.exitCode === 0 ? 0 : ExitCode.invalidInput;
    } else {
      process.exitCode = reportError(e, false);
    }
  }
}
