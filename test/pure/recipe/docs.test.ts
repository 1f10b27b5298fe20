/**
 * Every complete recipe in the docs (README.md and docs/*.md: a ```yaml block that starts with
 * `lab:`) loads without errors or warnings, and every capture `expect` key the validator accepts
 * is documented. test/priv/cli/docs-recipes.test.ts runs the same blocks where this machine can.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { CAPTURE_KEYS } from '../../../lib/checks/capture-expect.js';
import { docRecipes } from '../../support/doc-recipes.js';

const root = join(import.meta.dirname, '../../..');
const blocks = docRecipes(root);

test('README.md and docs/recipes.md have complete examples', (t) => {
  t.true(blocks.filter((b) => b.file === 'docs/recipes.md').length >= 6, `${blocks.length} blocks`);
  t.true(blocks.some((b) => b.file === 'README.md'), 'README has its example recipe');
});

for (const b of blocks)
  test(`${b.file}:${b.line} example (${b.lab}) loads without errors or warnings`, (t) => {
    const { lab, warnings } = loadRecipeText(b.text, `${b.file}:${b.line}.yaml`);
    t.deepEqual(warnings, []);
    t.true(lab.checks.length > 0 || (lab.steps?.length ?? 0) > 0);
  });

test("README's example is the quickstart recipe's topology: OVS switches, so it runs on kernels without geneve", (t) => {
  const readme = blocks.find((b) => b.file === 'README.md' && b.lab === 'quickstart')!;
  const { lab } = loadRecipeText(readme.text, 'README.md');
  const { lab: shipped } = loadRecipeText(readFileSync(join(root, 'recipes/quickstart.yaml'), 'utf8'), 'recipes/quickstart.yaml');
  t.deepEqual(lab.switches.map((s) => [s.name, s.kind]), shipped.switches.map((s) => [s.name, s.kind]));
  t.deepEqual(lab.tunnels.map((x) => [x.name, x.type, x.geneve?.vni]), shipped.tunnels.map((x) => [x.name, x.type, x.geneve?.vni]));
});

test('every capture expect key the validator accepts is documented in docs/recipes.md', (t) => {
  const doc = readFileSync(join(root, 'docs/recipes.md'), 'utf8');
  t.deepEqual(CAPTURE_KEYS.filter((k) => !doc.includes(`\`${k}\``)), []);
});

test('the docs directory has no recipe outside the scanned files', (t) => {
  // A new docs/*.md is scanned automatically; this guards the scan itself.
  const md = readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md'));
  t.true(md.every((f) => blocks.some((b) => b.file === `docs/${f}`) || !/```yaml\nlab:/.test(readFileSync(join(root, 'docs', f), 'utf8'))));
});
