import test from 'ava';
import { OvsSpecError, transaction, tunnelPortCommands, wirePort, type TunnelPortSpec } from '../../../lib/ovs/index.js';

const base: TunnelPortSpec = { bridge: 'br-int', name: 'tun0', type: 'geneve', lab: 'lab1', remoteIp: '192.0.2.2' };
const argv = (s: Partial<TunnelPortSpec>) => transaction(tunnelPortCommands({ ...base, ...s }));

test('minimal geneve port: one transaction, tagged, options cleared then set', (t) => {
  t.deepEqual(argv({}), [
    '--may-exist', 'add-port', 'br-int', 'tun0', 'external_ids:geneve-lab=lab1',
    '--', 'clear', 'Interface', 'tun0', 'options',
    '--', 'set', 'Interface', 'tun0', 'type=geneve', 'options:remote_ip=192.0.2.2',
  ]);
});

test('every option is rendered with OVS spelling', (t) => {
  const a = argv({
    remoteIp: '2001:db8::2', localIp: '2001:db8::1', key: 5000, dstPort: 7000, tos: 'inherit', ttl: 33,
    dfDefault: false, csum: true, egressPktMark: 42, ofport: 10,
  });
  t.deepEqual(a.slice(a.indexOf('type=geneve')), [
    'type=geneve', 'ofport_request=10',
    'options:remote_ip=2001:db8::2', 'options:local_ip=2001:db8::1', 'options:key=5000', 'options:dst_port=7000',
    'options:tos=inherit', 'options:ttl=33', 'options:df_default=false', 'options:csum=true', 'options:egress_pkt_mark=42',
  ]);
});

test('flow-based remote/local/key and split keys', (t) => {
  const a = argv({ remoteIp: 'flow', localIp: 'flow', inKey: 'flow', outKey: 7, tos: 0x28, ttl: 'inherit' });
  t.deepEqual(a.slice(a.indexOf('type=geneve') + 1), [
    'options:remote_ip=flow', 'options:local_ip=flow', 'options:in_key=flow', 'options:out_key=7', 'options:tos=40', 'options:ttl=inherit',
  ]);
});

test('vxlan, gre and ipsec_gre ports', (t) => {
  t.true(argv({ type: 'vxlan', key: 123 }).includes('type=vxlan'));
  t.true(argv({ type: 'gre', key: 0xffffffff }).includes('options:key=4294967295'));
  const ipsec = argv({ type: 'ipsec_gre', psk: 'te st"1' });
  t.true(ipsec.includes('options:psk="te st\\"1"'), 'non-word values are quoted as OVSDB strings');
  t.is(wirePort({ type: 'geneve' }), 6081);
  t.is(wirePort({ type: 'vxlan' }), 4789);
  t.is(wirePort({ type: 'geneve', dstPort: 7000 }), 7000);
  t.is(wirePort({ type: 'gre' }), undefined);
});

const rejects: [string, Partial<TunnelPortSpec>, RegExp][] = [
  ['multicast remote', { remoteIp: '239.1.1.1' }, /remote_ip: 239\.1\.1\.1 is multicast/],
  ['not an address', { remoteIp: 'box-2' }, /remote_ip: "box-2" is not an IPv4\/IPv6 address or "flow"/],
  ['local flow without remote flow', { localIp: 'flow' }, /local_ip: "flow" is only valid when remote_ip is also "flow"/],
  ['mixed families', { localIp: '2001:db8::1' }, /different address families/],
  ['VNI too big', { key: 16777216 }, /key: 16777216 is out of range; a geneve VNI is 0\.\.16777215/],
  ['key and in_key', { key: 1, inKey: 2 }, /either key .* or in_key\/out_key/],
  ['ECN bits in tos', { tos: 0x29 }, /tos: 41 has ECN bits set.*e\.g\. 40/],
  ['ttl 0', { ttl: 0 }, /ttl: 0 is not 1\.\.255/],
  ['dst_port on gre', { type: 'gre', dstPort: 1 }, /dst_port: GRE has no UDP port/],
  ['dst_port range', { dstPort: 70000 }, /dst_port: 70000 is not a UDP port/],
  ['ipsec without psk', { type: 'ipsec_gre' }, /psk: ipsec_gre needs a pre-shared key/],
  ['psk on geneve', { psk: 'x' }, /only ipsec_gre uses psk/],
  ['mark too big', { egressPktMark: 2 ** 32 }, /egress_pkt_mark/],
  ['long name', { name: 'a-very-long-port-name' }, /name: .* 1–15 characters/],
];
for (const [what, spec, msg] of rejects) {
  test(`rejects ${what}, naming the port and field`, (t) => {
    const e = t.throws(() => argv(spec), { instanceOf: OvsSpecError });
    t.regex(e!.message, /^tunnel port ".*" on bridge "br-int": /);
    t.regex(e!.message, msg);
    t.is(e!.exitCode, 2);
  });
}
