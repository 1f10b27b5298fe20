/**
 * `geneve-lab tui RECIPE`: the full-screen interactive application. The CLI only wires the
 * controller (built by the engine) to the app; the app renders events and calls the controller.
 */
import type { Command } from 'commander';
import type { Controller } from '../../lib/ui/controller.js';
import { UsageError } from '../../lib/errors.js';

export interface TuiOptions {
  color?: boolean;
}

type Screen = { React: typeof import('react'); render: typeof import('ink').render; App: typeof import('../../lib/ui/App.js').App };
let screen: Screen | undefined;

/**
 * ink, React and the app, loaded on first use, not at the top: registering `tui` (for --help)
 * must not load them. Awaited before runTui, the app renders at once (upWithTui relies on it).
 */
export async function loadTui(): Promise<Screen> {
  const [react, { render }, { App }] = await Promise.all([import('react'), import('ink'), import('../../lib/ui/App.js')]);
  screen = { React: react.default, render, App };
  return screen;
}

/** Render the app full-screen (alternate screen) until the user quits. */
export async function runTui(controller: Controller, opts: TuiOptions = {}): Promise<{ tornDown: boolean }> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new UsageError('the TUI needs an interactive terminal (stdin and stdout must be a TTY); use `up`/`check` for scripts');
  }
  const { React, render, App } = screen ?? (await loadTui());
  let how = { tornDown: false };
  const app = React.createElement(App, {
    controller,
    noColor: opts.color === false,
    onExit: (h: { tornDown: boolean }) => {
      how = h;
    },
  });
  // The TUI only runs on a terminal (checked above), so it is interactive even when a CI
  // variable is set in the environment (ink would otherwise print only the final frame).
  const instance = render(app, { exitOnCtrlC: false, alternateScreen: true, patchConsole: true, interactive: true });
  await instance.waitUntilExit();
  return how;
}

export function registerTuiCommand(program: Command, makeController: (recipeFile: string) => Promise<Controller>): Command {
  return program
    .command('tui')
    .description('interactive full-screen view: topology, progress, checks, live counters (keys: ? for help)')
    .argument('<recipe>', 'recipe file (YAML)')
    .option('--no-color', 'no colours (also: NO_COLOR=1)')
    .action(async (recipe: string, opts: { color?: boolean }) => {
      const controller = await makeController(recipe);
      await runTui(controller, { color: opts.color });
    });
}
