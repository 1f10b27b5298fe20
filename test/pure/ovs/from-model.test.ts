import test from 'ava';
import type { Tunnel } from '../../../lib/model/types.js';
import { transaction, tunnelPortCommands, tunnelPortFromModel } from '../../../lib/ovs/index.js';
import { secret } from '../../../lib/ipsec/secret.js';

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

test('gre with IPsec stays a gre port (OVS >= 2.11 has no ipsec_gre) and the PSK never enters the port spec; in/out keys replace key', (t) => {
  const s = tunnelPortFromModel(tunnel({ type: 'gre', gre: { key: 1 }, ovs: { inKey: 2, outKey: 3 }, ipsec: { psk: secret('test123'), esp: 'aes256gcm16' } }), 0, 'sw1', 'lab');
  t.like(s, { type: 'gre', inKey: 2, outKey: 3 });
  t.false('psk' in s);
  t.false('key' in s);
});
