/**
 * Byte-level checks of the rtnetlink encoders. Expected bytes are written out by hand from
 * the uapi layouts (geneve-surface.md §1), not produced by the code under test.
 */
import test from 'ava';
import { linkAddMessage, linkSetMessage, linkDelMessage, geneveData, vxlanData, addrMessage, routeMessage } from '../../../lib/backends/netlink/encode.js';
import { encodeAttrs } from '../../../lib/backends/netlink/attrs.js';

const hex = (s: string) => s.replace(/\s+/g, '');
const h = (b: Buffer) => b.toString('hex');

test('geneve: the 104-byte example of geneve-surface.md §1.2, byte for byte', (t) => {
  const msg = linkAddMessage({ kind: 'geneve', name: 'gnv0', geneve: { vni: 42, remote: '192.0.2.2', ttl: 64, dstport: 6081, df: 'set' } }, 1);
  t.is(msg.length, 104);
  t.is(
    h(msg),
    hex(`68000000 1000 0506 01000000 00000000
         00 00 0000 00000000 00000000 00000000
         0900 0300 676e7630 00 000000
         3c00 1280
           0a00 0100 67656e657665 0000
           2c00 0280
             0800 0100 2a000000
             0800 0200 c0000202
             0500 0300 40 000000
             0600 0500 17c1 0000
             0500 0d00 01 000000`),
  );
});

const geneveAttr: [string, Parameters<typeof geneveData>[0], string][] = [
  ['ID is u32 host order', { vni: 0x123456 }, '0800 0100 56341200'],
  ['REMOTE is 4 bytes network order', { remote: '192.0.2.2' }, '0800 0200 c0000202'],
  ['REMOTE6 is 16 bytes', { remote: '2001:db8::2' }, '1400 0700 20010db8000000000000000000000002'],
  ['TTL u8', { ttl: 64 }, '0500 0300 40000000'],
  ['ttl auto = TTL 0', { ttl: 'auto' }, '0500 0300 00000000'],
  ['ttl inherit = TTL_INHERIT 1 and no TTL', { ttl: 'inherit' }, '0500 0c00 01000000'],
  ['TOS u8', { tos: 0x10 }, '0500 0400 10000000'],
  ['tos inherit = TOS 1', { tos: 'inherit' }, '0500 0400 01000000'],
  ['PORT is big-endian', { dstport: 6081 }, '0600 0500 17c10000'],
  ['PORT 7000 big-endian', { dstport: 7000 }, '0600 0500 1b580000'],
  ['COLLECT_METADATA flag', { external: true }, '0400 0600'],
  ['UDP_CSUM on', { udpcsum: true }, '0500 0800 01000000'],
  ['UDP_CSUM off is sent explicitly', { udpcsum: false }, '0500 0800 00000000'],
  ['UDP_ZERO_CSUM6_TX', { udp6zerocsumtx: true }, '0500 0900 01000000'],
  ['UDP_ZERO_CSUM6_RX off', { udp6zerocsumrx: false }, '0500 0a00 00000000'],
  ['LABEL is big-endian', { flowlabel: 0x12345 }, '0800 0b00 00012345'],
  ['DF unset', { df: 'unset' }, '0500 0d00 00000000'],
  ['DF set', { df: 'set' }, '0500 0d00 01000000'],
  ['DF inherit', { df: 'inherit' }, '0500 0d00 02000000'],
  ['INNER_PROTO_INHERIT flag', { innerprotoinherit: true }, '0400 0e00'],
  ['PORT_RANGE is two big-endian u16', { srcport: { low: 1000, high: 2000 } }, '0800 0f00 03e8 07d0'],
  ['nothing asked, nothing sent', {}, ''],
];
for (const [title, params, expected] of geneveAttr) {
  test(`geneve attribute: ${title}`, (t) => {
    t.is(h(encodeAttrs(geneveData(params))), hex(expected));
  });
}

test('geneve: all attributes together come out in attribute-number order', (t) => {
  const data = encodeAttrs(
    geneveData({
      vni: 5, remote: '2001:db8::2', ttl: 'inherit', tos: 'inherit', dstport: 6081, udpcsum: true,
      udp6zerocsumtx: false, udp6zerocsumrx: true, flowlabel: 0xfffff, df: 'inherit', innerprotoinherit: true, srcport: { low: 1, high: 65535 },
    }),
  );
  t.is(
    h(data),
    hex(`0800 0100 05000000
         0500 0400 01000000
         0600 0500 17c10000
         1400 0700 20010db8000000000000000000000002
         0500 0800 01000000
         0500 0900 00000000
         0500 0a00 01000000
         0800 0b00 000fffff
         0500 0c00 01000000
         0500 0d00 02000000
         0400 0e00
         0800 0f00 0001 ffff`),
  );
});

test('veth: peer created directly in its namespace (VETH_INFO_PEER = ifinfomsg + attrs + IFLA_NET_NS_FD)', (t) => {
  const msg = linkAddMessage(
    { kind: 'veth', name: 'va', mtu: 1400, peer: { name: 'vb', ns: 'lab-b', mtu: 1400, mac: '02:00:00:00:00:0b' } },
    7,
    { peerNsFd: 42 },
  );
  t.is(
    h(msg),
    hex(`78000000 1000 0506 07000000 00000000
         00000000 00000000 00000000 00000000
         0700 0300 766100 00
         0800 0400 78050000
         4800 1280
           0800 0100 76657468
           3c00 0280
             3800 0100
               00000000 00000000 00000000 00000000
               0700 0300 766200 00
               0800 0400 78050000
               0a00 0100 02000000000b 0000
               0800 1c00 2a000000`),
  );
});

test('veth: peer in the same namespace carries no IFLA_NET_NS_FD', (t) => {
  const msg = linkAddMessage({ kind: 'veth', name: 'va', peer: { name: 'vb', ns: 'x' } }, 1);
  t.false(h(msg).includes('08001c00'));
  t.true(h(msg).includes(hex('1c00 0100 00000000000000000000000000000000 0700 0300 766200 00')));
});

test('bridge and MAC', (t) => {
  t.is(
    h(linkAddMessage({ kind: 'bridge', name: 'br0' }, 3)),
    hex(`38000000 1000 0506 03000000 00000000
         00000000 00000000 00000000 00000000
         0800 0300 62723000
         1000 1280 0a00 0100 627269646765 0000`),
  );
  t.true(h(linkAddMessage({ kind: 'bridge', name: 'br0', mac: '02:AA:00:00:00:01' }, 3)).includes(hex('0a00 0100 02aa00000001 0000')));
});

test('vxlan attributes', (t) => {
  t.is(
    h(encodeAttrs(vxlanData({ vni: 42, remote: '192.0.2.2', local: '192.0.2.1', ttl: 17, tos: 'inherit', learning: false, srcport: { low: 5000, high: 6000 }, dstport: 4789, udpcsum: true, flowlabel: 0x12345, df: 'set' }))),
    hex(`0800 0100 2a000000
         0800 0200 c0000202
         0800 0400 c0000201
         0500 0500 11000000
         0500 0600 01000000
         0500 0700 00000000
         0800 0a00 1388 1770
         0600 0f00 12b50000
         0500 1200 01000000
         0800 1a00 00012345
         0500 1d00 01000000`),
  );
  // IPv6 endpoints use GROUP6/LOCAL6; ttl inherit is a flag; external is a u8
  t.is(
    h(encodeAttrs(vxlanData({ remote: '2001:db8::2', local: '2001:db8::1', ttl: 'inherit', external: true }))),
    hex(`1400 1000 20010db8000000000000000000000002
         1400 1100 20010db8000000000000000000000001
         0500 1900 01000000
         0400 1c00`),
  );
});

test('link.set: up, mtu, master, alias', (t) => {
  t.is(
    h(linkSetMessage('va', { up: true, mtu: 1400, masterIndex: 4, alias: 'x' }, 2)),
    hex(`40000000 1000 0500 02000000 00000000
         00 00 0000 00000000 01000000 01000000
         0700 0300 766100 00
         0800 0400 78050000
         0800 0a00 04000000
         0600 1400 7800 0000`),
  );
  // down: flags 0, change IFF_UP; nomaster: IFLA_MASTER 0
  t.is(h(linkSetMessage('va', { up: false, masterIndex: 0 }, 2)).slice(32, 64), hex('00 00 0000 00000000 00000000 01000000'));
  t.true(h(linkSetMessage('va', { masterIndex: 0 }, 2)).endsWith(hex('0800 0a00 00000000')));
});

test('link.del by name', (t) => {
  t.is(h(linkDelMessage('va', 5)), hex('28000000 1100 0500 05000000 00000000 00000000 00000000 00000000 00000000 0700 0300 766100 00'));
});

test('addr: IPv4 and IPv6 nodad', (t) => {
  t.is(
    h(addrMessage(true, 5, '192.0.2.1/24', false, 9)),
    hex(`30000000 1400 0506 09000000 00000000
         02 18 00 00 05000000
         0800 0200 c0000201
         0800 0100 c0000201
         0800 0800 00000000`),
  );
  t.is(
    h(addrMessage(true, 5, '2001:db8::1/64', true, 9)),
    hex(`48000000 1400 0506 09000000 00000000
         0a 40 02 00 05000000
         1400 0200 20010db8000000000000000000000001
         1400 0100 20010db8000000000000000000000001
         0800 0800 02000000`),
  );
  t.is(h(addrMessage(false, 5, '192.0.2.1/24', false, 9)).slice(8, 16), hex('1500 0500'));
  // nodad on IPv4 is dropped, as iproute2 does ("nodad option can be set only for IPv6 addresses")
  t.deepEqual(addrMessage(true, 5, '192.0.2.1/24', true, 9), addrMessage(true, 5, '192.0.2.1/24', false, 9));
  t.throws(() => addrMessage(true, 5, '192.0.2.1/33', false, 1), { message: /bad prefix length/ });
});

test('route: default via, prefix on a device (scope link), IPv6 delete', (t) => {
  t.is(
    h(routeMessage(true, { to: 'default', via: '192.0.2.254' }, 4)),
    hex('24000000 1800 0506 04000000 00000000  02 00 00 00 fe 03 00 01 00000000  0800 0500 c00002fe'),
  );
  t.is(
    h(routeMessage(true, { to: '198.51.100.0/24', oif: 3 }, 4)),
    hex('2c000000 1800 0506 04000000 00000000  02 18 00 00 fe 03 fd 01 00000000  0800 0100 c6336400  0800 0400 03000000'),
  );
  t.is(
    h(routeMessage(false, { to: 'default', via: '2001:db8::1' }, 4)),
    hex('30000000 1900 0500 04000000 00000000  0a 00 00 00 fe 00 ff 00 00000000  1400 0500 20010db8000000000000000000000001'),
  );
});
