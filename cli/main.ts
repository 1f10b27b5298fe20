/** geneve-lab command line: argument parsing and wiring only — the logic lives in lib/. */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { reportError } from './output.js';
import { registerVerbs, type VerbModule } from './lazy-verbs.js';
import type { GlobalOptions } from './context.js';
import { ExitCode } from '../lib/errors.js';
import { guardOutputStreams } from './guards.js';

guardOutputStreams();

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

const program = new Command('geneve-lab')
  .description('Build and test Geneve overlay networks on Linux from YAML recipes')
  .version(packageVersion())
  .option('--backend <name>', 'kernel backend: netlink | iproute2 (default: netlink where it loads)')
  .option('--state-dir <dir>', 'where lab state is kept (default /run/geneve-lab)')
  .showHelpAfterError()
  // `vm -- <args>` passes everything after it through untouched.
  .enablePositionalOptions()
  .exitOverride();

const globals = (): GlobalOptions => {
  const o = program.opts<{ backend?: GlobalOptions['backend']; stateDir?: string }>();
  return { ...(o.backend ? { backend: o.backend } : {}), ...(o.stateDir ? { stateDir: o.stateDir } : {}) };
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

async function registerOptional(path: string, fn: string, ...args: unknown[]) {
  try {
    const mod = (await import(new URL(path, import.meta.url).href)) as Record<string, (...a: unknown[]) => void>;
    mod[fn]?.(program, ...args);
  } catch (e) {
    // An optional command that cannot load must not take the whole CLI down with it.
    if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND')
      process.stderr.write(`geneve-lab: the "${path}" command is unavailable: ${(e as Error).message}\n`);
  }
}

/**
 * Every command module, loaded only when its verb is on the command line (cli/lazy-verbs.ts).
 * A new module is one more entry: the verbs it registers, and a register that imports it
 * dynamically — a static import here would load it (and all it imports) on every start.
 * Order = order in --help.
 */
const verbModules: VerbModule[] = [
  { verbs: ['validate', 'schema', 'plan'], register: async (p) => (await import('./commands/recipe.js')).registerRecipeCommands(p, run) },
  { verbs: ['up', 'run', 'check', 'down', 'status', 'gc', 'doctor'], register: async (p) => (await import('./commands/lab.js')).registerLabCommands(p, run, globals) },
  { verbs: ['vm'], register: () => registerOptional('./commands/vm.js', 'registerVmCommand') },
  { verbs: ['tui'], register: () => registerOptional('./commands/tui-wiring.js', 'registerTui') },
];
await registerVerbs(program, verbModules, process.argv.slice(2));

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // --help and --version end here too, with exit code 0.
    process.exitCode = e.exitCode === 0 ? 0 : ExitCode.invalidInput;
  } else {
    process.exitCode = reportError(e, false);
  }
}
