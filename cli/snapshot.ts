/**
 * Entry of the CLI's V8 startup snapshot (dist/geneve-lab.blob, made by `scripts/bundle.mjs
 * --snapshot`; run as `node --snapshot-blob dist/geneve-lab.blob ARGS…`).
 *
 * Why: inside the TCG VM a CLI start spends seconds evaluating modules — the recipe schemas
 * (zod), the engine, the backends — before any work (issue 19, target 4). Here that evaluation
 * happens once, at build time, and the process starts from the resulting heap.
 *
 * What must not be frozen into the heap: nothing that reads the environment, the terminal or the
 * clock runs at module evaluation (runCli reads them when it runs); koffi, a native addon, is
 * loaded on first use through createRequire, never at evaluation. The TUI (ink, React) is not
 * in this build: its `tui` verb and `up --tui` say so (bin/geneve-lab.js has them).
 */
import v8 from 'node:v8';
import { runCli } from './program.js';

// Evaluate every command module but the TUI's now, so that no verb evaluates one at run time.
void Promise.all([import('./commands/recipe.js'), import('./commands/lab.js'), import('./commands/toolbox.js'), import('./commands/vm.js')]).then(() => {
  v8.startupSnapshot.setDeserializeMainFunction(() => {
    // process.argv of a snapshot start is [node, ARGS…]: the CLI expects [node, script, ARGS…].
    void runCli([process.argv[0]!, 'geneve-lab', ...process.argv.slice(1)]);
  });
});
