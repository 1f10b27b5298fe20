/**
 * Entry of the CLI's V8 startup snapshot (dist/geneve-lab.blob, made by `scripts/bundle.mjs
 * --snapshot`; run as `node --snapshot-blob dist/geneve-lab.blob -- ARGS…`).
 *
 * Why: inside the TCG VM a CLI start spends seconds evaluating modules — the recipe schemas
 * (zod), the engine, the backends — and compiling the code that reads a recipe, before any work
 * (issue 19, target 4). Here that happens once, at build time, and the process starts from the
 * resulting heap.
 *
 * What must not be frozen into the heap: nothing that reads the environment, the terminal, the
 * clock or the pid runs at module evaluation (runCli reads them when it runs); koffi, a native
 * addon, is loaded on first use through createRequire, never at evaluation. The TUI (ink, React)
 * is not in this build: lib/vm/project.ts keeps bin/geneve-lab.js for `tui` and `up --tui`.
 */
import v8 from 'node:v8';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './program.js';
import { loadRecipeText } from '../lib/recipe/load.js';
import { planLab } from '../lib/plan/plan.js';
import { projectRoot } from '../lib/vm/project.js';

/**
 * Read and plan every shipped recipe once: the code that does it is compiled now and kept in the
 * snapshot, and zod builds its per-schema parsers on first use — about a second of a first
 * `run` in the guest otherwise. Pure work on texts: no file is remembered, nothing touches the system.
 */
function warmRecipeCode(): void {
  const dir = join(projectRoot(), 'recipes');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
    try {
      planLab(loadRecipeText(readFileSync(join(dir, f), 'utf8'), join(dir, f)).lab);
    } catch {
      // A recipe that needs something absent here (a file it names) still warmed what it reached.
    }
  }
}

// Evaluate every command module but the TUI's now, so that no verb evaluates one at run time.
void Promise.all([import('./commands/recipe.js'), import('./commands/lab.js'), import('./commands/toolbox.js'), import('./commands/vm.js')]).then(() => {
  warmRecipeCode();
  v8.startupSnapshot.setDeserializeMainFunction(() => {
    // process.argv of a snapshot start is [node, ARGS…]: the CLI expects [node, script, ARGS…].
    void runCli([process.argv[0]!, 'geneve-lab', ...process.argv.slice(1)]);
  });
});
