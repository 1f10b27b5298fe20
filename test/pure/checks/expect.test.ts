import test from 'ava';
import { assert, assertionVerdict, getPath, matcherProblem, matches } from '../../../lib/checks/expect.js';

test('scalars compare as written, numbers also across 0x strings', (t) => {
  t.true(matches(5000, 5000));
  t.true(matches('0x1388', 5000));
  t.true(matches(40, '0x28'));
  t.true(matches('up', 'up'));
  t.false(matches('UP', 'down'));
  t.false(matches(5000, 5001));
  t.false(matches(5000, undefined), 'an absent field never equals a value');
  t.true(matches(true, true));
  t.false(matches(true, 'true'));
});

test('matcher maps: ranges, presence, text and alternatives combine with AND', (t) => {
  t.true(matches({ min: 1 }, 3));
  t.false(matches({ min: 1 }, 0));
  t.true(matches({ min: 1, max: 3 }, '0x2'));
  t.false(matches({ max: 3 }, 'many'), 'a range never matches a non-number');
  t.true(matches({ exists: false }, undefined));
  t.false(matches({ exists: false }, 0));
  t.true(matches({ exists: true }, 0));
  t.true(matches({ matches: '^tun_id=0x5' }, 'in_port=1\ntun_id=0x5,actions=drop'), 'multi-line: ^ matches at every line');
  t.true(matches({ contains: 'genev_sys' }, 'port 2: genev_sys_6081'));
  t.false(matches({ not_contains: 'ERR' }, 'WARN|ERR|x'));
  t.true(matches({ one_of: ['set', 'inherit'] }, 'inherit'));
  t.false(matches({ min: 1, matches: '^2' }, 3));
});

test('matcher problems are found before anything runs', (t) => {
  t.is(matcherProblem(5), undefined);
  t.is(matcherProblem({ min: 1, max: 2 }), undefined);
  t.regex(matcherProblem({ minimum: 1 })!, /unknown matcher "minimum"; use: equals, min/);
  t.regex(matcherProblem({ min: 3, max: 2 })!, /min 3 is above max 2/);
  t.regex(matcherProblem({ matches: '(' })!, /not a valid regular expression/);
  t.regex(matcherProblem([1, 2])!, /one_of/);
  t.regex(matcherProblem(null)!, /missing/);
  t.regex(matcherProblem({ min: 'lots' })!, /min must be a number/);
});

test('getPath walks maps and arrays', (t) => {
  const doc = [{ mtu: 1450, linkinfo: { info_kind: 'geneve', info_data: { id: 5000 } }, addr_info: [{ local: '192.0.2.1' }, { local: '2001:db8::1' }] }];
  t.is(getPath(doc, '0.linkinfo.info_data.id'), 5000);
  t.is(getPath(doc, '0.addr_info.1.local'), '2001:db8::1');
  t.is(getPath(doc, '0.linkinfo.info_data.remote'), undefined);
  t.is(getPath(doc, 'x.mtu'), undefined);
  t.is(getPath(doc[0], 'mtu'), 1450);
});

test('a verdict names every failing field with expected and observed values', (t) => {
  const v = assertionVerdict('ip -d -j link show dev tun0 in netns gl-a-h1', [
    assert('linkinfo.info_data.id', 5000, 5001),
    assert('mtu', { max: 1450 }, 1450),
    assert('linkinfo.info_data.remote', { exists: true }, undefined),
  ]);
  t.is(v.status, 'failed');
  t.is(v.message, 'ip -d -j link show dev tun0 in netns gl-a-h1:\n  linkinfo.info_data.id: expected 5000, observed 5001\n  linkinfo.info_data.remote: expected present, observed (absent)');
  t.is(v.assertions.filter((a) => a.ok).length, 1);
  t.is(assertionVerdict('x', [assert('mtu', 1450, 1450)]).status, 'passed');
  t.is(assertionVerdict('x', []).status, 'error', 'asserting nothing is not a pass');
});
