import test from 'ava';
import { readFileSync } from 'node:fs';
import { decodeCapture, decodeFrame, decodePcap, LinkType, CaptureFileError } from '../../../lib/wire/index.js';
import { buildFrame, fromHexdump, geneveHeader, writePcap, writePcapng } from './frame-builder.js';

const seed = readFileSync(new URL('../../fixtures/pcap/seed004-ovn.txt', import.meta.url), 'utf8');
const [reqText, repText] = seed.split('reply:');
const seedFrames = [fromHexdump(reqText!.split('request:')[1]!), fromHexdump(repText!)];

test('OVN wire vector from geneve-surface.md §5: VNI 5, option 0x0102/0x80, ingress 1 egress 2', (t) => {
  const frame = buildFrame({ vni: 5, critical: true, options: [{ class: 0x0102, type: 0x80, data: '00010002' }] });
  // The builder must produce exactly the reference bytes for the Geneve header.
  t.is(geneveHeader({ vni: 5, critical: true, options: [{ class: 0x0102, type: 0x80, data: '00010002' }] }).toString('hex'), '0240655800000500' + '0102800100010002');
  const p = decodeFrame(frame, LinkType.ethernet);
  t.is(p.error, undefined);
  t.is(p.encap, 'geneve');
  t.like(p.geneve, { version: 0, optLen: 8, oam: false, critical: true, proto: 0x6558, vni: 5, ovn: { ingress: 1, egress: 2 } });
  t.deepEqual(p.geneve!.options, [{ class: 0x0102, type: 0x80, critical: true, reserved: 0, length: 4, data: '00010002' }]);
});

test('seed 004 hexdump: both frames decode to what tcpdump printed', (t) => {
  const [req, rep] = decodePcap(writePcap(seedFrames));
  t.is(req!.error, undefined);
  t.like(req!, {
    link: { src: '52:54:00:13:e0:a2', dst: '52:54:00:ac:67:5b', ethertype: 0x0800 },
    outer: { family: 'ipv4', src: '192.168.50.100', dst: '192.168.50.101' },
    ip: { tos: 0, ttl: 64, id: 63920, df: true, proto: 17 },
    udp: { srcport: 7549, dstport: 6081, checksum: 0xe6a5 },
    geneve: { critical: true, oam: false, vni: 1, proto: 0x6558, ovn: { ingress: 1, egress: 2 } },
    inner: { smac: '40:44:00:00:00:01', dmac: '40:44:00:00:00:02', src: '192.168.0.11', dst: '192.168.0.12', proto: 1 },
  });
  t.like(rep!, { ip: { id: 46181 }, geneve: { vni: 1, ovn: { ingress: 2, egress: 1 } }, inner: { src: '192.168.0.12', dst: '192.168.0.11' } });
});

test('IPv6 outer: traffic class, flow label, hop limit, zero checksum, canonical addresses', (t) => {
  const f = buildFrame({ family: 'ipv6', src: '2001:db8:0:0::1', dst: '2001:db8::a:0:0:2', tclass: 0x28, flowlabel: 0xabcde, hlim: 33, checksum: 0, dport: 7000, vni: 77 });
  const p = decodeFrame(f, LinkType.ethernet, { genevePorts: [7000] });
  t.is(p.error, undefined);
  t.like(p, { outer: { family: 'ipv6', src: '2001:db8::1', dst: '2001:db8::a:0:0:2' }, ipv6: { tclass: 0x28, flowlabel: 0xabcde, hlim: 33, proto: 17 }, udp: { dstport: 7000, checksum: 0 }, geneve: { vni: 77 } });
  // Without the port hint the same packet is plain UDP.
  t.is(decodeFrame(f, LinkType.ethernet).encap, undefined);
});

test('VXLAN with VLAN-tagged outer Ethernet and inner IPv6', (t) => {
  const p = decodeFrame(buildFrame({ encap: 'vxlan', vni: 4242, vlan: 100, innerV6: true, innerSrc: '2001:db8:1::10', innerDst: '2001:db8:1::20', tos: 0xb8 }), LinkType.ethernet);
  t.is(p.error, undefined);
  t.deepEqual(p.link.vlans, [100]);
  t.like(p, { encap: 'vxlan', vxlan: { vni: 4242, flags: 8, vniValid: true }, ip: { tos: 0xb8, dscp: 46 }, inner: { family: 'ipv6', src: '2001:db8:1::10', dst: '2001:db8:1::20' } });
});

test('several options, O and C flags, inner-proto IPv4 (no inner Ethernet)', (t) => {
  const f = buildFrame({ vni: 0xffffff, oam: true, critical: true, options: [{ class: 0xfff0, type: 0x01, data: '' }, { class: 0x0101, type: 0x85, data: 'deadbeefcafef00d' }] });
  const p = decodeFrame(f, LinkType.ethernet);
  t.is(p.error, undefined);
  t.like(p.geneve!, { oam: true, critical: true, vni: 0xffffff, optLen: 16 });
  t.deepEqual(p.geneve!.options.map((o) => [o.class, o.type, o.critical, o.length, o.data]), [
    [0xfff0, 1, false, 0, ''],
    [0x0101, 0x85, true, 8, 'deadbeefcafef00d'],
  ]);
  t.is(p.geneve!.ovn, undefined);
  const bare = decodeFrame(buildFrame({ vni: 2, proto: 0x0800, innerSrc: '10.9.9.1', innerDst: '10.9.9.2' }), LinkType.ethernet);
  t.is(bare.error, undefined);
  t.deepEqual(bare.inner, { ethertype: 0x0800, family: 'ipv4', src: '10.9.9.1', dst: '10.9.9.2', proto: 1, ttl: 64, icmp: { type: 8, code: 0 } });
});

test('malformed: option length beyond the options area is a typed error, header still decoded', (t) => {
  const p = decodeFrame(buildFrame({ vni: 9, options: [{ class: 0x0102, type: 0x80, data: '00010002', lenWords: 3 }] }), LinkType.ethernet);
  t.is(p.error?.code, 'option-overrun');
  t.is(p.error?.layer, 'geneve');
  t.regex(p.error!.message, /option 1 \(class 0x0102, type 0x80\) announces 12 data bytes, but only 4 remain in the 8-byte options area/);
  t.is(p.geneve?.vni, 9);
  t.is(p.inner, undefined);
});

test('malformed: Opt Len beyond the UDP payload, bad version, truncated frames', (t) => {
  const big = decodeFrame(buildFrame({ optLenWords: 63, payloadLen: 0 }), LinkType.ethernet);
  t.is(big.error?.code, 'bad-length');
  t.regex(big.error!.message, /Opt Len announces 252 bytes of options but the UDP payload has only \d+ bytes/);
  const v1 = decodeFrame(buildFrame({ version: 1, vni: 3 }), LinkType.ethernet);
  t.like(v1, { error: { code: 'bad-version', layer: 'geneve' }, geneve: { version: 1 } });
  for (const cut of [0, 5, 13, 20, 33, 41, 47, 55, 60, 70, 90]) {
    const p = decodeFrame(buildFrame({ vni: 1, options: [{ class: 0x0102, type: 0x80, data: '00010002' }], truncateTo: cut }), LinkType.ethernet);
    t.is(p.error?.code, 'truncated', `cut at ${cut}`);
  }
  const snap = decodeFrame(buildFrame({ vni: 1 }).subarray(0, 60), LinkType.ethernet, {}, { origLength: 120 });
  t.regex(snap.error!.message, /snap length kept 60 of 120 bytes/);
});

test('random garbage never throws', (t) => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed & 0xff);
  const base = buildFrame({ vni: 1, options: [{ class: 0x0102, type: 0x80, data: '00010002' }] });
  for (let i = 0; i < 2000; i++) {
    const f = Buffer.from(base);
    for (let k = 0; k < 4; k++) f[14 + (rnd() % (f.length - 14))] = rnd();
    t.notThrows(() => decodeFrame(f.subarray(0, rnd() % 2 ? f.length : rnd()), LinkType.ethernet));
  }
});

test('pcap both byte orders and micro/nano stamps; pcapng; SLL and SLL2', (t) => {
  const frames = [buildFrame({ vni: 10 }), buildFrame({ vni: 11 })];
  for (const bigEndian of [false, true])
    for (const nano of [false, true]) {
      const ps = decodePcap(writePcap(frames, { bigEndian, nano }));
      t.deepEqual(ps.map((p) => p.geneve?.vni), [10, 11]);
      t.is(ps[0]!.timestamp, 1700000000 + (nano ? 0.123456789 : 0.123456));
    }
  const ng = decodeCapture(writePcapng(frames));
  t.is(ng.format, 'pcapng');
  t.deepEqual(ng.packets.map((p) => [p.index, p.geneve?.vni]), [[1, 10], [2, 11]]);
  t.is(ng.packets[1]!.timestamp, 1700000001 + 5e-9);
  // SLL: 16-byte cooked header in place of Ethernet's 14; SLL2: 20 bytes.
  const ip = frames[0]!.subarray(14);
  const sll = Buffer.concat([Buffer.from('0000000100060252540000000100000800', 'hex').subarray(0, 16), ip]);
  sll.writeUInt16BE(0x0800, 14);
  t.like(decodeFrame(sll, LinkType.linuxSll), { link: { type: 'sll' }, geneve: { vni: 10 } });
  const sll2 = Buffer.concat([Buffer.from('08000000000000030001000602525400000001', 'hex'), Buffer.alloc(1), ip]);
  t.like(decodeFrame(sll2, LinkType.linuxSll2), { link: { type: 'sll2', src: '02:52:54:00:00:00' }, geneve: { vni: 10 } });
});

test('unreadable capture files give a CaptureFileError; a cut last record is a warning', (t) => {
  t.throws(() => decodePcap(Buffer.alloc(0)), { instanceOf: CaptureFileError, message: /only 0 bytes/ });
  t.throws(() => decodePcap(Buffer.from('hello world, not a pcap')), { instanceOf: CaptureFileError, message: /not a pcap or pcapng file/ });
  const full = writePcap([buildFrame({ vni: 1 }), buildFrame({ vni: 2 })]);
  const r = decodeCapture(full.subarray(0, full.length - 10));
  t.is(r.packets.length, 1);
  t.regex(r.warnings[0]!, /record 2: \d+ bytes announced/);
});
