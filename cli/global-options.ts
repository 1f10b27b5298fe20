/**
 * Global options where users put them: `geneve-lab status --state-dir D --json` as well as
 * `geneve-lab --state-dir D --json status`. Each verb also accepts `--backend`, `--state-dir` and `--jobs`
 * after its name; before the action runs, whatever was given on either side is merged (the verb's
 * side wins), and a `--json` given before the verb reaches a verb that has `--json`.
 */
import type { Command } from 'commander';
import { UsageError } from '../lib/errors.js';

export const JOBS_HELP = 'how many checks run at once (default: 8 per CPU core, at least 4, for checks that start processes; pings sent in-process are not bounded by it; iperf checks always run alone)';

const GLOBALS: { flags: string; key: 'backend' | 'stateDir' | 'jobs'; description: string }[] = [
  { flags: '--backend <name>', key: 'backend', description: 'kernel backend: netlink | iproute2 (also accepted before the verb)' },
  { flags: '--state-dir <dir>', key: 'stateDir', description: 'where lab state is kept (also accepted before the verb)' },
  { flags: '--jobs <n>', key: 'jobs', description: JOBS_HELP },
];

/** `--jobs N`: a whole number from 1 up; anything else is a usage error (undefined = not given). */
export function parseJobs(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(v.trim())) throw new UsageError(`--jobs takes a whole number of checks at once (1 or more), not "${v}"`);
  return Number(v);
}

const hasOption = (c: Command, long: string) => c.options.some((o) => o.long === long);

/** Give every verb (except `vm`, which passes its arguments through) the global options. */
export function acceptGlobalsAfterVerb(program: Command): void {
  for (const cmd of program.commands) {
    if (cmd.name() === 'vm') continue;
    for (const g of GLOBALS) if (!hasOption(cmd, g.flags.split(' ')[0]!)) cmd.option(g.flags, g.description);
  }
  program.option('--json', 'machine-readable output (for verbs that have it; also accepted after the verb)');
  program.hook('preAction', (_program, action) => {
    for (const g of GLOBALS) {
      const v = action.getOptionValue(g.key) as string | undefined;
      if (v !== undefined && action !== program) program.setOptionValue(g.key, v);
    }
    if (program.getOptionValue('json') && hasOption(action, '--json') && action.getOptionValue('json') === undefined) action.setOptionValue('json', true);
  });
}
