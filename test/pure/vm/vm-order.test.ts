/**
 * The kernel tier runs two files at a time; its wall time depends on starting the long files
 * first (test/support/ava-vm.config.mjs). Every kernel-tier file must be in that list, so that a
 * new file's place is decided by a measurement, not by its name.
 */
import test from 'ava';
import { globSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
// @ts-expect-error a plain ESM config file without types
import config, { LONGEST_FIRST, rank } from '../../support/ava-vm.config.mjs';

const root = fileURLToPath(new URL('../../..', import.meta.url));

test('every kernel-tier test file has its measured place in the longest-first order', (t) => {
  const files = globSync('test/vm/**/*.test.ts', { cwd: root }).sort();
  t.true(files.length >= 10);
  for (const f of files) t.not(rank(f), -1, `${f} is missing from LONGEST_FIRST in test/support/ava-vm.config.mjs`);
  t.is(new Set(LONGEST_FIRST).size, LONGEST_FIRST.length);
});

test('bundles sort longest first; an unlisted file goes before every listed one', (t) => {
  const bundles = ['dist/vm-tests/kernel-geneve.test.mjs', '/x/dist/vm-tests/ovs/ssh-ovs-system.test.mjs', 'dist/vm-tests/checks/impair.test.mjs', 'dist/vm-tests/new/thing.test.mjs'];
  t.deepEqual([...bundles].sort(config.sortTestFiles), [
    'dist/vm-tests/new/thing.test.mjs',
    '/x/dist/vm-tests/ovs/ssh-ovs-system.test.mjs',
    'dist/vm-tests/checks/impair.test.mjs',
    'dist/vm-tests/kernel-geneve.test.mjs',
  ]);
  // checks/impair and checks/impair-recipe are told apart (not a prefix match).
  t.true(rank('dist/vm-tests/checks/impair-recipe.test.mjs') < rank('dist/vm-tests/checks/impair.test.mjs'));
});
