import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { counterVerdict, flowSpec, nftMatchProblem, parseLinkCounters, parseNftRuleCounter, parseOfctlFlowCounters, parseOfctlPortCounters, parseTcFilterCounters, type CounterReading } from '../../../lib/checks/counter.js';
import { errorsOf, tryLoad } from '../recipe/helpers.js';
import type { CounterCheck } from '../../../lib/model/look-checks.js';
import { FIXTURES } from '../checks/fixtures.js';

const fx = (f: string) => readFileSync(join(FIXTURES, 'look', f), 'utf8');

const check = (o: Partial<CounterCheck> = {}): CounterCheck => ({ kind: 'counter', name: 'c', on: 'box-2', host: 'box-2', source: { kind: 'link', dev: 'tun0' }, field: 'rx_frame_errors', delta: { min: 1 }, during: 'ping', ...o });
const reading = (values: Record<string, number>, o: Partial<CounterReading> = {}): CounterReading => ({ subject: 'ip -s -s -j link show dev tun0 in netns gl-x-box-2', at: 0, values, raw: '', ...o });

test('ip -s -s -j link: every stats64 counter by direction and kernel name', (t) => {
  const v = parseLinkCounters(fx('ip-s-s-link-lo.json'))!;
  for (const k of ['rx_bytes', 'rx_packets', 'rx_errors', 'rx_dropped', 'rx_frame_errors', 'rx_crc_errors', 'rx_missed_errors', 'tx_packets', 'tx_carrier_errors', 'tx_collisions']) t.is(typeof v[k], 'number', k);
  t.is(parseLinkCounters('[]'), undefined);
});

test('ovs-ofctl dump-ports: counters by port; "?" is absent, never 0', (t) => {
  const ports = parseOfctlPortCounters(fx('ofctl-dump-ports.txt'));
  t.deepEqual(ports.map((p) => p.port), ['LOCAL', '1']);
  t.deepEqual(ports[0]!.values, { rx_packets: 12, rx_bytes: 1048, rx_dropped: 0, rx_errors: 0, rx_frame_errors: 0, rx_over_errors: 0, rx_crc_errors: 0, tx_packets: 11, tx_bytes: 958, tx_dropped: 0, tx_errors: 0, tx_collisions: 0 });
  t.deepEqual(ports[1]!.values, { rx_packets: 11, rx_bytes: 958, tx_packets: 22, tx_bytes: 2466 });
});

test('ovs-ofctl dump-flows: n_packets/n_bytes summed over the flows printed, only those at the priority asked (ovs-ofctl omits 32768)', (t) => {
  const out = `NXST_FLOW reply (xid=0x4):
 cookie=0x0, duration=3.780s, table=0, n_packets=2, n_bytes=168, idle_age=3, priority=100,tun_metadata0=0xcafe,in_port=2 actions=output:1
 cookie=0x0, duration=3.779s, table=0, n_packets=4, n_bytes=336, idle_age=2, priority=50,in_port=2 actions=drop
 cookie=0x0, duration=3.779s, table=1, n_packets=7, n_bytes=700, idle_age=2, in_port=2 actions=drop
`;
  t.deepEqual(parseOfctlFlowCounters(out), { n_packets: 13, n_bytes: 1204, flows: 3 });
  t.deepEqual(parseOfctlFlowCounters(out, 50), { n_packets: 4, n_bytes: 336, flows: 1 });
  t.deepEqual(parseOfctlFlowCounters(out, 32768), { n_packets: 7, n_bytes: 700, flows: 1 }, 'a flow printed without priority= has the default');
  t.is(parseOfctlFlowCounters(out, 7), undefined);
  t.is(parseOfctlFlowCounters('NXST_FLOW reply (xid=0x4):\n'), undefined);
  // ovs-ofctl dump-flows takes no priority: it is split off and applied to the output.
  t.deepEqual(flowSpec('table=0, priority=50,in_port=tun0'), { priority: 50, rest: 'table=0,in_port=tun0' });
  t.deepEqual(flowSpec('in_port=tun0'), { rest: 'in_port=tun0' });
  t.deepEqual(flowSpec('priority=0'), { priority: 0, rest: '' });
});

test('ovs_flow counters: an OVS switch, n_packets/n_bytes, no actions, ports of that switch; recipe port names resolved', (t) => {
  const lab = (counter: string) => `lab: t
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24 }] }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24 }] }
switches:
  - { name: sw1, host: box-1, kind: ovs }
  - { name: sw2, host: box-2, kind: ovs }
  - { name: lb, host: box-2 }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24] }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - { name: tun0, between: [sw1, sw2], vni: 5 }
checks:
  - { name: p, ping: { from: left, to: right } }
  - ${counter}
`;
  const ok = tryLoad(lab('{ name: c, counter: { on: sw2, ovs_flow: "priority=50,in_port=tun0", field: n_packets, min: 1, during: p } }'));
  t.deepEqual(errorsOf(ok), []);
  const c = ok.ok!.lab.checks.find((x) => x.name === 'c') as CounterCheck;
  t.deepEqual(c.source, { kind: 'ovs_flow', bridge: 'sw2', match: 'priority=50,in_port=tun0' });
  const bad = (counter: string) => errorsOf(tryLoad(lab(counter))).map((e) => `${e.path}: ${e.message}`).join('\n');
  t.regex(bad('counter: { on: sw2, ovs_flow: "priority=50,in_port=tun0,actions=drop", field: n_packets, min: 1, during: p }'), /checks\[1\]\.counter\.ovs_flow: ovs_flow names flows by their match and priority only .*e\.g\. "priority=50,in_port=tun0"/);
  t.regex(bad('counter: { on: sw2, ovs_flow: "in_port=tun0", field: rx_packets, min: 1, during: p }'), /counter\.field: "rx_packets" is not a ovs_flow counter \(did you mean "n_packets"\?\); use one of: n_packets, n_bytes/);
  t.regex(bad('counter: { on: lb, ovs_flow: "in_port=tun0", field: n_packets, min: 1, during: p }'), /counter\.on: ovs_flow reads a flow of an OVS switch; "lb" is not a switch with kind: ovs/);
  t.regex(bad('counter: { on: sw2, ovs_flow: "in_port=left", field: n_packets, min: 1, during: p }'), /counter\.ovs_flow: switch "sw2" has no port "left"; its ports: sw2, right, tun0/);
});

test('tc filters: the actions\' statistics, optionally of one pref; filters without actions count nothing', (t) => {
  const all = parseTcFilterCounters(fx('tc-filter-u32-mirred.json'));
  t.is(all.filters, 1);
  t.deepEqual(all.values, { packets: 0, bytes: 0, drops: 0, overlimits: 0 });
  t.is(parseTcFilterCounters(fx('tc-filter-u32-mirred.json'), 20).filters, 0);
  const synthetic = JSON.stringify([{ pref: 1, options: { actions: [{ stats: { packets: 3, bytes: 300 } }] } }, { pref: 2, options: { actions: [{ stats: { packets: 4, bytes: 40 } }] } }]);
  t.deepEqual(parseTcFilterCounters(synthetic).values, { packets: 7, bytes: 340 });
  t.deepEqual(parseTcFilterCounters(synthetic, 2).values, { packets: 4, bytes: 40 });
});

test('nft: the counter of the rule with our comment', (t) => {
  t.deepEqual(parseNftRuleCounter(fx('nft-list-chain.json'), 'geneve-lab:0123456789ab'), { packets: 0, bytes: 0 });
  t.is(parseNftRuleCounter(fx('nft-list-chain.json'), 'geneve-lab:other'), undefined);
});

test('nft matches are one match expression: no second command, no statements', (t) => {
  t.is(nftMatchProblem('udp dport 6081 meta length > 600'), undefined);
  t.is(nftMatchProblem('ip saddr 192.0.2.11 udp dport { 6081, 4789 }'), undefined);
  t.regex(nftMatchProblem('udp dport 1; flush ruleset')!, /single nftables match expression/);
  t.regex(nftMatchProblem('udp dport 1\nflush ruleset')!, /single/);
  t.regex(nftMatchProblem('udp dport 6081 drop')!, /"drop" is a statement or verdict/);
  t.regex(nftMatchProblem('udp dport 6081 counter')!, /"counter"/);
  t.regex(nftMatchProblem('meta mark set 1')!, /"set"/);
});

test('verdict: the delta against min/max/equals, observed next to expected', (t) => {
  t.is(counterVerdict(check(), reading({ rx_frame_errors: 2 }), reading({ rx_frame_errors: 5 })).status, 'passed');
  const v = counterVerdict(check({ delta: { min: 1 } }), reading({ rx_frame_errors: 2 }), reading({ rx_frame_errors: 2 }));
  t.is(v.status, 'failed');
  t.is(v.message, 'ip -s -s -j link show dev tun0 in netns gl-x-box-2:\n  rx_frame_errors delta (2 → 2): expected >= 1, observed 0');
  t.deepEqual(v.assertions, [{ field: 'rx_frame_errors delta (2 → 2)', expected: '>= 1', observed: '0', ok: false }]);
  t.is(counterVerdict(check({ delta: { equals: 0 } }), reading({ rx_frame_errors: 2 }), reading({ rx_frame_errors: 3 })).status, 'failed');
  t.is(counterVerdict(check({ delta: { min: 1, max: 3 } }), reading({ rx_frame_errors: 0 }), reading({ rx_frame_errors: 3 })).status, 'passed');
});

test('a counter that cannot be observed is an error: absent field, failed reading, counter going backwards', (t) => {
  const absent = counterVerdict(check({ field: 'rx_dropped' }), reading({ rx_packets: 1 }), reading({ rx_packets: 2 }));
  t.is(absent.status, 'error');
  t.regex(absent.message!, /counter "rx_dropped" is not exported by this source \(it has: rx_packets\)/);
  const failed = counterVerdict(check(), reading({}, { error: 'nft is not installed' }), reading({ rx_frame_errors: 1 }));
  t.is(failed.status, 'error');
  t.is(failed.message, 'nft is not installed');
  const back = counterVerdict(check(), reading({ rx_frame_errors: 9 }), reading({ rx_frame_errors: 1 }));
  t.is(back.status, 'error');
  t.regex(back.message!, /went backwards \(9 → 1\)/);
});
