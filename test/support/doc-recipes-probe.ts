/**
 * Run as a script (node --import tsx): for each recipe file given, why this machine cannot run it
 * — `up`'s own prerequisite check, before any change — or null. Prints one JSON object (file →
 * reason). A script, because ava wants its tests declared synchronously (test/priv/cli/docs-recipes).
 */
import { loadRecipeText } from '../../lib/recipe/load.js';
import { PrerequisiteError } from '../../lib/errors.js';
import { makeEngine } from '../../cli/context.js';
import { assertPrerequisites } from '../../cli/commands/lab.js';
import { readFileSync } from 'node:fs';

const [stateDir, ...files] = process.argv.slice(2);
const engine = await makeEngine({ stateDir: stateDir!, quiet: true, json: true });
const out: Record<string, string | null> = {};
try {
  for (const file of files) {
    try {
      await assertPrerequisites(engine, loadRecipeText(readFileSync(file, 'utf8'), file).lab, { checks: true });
      out[file] = null;
    } catch (e) {
      if (!(e instanceof PrerequisiteError)) throw e;
      out[file] = `this machine lacks: ${e.missing.map((m) => m.feature).join(', ')} (the kernel tier runs it in the VM: test/vm/look/doc-recipes.test.ts)`;
    }
  }
} finally {
  await engine.backend.close();
}
process.stdout.write(JSON.stringify(out));
