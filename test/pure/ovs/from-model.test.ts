import test from 'ava';
import type { Tunnel } from '../../../lib/model/types.js';
import { transaction, tunnelPortCommands, tunnelPortFromModel } from '../../../lib/ovs/index.js';

const tunnel = (over: Partial<Tunnel>): Tunnel => ({
  name: 'tun0', type: 'geneve', family: 'ipv4', network: 'under', options: [],
  ends: [
    { attach: { kind: 'switch', name: 'sw1' }, host: 'box-1', impl: 'ovs', ifname: 'tun0', local: '192.0.2.11', remote: '192.0.2.12' },
    { attach: { kind: 'switch', name: 'sw2' }, host: 'box-2', impl: 'ovs', ifname: 'tun0', local: '192.0.2.12', remote: '192.0.2.11' },
  ],
  ...over,
});

test('seed 003 geneve key 123: each end points at the other', (t) => {
  const m = tunnel({ geneve: { vni: 123 } });
  t.deepEqual(tunnelPortFromModel(m, 0, 'sw1', 'lab'), { bridge: 'sw1', name: 'tun0', type: 'geneve', lab: 'lab', remoteIp: '192.0.2.12', key: 123 });
  t.is(tunnelPortFromModel(m, 1, 'sw2', 'lab').remoteIp, '192.0.2.11');
});

test('kernel-style params map to OVS options; ovs-only settings win', (t) => {
  const m = tunnel({
    geneve: { vni: 5, dstport: 7000, ttl: 'inherit', tos: 0x28, df: 'unset', udpcsum: true },
    ovs: { key: 'flow', dfDefault: true, egressPktMark: 9 },
  });
  const s = tunnelPortFromModel(m, 0, 'br-int', 'lab');
  t.like(s, { key: 'flow', dstPort: 7000, ttl: 'inherit', tos: 0x28, dfDefault: true, csum: true, egressPktMark: 9 });
  t.notThrows(() => transaction(tunnelPortCommands(s)));
});

test('gre with a psk becomes ipsec_gre; in/out keys replace key', (t) => {
  const s = tunnelPortFromModel(tunnel({ type: 'gre', gre: { key: 1 }, ovs: { psk: 'test123', inKey: 2, outKey: 3 } }), 0, 'sw1', 'lab');
  t.like(s, { type: 'ipsec_gre', psk: 'test123', inKey: 2, outKey: 3 });
  t.false('key' in s);
});
