import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRecipeText } from '../../../lib/recipe/load.js';

const doc = readFileSync(join(import.meta.dirname, '../../../docs/recipes.md'), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n(lab:[\s\S]*?)```/g)].map((m) => m[1]!);

test('docs/recipes.md has complete examples', (t) => {
  t.true(blocks.length >= 6, `${blocks.length} blocks`);
});

blocks.forEach((text, i) => {
  const name = /^lab: (\S+)/.exec(text)![1];
  test(`docs example ${i + 1} (${name}) loads without errors or warnings`, (t) => {
    const { lab, warnings } = loadRecipeText(text, `docs-${name}.yaml`);
    t.deepEqual(warnings, []);
    t.true(lab.checks.length > 0);
  });
});
