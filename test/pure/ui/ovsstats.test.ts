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

test('live OVS port counters from ovs-ofctl --names dump-ports: LOCAL is the bridge, "?" counters are absent', async (t) => {
  const { ofctlPortCounters } = await import('../../../lib/stats/ovsstats.js');
  const text = `OFPST_PORT reply (xid=0x2): 2 ports
  port LOCAL: rx pkts=15, bytes=1146, drop=0, errs=0, frame=0, over=0, crc=0
           tx pkts=36, bytes=2664, drop=0, errs=0, coll=0
  port  geneve1: rx pkts=55, bytes=4486, drop=?, errs=?, frame=?, over=?, crc=?
           tx pkts=118, bytes=12570, drop=?, errs=?, coll=?
`;
  const c = ofctlPortCounters(text, 'br1', 'gl-x-h');
  t.deepEqual(c.map((x) => [x.ifname, x.rxPackets, x.rxBytes, x.txPackets, x.txBytes]), [
    ['br1', 15, 1146, 36, 2664],
    ['geneve1', 55, 4486, 118, 12570],
  ]);
  t.deepEqual(c[1]!.errors, {});
  t.is(c[0]!.errors.rx_dropped, 0);
  t.is(c[0]!.ns, 'gl-x-h');
});
