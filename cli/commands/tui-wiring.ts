/**
 * Wires the engine's controller into the TUI: `geneve-lab tui RECIPE`, and `up RECIPE --tui`
 * (through upWithTui). Only wiring: the logic is in lib/engine/controller.ts, the screen in lib/ui.
 */
import type { Command } from 'commander';
import { loadRecipeFile } from '../../lib/recipe/load.js';
import { assertRequirements } from '../../lib/doctor/doctor.js';
import { EngineController } from '../../lib/engine/controller.js';
import { UsageError } from '../../lib/errors.js';
import { makeEngine, type GlobalOptions } from '../context.js';
import { parseJobs } from '../global-options.js';
import { loadTui, registerTuiCommand, runTui } from './tui.js';
import { TuiOutcome } from '../tui-outcome.js';
import type { WriteJunitResults } from '../junit-outcome.js';

/** Load the recipe and build a controller on a quiet engine (no reporter writing over the screen). */
export async function makeController(recipeFile: string, globals: GlobalOptions = {}): Promise<EngineController> {
  const { lab } = await loadRecipeFile(recipeFile);
  const engine = await makeEngine({ ...globals, quiet: true });
  return new EngineController(lab, engine, { preflight: (l, exec) => assertRequirements(l, exec), ...(globals.jobs ? { jobs: globals.jobs } : {}) });
}

function globalsOf(program: Command): GlobalOptions {
  const o = program.opts<{ backend?: GlobalOptions['backend']; stateDir?: string; jobs?: string }>();
  const jobs = parseJobs(o.jobs);
  return { ...(o.backend ? { backend: o.backend } : {}), ...(o.stateDir ? { stateDir: o.stateDir } : {}), ...(jobs ? { jobs } : {}) };
}

/** Called by cli/main.ts: adds `tui RECIPE`. */
export function registerTui(program: Command): void {
  const open: EngineController[] = [];
  registerTuiCommand(program, async (file) => {
    const c = await makeController(file, globalsOf(program));
    open.push(c);
    // Once the app is on screen and listening (it subscribes right after its first render).
    setTimeout(() => c.announceState(), 300).unref();
    return c;
  }).hook('postAction', async () => {
    // The app has exited: release the backend (netlink socket) so the process can end.
    for (const c of open.splice(0)) await c.close();
  });
}

/**
 * `geneve-lab up RECIPE --tui`: open the TUI, bring the lab up in it at once and run its checks.
 * When the user quits (the lab stays up unless they chose to tear it down), the session ends as
 * `up` would have on what the screen last showed (cli/tui-outcome.ts): the last `up` failed → its
 * error is thrown (exit 3/4, `--junit` gets one errored test case); else the check results go to
 * `--junit` and the exit code is 1 when one did not pass, 0 otherwise.
 */
export async function upWithTui(recipeFile: string, globals: GlobalOptions = {}, opts: { color?: boolean; checks?: boolean } = {}, writeJunit: WriteJunitResults = () => {}): Promise<number> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new UsageError('`up --tui` needs an interactive terminal (stdin and stdout must be a TTY); drop --tui for scripts');
  }
  await loadTui();
  const controller = await makeController(recipeFile, globals);
  const outcome = new TuiOutcome(controller);
  const ui = outcome.controller;
  let building: Promise<void> = Promise.resolve();
  try {
    const shown = runTui(ui, opts);
    // After the first render, so the progress of every step is on screen. A failure goes to the
    // status line as a notice (the app only shows errors of actions it started itself).
    // Then its checks, as `up` runs them (issue 18 §2); a failed check shows in the checks pane.
    // `--no-checks`: only the lab, as `up --no-checks` (c still runs them on demand).
    building = new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
      ui
        .up()
        .then(
          () => (opts.checks === false ? undefined : ui.runChecks()),
          (e: unknown) => {
            const msg = e instanceof Error ? e.message : String(e);
            controller.bus.emit({ type: 'notice', level: 'warning', message: `up failed: ${msg.split('\n')[0]} (l on the failed step shows its log)` });
          },
        )
        .catch((e: unknown) => {
          controller.bus.emit({ type: 'notice', level: 'warning', message: `checks failed to run: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}` });
        }),
    );
    await shown;
  } finally {
    // Quitting while the lab is still being built must not leave it half-built: let `up` finish
    // (or roll back) before releasing the backend.
    await building;
    await controller.close();
  }
  return outcome.finish(writeJunit);
}
