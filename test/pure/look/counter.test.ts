import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { counterVerdict, nftMatchProblem, parseLinkCounters, parseNftRuleCounter, parseOfctlPortCounters, parseTcFilterCounters, type CounterReading } from '../../../lib/checks/counter.js';
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
