import test from 'ava';
import { LineCounter, parseDocument } from 'yaml';
import { Locator, didYouMean, formatPath } from '../../../lib/recipe/locate.js';
import { baseRecipe, errorsOf, tryLoad } from './helpers.js';

const text = `lab: x
tunnels:
  - name: a
    vni: 5
  - name: b
    between: [sw1,   sw2]
    ovs:
      key: 7
    empty:
`;
const lc = new LineCounter();
const loc = new Locator('f.yaml', parseDocument(text, { lineCounter: lc }), lc);

test('values are located at their first character (1-based)', (t) => {
  t.deepEqual(loc.position(['lab']), { line: 1, column: 6 });
  t.deepEqual(loc.position(['tunnels', 0, 'vni']), { line: 4, column: 10 });
  t.deepEqual(loc.position(['tunnels', 1, 'between', 1]), { line: 6, column: 22 });
  t.deepEqual(loc.position(['tunnels', 1, 'ovs', 'key']), { line: 8, column: 12 });
});

test('keys can be located instead of values', (t) => {
  t.deepEqual(loc.position(['tunnels', 0, 'vni'], 'key'), { line: 4, column: 5 });
});

test('missing keys point at the parent map; empty values at their key', (t) => {
  t.deepEqual(loc.position(['tunnels', 0, 'between']), { line: 3, column: 5 });
  t.deepEqual(loc.position(['tunnels', 5, 'name']), { line: 3, column: 3 });
  t.deepEqual(loc.position(['tunnels', 1, 'empty']), { line: 9, column: 5 });
});

test('paths are formatted as in messages', (t) => {
  t.is(formatPath(['tunnels', 1, 'vni']), 'tunnels[1].vni');
  t.is(formatPath(['checks', 0, 'ping', 'from', 2]), 'checks[0].ping.from[2]');
});

test('did-you-mean finds close names only', (t) => {
  t.is(didYouMean('vnl', ['vni', 'ttl', 'tos']), 'vni');
  t.is(didYouMean('dstprot', ['dstport', 'srcport']), 'dstport');
  t.is(didYouMean('colour', ['name', 'host', 'kind']), undefined);
});

test('errors in a real recipe carry exact line:column', (t) => {
  const src = baseRecipe({ tunnel: 'ttl: 300' });
  const line = src.split('\n').findIndex((l) => l.includes('ttl: 300')) + 1;
  const [e] = errorsOf(tryLoad(src));
  t.is(e?.path, 'tunnels[0].ttl');
  t.is(e?.line, line);
  t.is(e?.column, 10);
  t.regex(e?.message ?? '', /300 is not a valid ttl; use 0\.\.255, inherit or auto/);
});

test('unknown keys point at the key itself', (t) => {
  const src = baseRecipe({ tunnel: 'dstprot: 6081' });
  const line = src.split('\n').findIndex((l) => l.includes('dstprot')) + 1;
  const [e] = errorsOf(tryLoad(src));
  t.deepEqual([e?.line, e?.column, e?.path], [line, 5, 'tunnels[0].dstprot']);
  t.regex(e?.message ?? '', /did you mean "dstport"/);
});

test('a missing required key points at the map that should hold it', (t) => {
  const src = baseRecipe().replace('{ name: sw2, host: box-2 }', '{ name: sw2 }');
  const line = src.split('\n').findIndex((l) => l.includes('{ name: sw2 }')) + 1;
  const [e] = errorsOf(tryLoad(src));
  t.deepEqual([e?.line, e?.column, e?.path], [line, 5, 'switches[1].host']);
});
