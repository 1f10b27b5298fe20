import test from 'ava';
import { readFileSync } from 'node:fs';
import { ovsStatsArgv, parseOvsInterfaceStats } from '../../../lib/stats/ovsstats.js';
import { ratesBetween } from '../../../lib/stats/linkstats.js';

// Captured on this machine from a userspace (netdev) OVS bridge with two veth ports, before and
// after `ping -c 10 -s 1000` between the namespaces behind them.
const fx = (n: string) => readFileSync(new URL(`./fixtures/${n}`, import.meta.url), 'utf8');

test('parses real ovs-vsctl statistics into kernel-style counters', (t) => {
  const l = parseOvsInterfaceStats(fx('ovs-list-interface-t1.json'), 'gl-x-h');
  t.deepEqual(l.map((x) => x.ifname), ['pb', 'pa', 'br0']);
  const pa = l[1]!;
  t.is(pa.rxBytes, 11580);
  t.is(pa.txPackets, 31);
  t.is(pa.ns, 'gl-x-h');
  t.is(pa.errors.rx_frame_errors, 0);
  t.is(pa.errors.rx_crc_errors, 0);
  t.is(l[2]!.errors.tx_dropped, 14);
});

test('rates between two real OVS readings', (t) => {
  const a = parseOvsInterfaceStats(fx('ovs-list-interface-t0.json'), '');
  const b = parseOvsInterfaceStats(fx('ovs-list-interface-t1.json'), '');
  const pa = ratesBetween(a, b, 0, 5000).find((r) => r.ifname === 'pa')!;
  // At least the 10 echo requests of 1042-byte frames crossed the port towards OVS.
  t.true(pa.rxBps * 5 >= 10 * 1042);
  t.true(pa.rxPps * 5 >= 10);
  t.false(pa.reset);
});

test('argv and bad input', (t) => {
  t.deepEqual(ovsStatsArgv(['ovs-vsctl', '--db=unix:/x.sock']), ['ovs-vsctl', '--db=unix:/x.sock', '--format=json', '--columns=name,statistics', 'list', 'Interface']);
  t.throws(() => parseOvsInterfaceStats('nope', 'ns1'), { message: /netns ns1/ });
  t.throws(() => parseOvsInterfaceStats('{"x":1}', ''), { message: /JSON table/ });
});
