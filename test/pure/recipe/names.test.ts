import test from 'ava';
import { safeIfname, nameProblem, isValidIfname } from '../../../lib/model/names.js';
import { baseRecipe, tryLoad } from './helpers.js';

test('safeIfname keeps short names and hashes long ones to 15 bytes', (t) => {
  t.is(safeIfname('sw1'), 'sw1');
  t.is(safeIfname('exactly-15-byte'), 'exactly-15-byte');
  const long = safeIfname('a-rather-long-switch-name');
  t.is(Buffer.byteLength(long), 15);
  t.regex(long, /^a-rather-l-[0-9a-f]{4}$/);
  t.is(safeIfname('a-rather-long-switch-name'), long, 'stable');
  t.not(safeIfname('a-rather-long-switch-other'), long, 'different names hash differently');
  t.true(isValidIfname(long));
});

test('name rules', (t) => {
  t.is(nameProblem('box-1'), undefined);
  t.regex(nameProblem('Box') ?? '', /lower-case/);
  t.regex(nameProblem('a--b') ?? '', /"--"/);
  t.regex(nameProblem('1a') ?? '', /starting with a letter/);
});

test('long object names become hashed interface names, with a warning', (t) => {
  const src = baseRecipe().replace(/\bsw1\b/g, 'switch-number-one').replace(/\btun0\b/, 'tunnel-to-the-other-side');
  const r = tryLoad(src);
  t.falsy(r.problems, JSON.stringify(r.problems));
  const lab = r.ok!.lab;
  const sw = lab.switches[0]!;
  t.is(sw.ifname, safeIfname('switch-number-one'));
  t.true(Buffer.byteLength(sw.ifname) <= 15);
  t.is(lab.tunnels[0]!.ends[0].ifname, safeIfname('tunnel-to-the-other-side'));
  const w = r.ok!.warnings;
  t.deepEqual(w.map((x) => [x.path, x.severity]), [['switches[0].name', 'warning'], ['tunnels[0].name', 'warning']]);
  t.regex(w[0]!.message, /switch "switch-number-one" is longer than 15 bytes; using "switch-num-[0-9a-f]{4}"/);
  t.is(lab.warnings.length, 2);
});

test('namespaces follow the agreed scheme', (t) => {
  const lab = tryLoad(baseRecipe()).ok!.lab;
  t.is(lab.hosts[0]!.ns, 'gl-t-box-1');
  t.is(lab.guests[1]!.ns, 'gl-t-right');
  t.is(lab.guests[1]!.host, 'box-2');
  t.is(lab.networks[0]!.ns, 'gl-t--underlay');
});
