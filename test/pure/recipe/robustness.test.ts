import test from 'ava';
import { parseDocument, isScalar, visit } from 'yaml';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { RecipeError } from '../../../lib/errors.js';
import { baseRecipe } from './helpers.js';

/** Deterministic PRNG so a failure can be reproduced from its iteration number. */
function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

const REPLACEMENTS: unknown[] = [null, 0, -1, 99999999, 'x', '', true, [], {}, ['a', 'b', 'c'], { a: 1 }, '0x', '${nope}', 1.5];

test('every mutation of a valid recipe either loads or fails with located RecipeError problems', (t) => {
  const src = baseRecipe({ tunnel: 'vni: 5\ntos: 0x28\nsrcport: { low: 1000, high: 2000 }\noptions: [{ class: 1, type: 2, data: "00000001" }]', checks: '  - { name: p, ping: { from: [left, right], to: right } }\n  - capture: { host: box-2, interface: underlay, during: p right→right }' });
  const doc = parseDocument(src);
  let scalars = 0;
  visit(doc, { Scalar: () => void scalars++ });
  const rand = rng(42);
  for (let i = 0; i < 150; i++) {
    const d = doc.clone();
    const target = Math.floor(rand() * scalars);
    const value = REPLACEMENTS[Math.floor(rand() * REPLACEMENTS.length)];
    let n = 0;
    visit(d, {
      Scalar: (_k, node) => {
        if (n++ === target && isScalar(node)) return d.createNode(value);
        return undefined;
      },
    });
    const text = d.toString();
    try {
      loadRecipeText(text, 'fuzz.yaml');
    } catch (e) {
      if (!(e instanceof RecipeError)) {
        t.fail(`iteration ${i}: ${String(e)}\n${text}`);
        return;
      }
      t.true(e.problems.length > 0);
      for (const p of e.problems) t.true(p.message.length > 10 && !p.message.includes('[object'), p.message);
    }
  }
  t.pass();
});

test('YAML alias bombs are refused, not expanded', (t) => {
  const bomb = 'lab: x\na: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n';
  t.throws(() => loadRecipeText(bomb, 'bomb.yaml'), { instanceOf: RecipeError });
});

test('wrong shapes at the top level give clear messages', (t) => {
  const e = t.throws(() => loadRecipeText('lab: x\nhosts: 5\nswitches: { a: 1 }\n', 'shape.yaml'), { instanceOf: RecipeError });
  t.deepEqual(e!.problems.map((p) => [p.path, p.line]), [['hosts', 2], ['switches', 3]]);
  t.regex(e!.problems[0]!.message, /5 is not valid; hosts must be a list/);
  t.regex(e!.problems[1]!.message, /a map is not valid; switches must be a list/);
});

test('a missing lab name is reported at the top', (t) => {
  const e = t.throws(() => loadRecipeText('hosts: []\n', 'nolab.yaml'), { instanceOf: RecipeError });
  t.is(e!.problems.length, 1);
  t.is(e!.problems[0]!.path, 'lab');
  t.regex(e!.problems[0]!.message, /missing required field "lab"/);
  t.is(e!.problems[0]!.line, 1);
});
