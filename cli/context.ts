/** Wiring shared by the commands: executor, backend, engine, event reporters. */
import { LocalExecutor } from '../lib/exec/executor.js';
import { selectBackend, type BackendName } from '../lib/backends/select.js';
import { Engine } from '../lib/engine/engine.js';
import { EventBus } from '../lib/engine/events.js';
import { StateStore } from '../lib/engine/state.js';
import { attachPlainReporter } from './plain-reporter.js';
import { checkStateDir } from './guards.js';

export interface GlobalOptions {
  backend?: BackendName;
  stateDir?: string;
  /** --jobs: checks at once (lib/checks/run.ts defaultJobs() when absent). */
  jobs?: number;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

export async function makeEngine(opts: GlobalOptions): Promise<Engine> {
  const stateDir = checkStateDir(opts.stateDir);
  const exec = new LocalExecutor();
  const bus = new EventBus();
  // --json keeps stdout for the JSON; --verbose still wants progress (on stderr).
  if ((!opts.json || opts.verbose) && !opts.quiet) attachPlainReporter(bus, { verbose: Boolean(opts.verbose) });
  const notices: string[] = [];
  const backend = await selectBackend(opts.backend ?? 'auto', exec, (m, level) => {
    notices.push(m);
    bus.emit({ type: 'notice', level: level ?? 'info', message: m });
  });
  return new Engine({ exec, backend, bus, store: new StateStore(stateDir) });
}
