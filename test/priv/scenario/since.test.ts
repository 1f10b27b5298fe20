/**
 * The scenario runner and the checks that look, together, on real namespaces (kernel VXLAN here):
 * a `counter` with `since: STEP` measures from the moment that step finished (not from the start
 * of the run, not from the counter's own start), and a `state` expectation `unchanged_since:`
 * compares with the query's result at that step. OVS labs: the vswitchd log gate is judged after
 * the steps (a warning a step provokes fails the gate).
 */
import { privTest } from '../../support/priv.js';
import { rootLinks } from '../ovs-recipes/support.js';
import { OVS, scenarioLab, show, twoOvsHosts } from './support.js';

const rootBefore = rootLinks();

const vxlanLab = (steps: string) => `lab: LAB
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24 }] }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24 }] }
switches:
  - { name: sw1, host: box-1 }
  - { name: sw2, host: box-2 }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24] }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - { name: tun0, between: [sw1, sw2], type: vxlan, vni: 42 }
checks:
  - { name: warm, ping: { from: left, to: right, count: 20, interval: 0.01 } }
steps:
${steps}`;

privTest('counter since a step counts only what crossed after that step; state unchanged_since compares with that moment', (t) => {
  const s = scenarioLab(t, 'sn');
  // 20 pings before `mark` (in checks:) and 5 after it: since `mark`, box-2's tunnel received 5
  // echo requests — the 20 earlier ones must not be counted.
  const file = s.write('since.yaml', vxlanLab(`  - { name: mark, sleep: 10ms }
  - { name: five, ping: { from: left, to: right, count: 5, interval: 0.05 } }
  - { name: grew, counter: { on: box-2, link: tun0, field: rx_packets, min: 5, max: 12, since: mark } }
  - { name: same-dev, state: { on: box-2, ip: [link, show, dev, tun0], expect: { ifindex: { unchanged_since: mark } } } }
`));
  const r = s.json('run', file);
  t.is(r.code, 0, `${r.out}\n${show(r.results)}`);
  t.is(r.byName.grew?.status, 'passed', show(r.results));
  t.is(r.byName['same-dev']?.status, 'passed', show(r.results));

  // The same counter with a window that would include the 20 warm-up pings fails: proof the
  // snapshot is taken at `mark`, not before the checks.
  const tight = s.write('tight.yaml', vxlanLab(`  - { name: mark, sleep: 10ms }
  - { name: five, ping: { from: left, to: right, count: 5, interval: 0.05 } }
  - { name: grew, counter: { on: box-2, link: tun0, field: rx_packets, min: 20, since: mark } }
`));
  const r2 = s.json('run', tight);
  t.is(r2.code, 1, r2.out);
  t.is(r2.byName.grew?.status, 'failed', show(r2.results));
  t.deepEqual(s.leftovers(), { namespaces: [], processes: [] });
  t.deepEqual(rootLinks(), rootBefore);
});

privTest('the vswitchd log gate runs after the steps: a warning a step provokes fails it', (t) => {
  const s = scenarioLab(t, 'sg');
  const file = s.write('gate.yaml', twoOvsHosts(`  - { name: provoke, ovs: { on: sw1, vsctl: [set, Interface, tun0, "options:frobnicate=yes"] } }
  - { name: settle, sleep: 500ms }
`));
  const r = s.json('run', file);
  t.is(r.code, 1, r.out);
  const names = r.results.map((x) => x.name);
  const gate = names.indexOf('vswitchd-log box-1');
  t.true(gate > names.indexOf('settle'), `the gate comes after the steps: ${names.join(', ')}`);
  t.is(r.byName['vswitchd-log box-1']?.status, 'failed', show(r.results));
  t.regex(r.byName['vswitchd-log box-1']!.message ?? '', /frobnicate/);
  t.deepEqual(s.leftovers(), { namespaces: [], processes: [] });
  t.deepEqual(rootLinks(), rootBefore);
}, OVS);
