import test from 'ava';
import { join } from 'node:path';
import { loadRecipeFile } from '../../../lib/recipe/load.js';
import { RecipeError, ExitCode } from '../../../lib/errors.js';

const fx = (f: string) => join(import.meta.dirname, '../../fixtures/recipes', f);

const cases: [string, RegExp, number?][] = [
  ['does-not-exist.yaml', /no such file/],
  ['a-directory.yaml', /is a directory/],
  ['empty.yaml', /is empty/],
  ['comments-only.yaml', /is empty/],
  ['nul-bytes.yaml', /NUL bytes/, 1],
  ['invalid-utf8.yaml', /not UTF-8/],
  ['malformed.yaml', /malformed YAML/, 3],
  ['not-a-map.yaml', /must be a map/, 1],
];

for (const [file, re, line] of cases) {
  test(`${file}: one clear RecipeError, no stack trace`, async (t) => {
    const e = await t.throwsAsync(loadRecipeFile(fx(file)), { instanceOf: RecipeError });
    t.is(e!.exitCode, ExitCode.invalidInput);
    t.is(e!.problems.length, 1);
    const p = e!.problems[0]!;
    t.regex(p.message, re);
    t.is(p.file, fx(file));
    if (line !== undefined) t.is(p.line, line);
    t.notRegex(e!.message, /\n\s+at /); // no stack frames in what the user sees
  });
}

test('malformed YAML reports its position', async (t) => {
  const e = await t.throwsAsync(loadRecipeFile(fx('malformed.yaml')), { instanceOf: RecipeError });
  t.deepEqual([e!.problems[0]!.line, e!.problems[0]!.column], [3, 3]);
});

test('duplicate keys are malformed YAML', async (t) => {
  const { loadRecipeText } = await import('../../../lib/recipe/load.js');
  const e = t.throws(() => loadRecipeText('lab: a\nlab: b\n', 'dup.yaml'), { instanceOf: RecipeError });
  t.regex(e!.problems[0]!.message, /malformed YAML: .*unique/i);
  t.is(e!.problems[0]!.line, 2);
});

test('a long comment header before the YAML is read at once (the empty-recipe test is linear, not a backtracking regex)', async (t) => {
  const { loadRecipeText } = await import('../../../lib/recipe/load.js');
  const header = Array.from({ length: 60 }, (_, i) => `# comment line ${i}: ${'x'.repeat(60)}`).join('\n');
  const started = Date.now();
  const { lab } = loadRecipeText(`${header}\nlab: commented\nhosts: [{ name: h1 }]\n`, 'commented.yaml');
  t.is(lab.name, 'commented');
  t.true(Date.now() - started < 2000, `${Date.now() - started} ms`);
  t.throws(() => loadRecipeText(`${header}\n  # indented\n\n`, 'only-comments.yaml'), { message: /is empty/ });
});
