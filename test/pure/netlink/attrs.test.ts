import test from 'ava';
import { ipBytes, formatIp, macBytes, formatMac, encodeAttrs, parseAttrs, nest, u32, cstr, readCstr } from '../../../lib/backends/netlink/attrs.js';
import { parsePrefix } from '../../../lib/backends/netlink/encode.js';
import { sysctlPath, sysctlSubsystem } from '../../../lib/backends/netlink/backend.js';

test('IP addresses: bytes and the canonical text iproute2 prints', (t) => {
  t.is(ipBytes('192.0.2.1').toString('hex'), 'c0000201');
  t.is(ipBytes('2001:db8::1').toString('hex'), '20010db8000000000000000000000001');
  t.is(ipBytes('::').toString('hex'), '0'.repeat(32));
  t.is(ipBytes('::ffff:192.0.2.1').toString('hex'), '00000000000000000000ffffc0000201');
  t.is(ipBytes('fe80::1:2').toString('hex'), 'fe800000000000000000000000010002');
  for (const a of ['192.0.2.1', '2001:db8::1', '::', '2001:db8:0:1:0:0:0:1', 'fe80::1:2', '2001:db8::', '1::']) {
    t.is(formatIp(ipBytes(a)), a === '2001:db8:0:1:0:0:0:1' ? '2001:db8:0:1::1' : a);
  }
  t.throws(() => ipBytes('192.0.2.256'), { message: /not an IP address: "192.0.2.256"/ });
});

test('MAC addresses', (t) => {
  t.is(formatMac(macBytes('02:AA:00:00:00:0b')), '02:aa:00:00:00:0b');
  t.throws(() => macBytes('02:aa:00:00:00'), { message: /not a MAC address/ });
});

test('nested attributes round-trip and keep 4-byte alignment', (t) => {
  const b = encodeAttrs([nest(18, [cstr(3, 'abcde'), u32(4, 7)]), u32(5, 9)]);
  t.is(b.length % 4, 0);
  const top = parseAttrs(b);
  const inner = parseAttrs(top.get(18)!);
  t.is(readCstr(inner.get(3)), 'abcde');
  t.is(inner.get(4)!.readUInt32LE(0), 7);
  t.is(top.get(5)!.readUInt32LE(0), 9);
});

test('prefixes and sysctl keys', (t) => {
  t.like(parsePrefix('198.51.100.0/24'), { family: 2, prefixLen: 24 });
  t.like(parsePrefix('2001:db8::1'), { family: 10, prefixLen: 128 });
  t.throws(() => parsePrefix('2001:db8::1/129'), { message: /bad prefix length in "2001:db8::1\/129" \(0..128\)/ });
  t.is(sysctlPath('net.ipv4.ip_forward'), '/proc/sys/net/ipv4/ip_forward');
  t.is(sysctlPath('net/ipv4/conf/eth0.5/forwarding'), '/proc/sys/net/ipv4/conf/eth0.5/forwarding');
  // ifPresent's subsystem, the same for both key forms (a dotted key once resolved to the whole key).
  t.is(sysctlSubsystem(sysctlPath('net/ipv6/conf/b/disable_ipv6')), '/proc/sys/net/ipv6');
  t.is(sysctlSubsystem(sysctlPath('net.ipv6.conf.b.disable_ipv6')), '/proc/sys/net/ipv6');
  t.throws(() => sysctlPath('net/../../etc/passwd'), { message: /invalid sysctl key/ });
});
