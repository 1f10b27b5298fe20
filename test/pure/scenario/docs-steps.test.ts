/** Every `steps:` example of docs/recipes.md "Scenarios (steps)" loads in the section's own lab. */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRecipeText } from '../../../lib/recipe/load.js';

const doc = readFileSync(join(import.meta.dirname, '../../../docs/recipes.md'), 'utf8');
const section = doc.slice(doc.indexOf('## Scenarios (steps)'), doc.indexOf('## Impairments (netem)'));
const demo = /```yaml\n(lab: steps-demo[\s\S]*?)```/.exec(section)![1]!;
const labPart = demo.slice(0, demo.indexOf('steps:\n'));
const fragments = [...section.matchAll(/```yaml\n(steps:\n[\s\S]*?)```/g)].map((m) => m[1]!);

test('the section has the demo lab and one example per action', (t) => {
  t.true(fragments.length >= 8, `${fragments.length}`);
  const all = fragments.join('\n');
  for (const k of ['checks:', 'exec:', 'ovs:', 'restart:', 'set:', 'wait:', 'sleep:', 'inject:', 'packet_out:']) t.true(all.includes(`  - ${k}`) || all.includes(`- ${k}`), k);
});

fragments.forEach((f, i) => {
  test(`docs steps example ${i + 1} loads without errors or warnings`, (t) => {
    const { lab, warnings } = loadRecipeText(labPart + f, `docs-steps-${i + 1}.yaml`);
    t.deepEqual(warnings, []);
    t.true((lab.steps ?? []).length > 0);
  });
});
