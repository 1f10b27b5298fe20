import test from 'ava';
import { matchCapture, validateCaptureExpect } from '../../../lib/checks/capture-expect.js';
import { decodePcap } from '../../../lib/wire/index.js';
import { buildFrame, writePcap, type FrameSpec } from './frame-builder.js';

const ovn = { class: 0x0102, type: 0x80, data: '00010002' };
const packets = (specs: FrameSpec[]) => decodePcap(writePcap(specs.map(buildFrame)));

const five124 = packets(Array(5).fill({ vni: 124, tos: 0x28, critical: true, options: [ovn] }));

test('a passing expectation over several keys', (t) => {
  const r = matchCapture(five124, { 'geneve.vni': 124, 'ip.tos': '0x28', 'ip.df': true, 'outer.src': '192.0.2.1', 'udp.dstport': 6081, 'udp.checksum': 'nonzero', 'geneve.critical': true, 'geneve.ovn': { ingress: 1, egress: 2 }, 'geneve.options': [{ class: '0x0102', type: 0x80, critical: true, data: '0001 0002' }], 'inner.smac': '02:00:00:00:00:01', 'inner.dst': '10.0.0.2' }, 3);
  t.true(r.ok, r.message);
  t.is(r.matched, 5);
  t.like(r.figures, { captured: 5, encapsulated: 5, matched: 5, at_least: 3 });
});

test('wrong VNI: the message says what was expected and what was seen', (t) => {
  const r = matchCapture(five124, { 'geneve.vni': 123 }, 3);
  t.false(r.ok);
  t.is(r.message, 'expected geneve.vni 123 in ≥3 packets, 0 matched; saw 5 geneve packets with geneve.vni 124 ×5');
});

test('partial matches, counts and several mismatching keys', (t) => {
  const ps = packets([{ vni: 5, ttl: 64 }, { vni: 5, ttl: 3 }, { vni: 6, ttl: 64 }]);
  const r = matchCapture(ps, { 'geneve.vni': 5, 'ip.ttl': 64 }, 2);
  t.false(r.ok);
  t.is(r.matched, 1);
  t.regex(r.message, /geneve.vni 6 ×1 \(2 had 5\); ip.ttl 3 ×1 \(2 had 64\)/);
  t.true(matchCapture(ps, { 'geneve.vni': 5, 'ip.ttl': 64 }, 1).ok);
  // Each key alone matches two packets, but none match both together.
  const r2 = matchCapture(packets([{ vni: 5, ttl: 3 }, { vni: 6, ttl: 64 }]), { 'geneve.vni': 5, 'ip.ttl': 64 }, 1);
  t.false(r2.ok);
  t.regex(r2.message, /geneve.vni 6 ×1 \(1 had 5\); ip.ttl 3 ×1/);
});

test('options: exact list vs containment, data and the critical bit', (t) => {
  const ps = packets([{ vni: 1, options: [ovn, { class: 0xfff0, type: 1, data: 'aabbccdd' }] }]);
  t.false(matchCapture(ps, { 'geneve.options': [ovn] }, 1).ok);
  t.true(matchCapture(ps, { 'geneve.options': [{ class: 0xfff0, type: 1 }, ovn] }, 1).ok);
  t.true(matchCapture(ps, { 'geneve.option': { class: 0x0102, type: 0x80 } }, 1).ok);
  const bad = matchCapture(ps, { 'geneve.option': { class: 0x0102, type: 0x80, data: '00020001' } }, 1);
  t.false(bad.ok);
  t.regex(bad.message, /seen|saw/);
  t.regex(bad.message, /0x0102\/0x80\(C\) 00010002/);
  t.true(matchCapture(packets([{ vni: 1 }]), { 'geneve.options': [] }, 1).ok);
  t.regex(matchCapture(packets([{ vni: 1 }]), { 'geneve.ovn': { egress: 2 } }, 1).message, /no OVN option/);
});

test('no encapsulated packets, or only the other encapsulation', (t) => {
  const r = matchCapture(packets([{ vni: 1, dport: 53 }]), { 'geneve.vni': 1 }, 1);
  t.false(r.ok);
  t.regex(r.message, /saw no geneve packets among 1 captured; UDP destination ports seen: 53 ×1/);
  const v = matchCapture(packets([{ encap: 'vxlan', vni: 1 }]), { 'geneve.vni': 1 }, 1);
  t.regex(v.message, /1 packet of another encapsulation \(vxlan ×1\)/);
  t.true(matchCapture(packets([{ encap: 'vxlan', vni: 7 }]), { 'vxlan.vni': 7, encap: 'vxlan' }, 1).ok);
});

test('IPv6 outer keys and zero checksum', (t) => {
  const ps = packets([{ family: 'ipv6', tclass: 0x28, hlim: 33, checksum: 0, flowlabel: 0, vni: 77 }]);
  t.true(matchCapture(ps, { 'ipv6.tclass': 0x28, 'ipv6.hlim': 33, 'udp.checksum': 'zero', 'ipv6.flowlabel': 'zero', 'outer.dst': '2001:DB8:0::2' }, 1).ok);
  const r = matchCapture(ps, { 'udp.checksum': 'nonzero', 'ip.ttl': 64 }, 1);
  t.false(r.ok);
  t.regex(r.message, /udp.checksum 0x0 ×1; ip.ttl no outer IPv4 header ×1/);
});

test('decode errors are reported alongside the match result', (t) => {
  const ps = packets([{ vni: 4 }, { vni: 4, options: [{ ...ovn, lenWords: 9 }] }]);
  const r = matchCapture(ps, { 'geneve.vni': 4 }, 2);
  t.true(r.ok, 'the overrun packet still has its base header decoded');
  t.is(r.figures.decode_errors, 1);
  t.regex(r.message, /1 packet could not be fully decoded: frame 2: geneve: option 1 \(class 0x0102, type 0x80\) announces 36 data bytes/);
});

test('validator: unknown keys with suggestions, bad values, contradictions, nested form', (t) => {
  t.deepEqual(validateCaptureExpect({ 'geneve.vni': 5, geneve: { ovn: { ingress: 1 } }, ip: { tos: 0x28 } }), []);
  const p = validateCaptureExpect({
    'geneve.vin': 5,
    'ip.tos': 300,
    'udp.checksum': 'maybe',
    'geneve.ovn': { ingress: 40000 },
    'geneve.options': [{ class: 0x102, type: 0x80, critical: false }],
    'geneve.option': { class: 0x102, type: 1, data: '0011' },
    'vxlan.vni': 1,
    'ipv6.hlim': 3,
    'outer.src': '10.0.0.1/24',
  });
  const text = p.join('\n');
  t.regex(text, /expect.geneve.vin: unknown key; did you mean geneve.vni\?/);
  t.regex(text, /expect.ip.tos: must be an integer 0–255/);
  t.regex(text, /expect.udp.checksum: must be "zero", "nonzero"/);
  t.regex(text, /ingress must be an integer 0–32767/);
  t.regex(text, /critical is false but type 0x80 has the critical bit \(0x80\) set/);
  t.regex(text, /data must be a multiple of 4 bytes/);
  t.regex(text, /both geneve.\* and vxlan.\*/);
  t.regex(text, /both ip.\* \(outer IPv4\) and ipv6.\*/);
  t.regex(text, /outer.src: must be an IP address without prefix length/);
  t.deepEqual(validateCaptureExpect('vni 5'), ['expect must be a mapping of keys like geneve.vni: 5, got "vni 5"']);
  const bad = matchCapture(five124, { 'geneve.vin': 124 }, 1);
  t.false(bad.ok);
  t.regex(bad.message, /^invalid capture expectation: /);
});

test('encap: none — frames that are no tunnel packets (a guest\'s port): decoded as their own inner frame, judged with inner.* keys; tunnel packets are not among them', (t) => {
  // The inner Ethernet frames of tunnel packets, on their own: what a guest's port carries.
  const plainOf = (s: FrameSpec) => buildFrame(s).subarray(14 + 20 + 8 + 8);
  const pcap = writePcap([
    plainOf({ innerSrc: '203.0.113.1', innerDst: '203.0.113.2' }),
    plainOf({ innerArp: { op: 1, sha: '02:00:00:00:00:01', spa: '203.0.113.1', tha: '00:00:00:00:00:00', tpa: '203.0.113.2' } }),
    buildFrame({ vni: 5 }),
  ]);
  const frames = decodePcap(pcap, { plainFrames: true });
  t.is(frames[0]!.inner?.src, '203.0.113.1', 'the frame itself, as inner');
  t.is(frames[2]!.encap, 'geneve');
  t.is(decodePcap(pcap)[0]!.inner, undefined, 'only when asked (other readers keep inner for tunnels)');

  const icmp = matchCapture(frames, { 'inner.src': '203.0.113.1', 'inner.icmp.type': 8 }, 1, { match: { encap: 'none', 'inner.ethertype': 'ipv4' } });
  t.true(icmp.ok, icmp.message);
  t.like(icmp.figures, { captured: 3, encapsulated: 1, selected: 1, matched: 1 });
  const arp = matchCapture(frames, { encap: 'none', 'inner.arp.op': 'request', 'inner.arp.tpa': '203.0.113.2' }, 1);
  t.true(arp.ok, arp.message);
  const none = matchCapture(frames, { encap: 'none', 'inner.dst': '198.51.100.9' }, 1);
  t.false(none.ok);
  t.regex(none.message, /^expected encap none, inner\.dst 198\.51\.100\.9 in ≥1 packets, 0 matched; saw 2 non-tunnel frames with /);
  // An absence on a guest's port: no echo request reached it.
  const absent = matchCapture(frames, {}, 0, { match: { encap: 'none' }, forbid: { 'inner.icmp.type': 8 } });
  t.false(absent.ok);
  t.regex(absent.message, /^1 packet matched forbidden inner\.icmp\.type 8: frame 1: no tunnel, 02:00:00:00:00:01 → \S+ 203\.0\.113\.1 → 203\.0\.113\.2 ICMP type 8/);
  // Contradictions are refused before anything runs.
  t.regex(validateCaptureExpect({ encap: 'none', 'geneve.vni': 5 }).join('\n'), /encap is none but geneve\.\* keys are given/);
  t.regex(validateCaptureExpect({ encap: 'none', esp: true }).join('\n'), /encap is none \(a frame that is no tunnel packet\) but esp keys are given/);
});
