/**
 * Issue 17, problem 8: input limits with our own located messages, quickly, and every problem of
 * a recipe in one run (schema and semantic together).
 */
import test from 'ava';
import { join } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadRecipeFile, loadRecipeText } from '../../../lib/recipe/load.js';
import { RecipeError, ExitCode } from '../../../lib/errors.js';
import { MAX_RECIPE_BYTES, firstInvalidUtf8 } from '../../../lib/recipe/limits.js';
import { baseRecipe } from './helpers.js';

const bad = (f: string) => join(import.meta.dirname, '../../fixtures/recipes/bad', f);

test('a recipe over 1 MiB is refused at once (before it is read), exit 2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-big-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'big.yaml');
  // 50 MB of hosts: the case that took 27 s and 2.1 GB before.
  writeFileSync(file, 'lab: x\nhosts:\n' + '  - { name: a, interfaces: [{ ipv4: 192.0.2.1/24 }] }\n'.repeat(1_000_000));
  const t0 = Date.now();
  const e = await t.throwsAsync(loadRecipeFile(file), { instanceOf: RecipeError });
  t.true(Date.now() - t0 < 1000, `refused in ${Date.now() - t0} ms`);
  t.is(e!.exitCode, ExitCode.invalidInput);
  t.regex(e!.problems[0]!.message, /at most 1 MiB/);
  const e2 = t.throws(() => loadRecipeText('lab: x\n# ' + 'x'.repeat(MAX_RECIPE_BYTES) + '\n', 'big.yaml'), { instanceOf: RecipeError });
  t.regex(e2!.problems[0]!.message, /at most 1 MiB/);
});

test('10 000-deep nesting is our own message with its position, not a stack overflow', (t) => {
  for (const [text, width] of [
    ['lab: x\nhosts: ' + '['.repeat(10_000) + ']'.repeat(10_000) + '\n', 1],
    ['lab: x\nhosts: ' + '{a: '.repeat(5000) + '1' + '}'.repeat(5000) + '\n', 4],
  ] as const) {
    const t0 = Date.now();
    const e = t.throws(() => loadRecipeText(text, 'deep.yaml'), { instanceOf: RecipeError });
    t.true(Date.now() - t0 < 1000);
    const p = e!.problems[0]!;
    t.regex(p.message, /nesting is deeper than 64 levels/);
    t.notRegex(e!.message, /call stack/i);
    t.is(p.line, 2);
    // At the bracket that goes past 64 levels (the top map and `hosts` are two of them).
    t.true(Math.abs(p.column - (8 + 63 * width)) <= width + 1, `column ${p.column}`);
  }
});

test('deep block nesting (indentation) is caught too, located', async (t) => {
  const e = await t.throwsAsync(loadRecipeFile(bad('deep-block.yaml')), { instanceOf: RecipeError });
  t.regex(e!.problems[0]!.message, /nesting is deeper than 64 levels/);
  t.true(e!.problems[0]!.line > 60);
});

test('an alias bomb is refused with our message at the alias that expands most', async (t) => {
  const e = await t.throwsAsync(loadRecipeFile(bad('alias-bomb.yaml')), { instanceOf: RecipeError });
  const p = e!.problems[0]!;
  t.regex(p.message, /aliases \(\*name\) expand this recipe by more than 10000 values/);
  t.notRegex(p.message, /resource exhaustion/);
  t.true(p.line >= 5, `line ${p.line}`);
  // A recipe repeating a value with an alias is fine.
  t.notThrows(() => loadRecipeText(baseRecipe({ top: 'description: &d "a lab"\nvariables: { note: *d, again: *d }' }), 'ok.yaml'));
});

test('several YAML documents: our own message, at the second document', async (t) => {
  const e = await t.throwsAsync(loadRecipeFile(bad('two-documents.yaml')), { instanceOf: RecipeError });
  const p = e!.problems[0]!;
  t.regex(p.message, /a second YAML document starts here \(---\); a recipe is one document/);
  t.notRegex(p.message, /parseAllDocuments/);
  t.is(p.line, 2);
});

test('invalid UTF-8 says where: line and column', async (t) => {
  const e = await t.throwsAsync(loadRecipeFile(bad('invalid-utf8-line3.yaml')), { instanceOf: RecipeError });
  const p = e!.problems[0]!;
  t.regex(p.message, /byte 0xc3 at offset \d+ is not UTF-8/);
  t.deepEqual([p.line, p.column], [3, 12]);
});

test('the UTF-8 checker agrees with a strict decoder', (t) => {
  const cases: number[][] = [[0x61], [0xc3, 0xa9], [0xc3], [0xe2, 0x82, 0xac], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf], [0x80], [0x61, 0xff, 0x61]];
  for (const c of cases) {
    let ok = true;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(c));
    } catch {
      ok = false;
    }
    t.is(firstInvalidUtf8(Uint8Array.from(c)) < 0, ok, c.map((b) => b.toString(16)).join(' '));
  }
});

test('twelve planted mistakes, schema and semantic mixed, are all reported in one run', async (t) => {
  const e = await t.throwsAsync(loadRecipeFile(bad('twelve-mistakes.yaml')), { instanceOf: RecipeError });
  const got = e!.problems.filter((p) => p.severity === 'error').map((p) => `${p.line} ${p.path}`);
  t.deepEqual(got, [
    '7 hosts[1].interfaces[0].ipv4',
    '10 switches[1].host',
    '11 switches[2].kind',
    '13 guests[0].mtu',
    '14 guests[1].switch',
    '15 guests[2].adresses',
    '17 tunnels[0].vni',
    '18 tunnels[1].between[1]',
    '20 checks[0].ping.to',
    '21 checks[1].ping.from',
    '21 checks[1].ping.count',
    '22 checks[2].iperf.duration',
  ]);
  // References to what was set aside (guest "mid" lost its addresses key, switch sw3 its kind) are not "unknown".
  t.false(e!.problems.some((p) => /"mid"|"sw3"/.test(p.message) && /unknown/.test(p.message)));
});
