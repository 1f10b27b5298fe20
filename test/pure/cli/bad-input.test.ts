/**
 * The bad-input corpus (test/fixtures/recipes, test/fixtures/recipes/bad): every file is exit 2
 * through the real CLI, one clear message per problem, no stack trace, and a file:line:column
 * position wherever the problem has one (a missing, empty or directory "recipe" has none).
 */
import test from 'ava';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../../support/cli.js';

const root = join(import.meta.dirname, '../../fixtures/recipes');
/** Problems of the whole file, without a position. */
const WHOLE_FILE = new Set(['empty.yaml', 'comments-only.yaml', 'a-directory.yaml', 'does-not-exist.yaml']);
const corpus = [
  ...readdirSync(root).filter((f) => f.endsWith('.yaml') && f !== 'five-mistakes.yaml').map((f) => join(root, f)),
  join(root, 'does-not-exist.yaml'),
  join(root, 'five-mistakes.yaml'),
  ...readdirSync(join(root, 'bad')).map((f) => join(root, 'bad', f)),
].filter((f) => !f.includes('/faults/'));

test('every file of the bad-input corpus is exit 2 with its position, without a stack trace', (t) => {
  t.true(corpus.length >= 20, `${corpus.length} files`);
  for (const file of corpus) {
    const name = file.slice(root.length + 1);
    const r = cli(['validate', file]);
    t.is(r.code, 2, `${name}: ${r.stdout}${r.stderr}`);
    t.notRegex(r.stderr, /\n\s+at |internal error|Maximum call stack|parseAllDocuments|resource exhaustion/, name);
    const base = name.split('/').pop()!;
    if (WHOLE_FILE.has(base) || (statSync(root).isDirectory() && base === 'a-directory.yaml')) continue;
    t.regex(r.stderr, /\.yaml:\d+:\d+: error: /, `${name} has a position:\n${r.stderr}`);
  }
});
