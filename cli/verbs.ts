/**
 * Every command module of the CLI, loaded only when its verb is on the command line
 * (cli/lazy-verbs.ts). A new module is one more entry here: the verbs it registers (exactly its
 * command names — test/pure/cli/lazy-load.test.ts checks) and a register that imports it
 * dynamically. A static import of a command module anywhere in cli/main.ts's graph would load
 * it, and all it imports, on every start. Order = order in --help.
 */
import type { Command } from 'commander';
import type { VerbModule } from './lazy-verbs.js';

/** An optional command (its module may be absent from a trimmed install). */
async function registerOptional(program: Command, path: string, fn: string): Promise<void> {
  try {
    const mod = (await import(new URL(path, import.meta.url).href)) as Record<string, (p: Command) => void>;
    mod[fn]?.(program);
  } catch (e) {
    // An optional command that cannot load must not take the whole CLI down with it.
    if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND')
      process.stderr.write(`geneve-lab: the "${path}" command is unavailable: ${(e as Error).message}\n`);
  }
}

export const verbModules: readonly VerbModule[] = [
  { verbs: ['validate', 'schema', 'plan'], register: async (p, w) => (await import('./commands/recipe.js')).registerRecipeCommands(p, w.run) },
  { verbs: ['up', 'run', 'check', 'down', 'status', 'gc', 'doctor'], register: async (p, w) => (await import('./commands/lab.js')).registerLabCommands(p, w.run, w.globals) },
  { verbs: ['exec', 'shell', 'ovs', 'capture', 'graph'], register: async (p, w) => (await import('./commands/toolbox.js')).registerToolboxCommands(p, w.run, w.globals) },
  { verbs: ['vm'], register: (p) => registerOptional(p, './commands/vm.js', 'registerVmCommand') },
  { verbs: ['tui'], register: (p) => registerOptional(p, './commands/tui-wiring.js', 'registerTui') },
];
