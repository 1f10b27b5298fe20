import test from 'ava';
import { matchCapture, validateCaptureExpect } from '../../../lib/checks/capture-expect.js';
import { decodeFrame, decodePcap } from '../../../lib/wire/index.js';
import { LinkType } from '../../../lib/wire/pcap.js';
import { buildFrame, writePcap, type FrameSpec } from '../wire/frame-builder.js';

const packets = (specs: FrameSpec[]) => decodePcap(writePcap(specs.map(buildFrame)));
const arp = (op: number, ttl: number): FrameSpec => ({ vni: 5, ttl, innerArp: { op, sha: '02:00:00:00:00:01', spa: '203.0.113.1', tha: op === 1 ? '00:00:00:00:00:00' : '02:00:00:00:00:02', tpa: '203.0.113.2' } });

test('the decoder reads inner ARP, inner ICMP type and inner TTL', (t) => {
  const p = decodeFrame(buildFrame(arp(1, 64)), LinkType.ethernet);
  t.is(p.error, undefined);
  t.deepEqual(p.inner?.arp, { op: 1, sha: '02:00:00:00:00:01', spa: '203.0.113.1', tha: '00:00:00:00:00:00', tpa: '203.0.113.2' });
  t.is(p.inner?.ethertype, 0x0806);
  const icmp = decodeFrame(buildFrame({ vni: 5 }), LinkType.ethernet);
  t.deepEqual(icmp.inner?.icmp, { type: 8, code: 0 });
  t.is(icmp.inner?.ttl, 64);
});

test('"the first encapsulated ARP has outer TTL 64": match selects, packets: first judges the first only', (t) => {
  const ps = packets([{ vni: 5, ttl: 9 }, arp(1, 64), arp(2, 3), { vni: 5, ttl: 9 }]);
  const ok = matchCapture(ps, { 'ip.ttl': 64, 'inner.arp.op': 'request' }, 1, { match: { 'inner.ethertype': 'arp' }, packets: 'first' });
  t.true(ok.ok, ok.message);
  t.is(ok.message, 'the first encapsulated (geneve/vxlan/gre/ESP) packet with inner.ethertype 0x0806 (frame 2) matched ip.ttl 64, inner.arp.op request (4 captured)');
  t.like(ok.figures, { selected: 2, matched: 1, packets: 'first' });
  // The second ARP (the reply, TTL 3) is not judged by "first", but is by "all".
  const all = matchCapture(ps, { 'ip.ttl': 64 }, 1, { match: { inner: { ethertype: 'arp' } }, packets: 'all' });
  t.false(all.ok);
  t.is(all.message, 'expected every encapsulated (geneve/vxlan/gre/ESP) packet with inner.ethertype 0x0806 (≥1) to have ip.ttl 64, 1 of 2 did; saw 2 encapsulated (geneve/vxlan/gre/ESP) packets with inner.ethertype 0x0806 with ip.ttl 3 ×1 (1 had 64)');
  // Without match the first packet is the ICMP one (TTL 9).
  const first = matchCapture(ps, { 'ip.ttl': 64 }, 1, { packets: 'first' });
  t.false(first.ok);
  t.is(first.message, 'expected the first encapsulated (geneve/vxlan/gre/ESP) packet to have ip.ttl 64; saw frame 1 with ip.ttl 9 ×1');
});

test('match on the inner source and ICMP type; none selected says so', (t) => {
  const ps = packets([{ vni: 5, innerSrc: '10.0.0.1' }, { vni: 5, innerSrc: '10.0.0.9', ttl: 3 }]);
  t.true(matchCapture(ps, { 'ip.ttl': 3 }, 1, { match: { 'inner.src': '10.0.0.9', 'inner.icmp.type': 8 } }).ok);
  const none = matchCapture(ps, { 'ip.ttl': 3 }, 1, { match: { 'inner.src': '10.0.0.77' } });
  t.false(none.ok);
  t.regex(none.message, /saw no encapsulated \(geneve\/vxlan\/gre\/ESP\) packets with inner.src 10.0.0.77 among 2 captured; UDP destination ports seen: 6081 ×2 — check the match keys/);
});

test('outer IPv6 payload length, outer IPv4 total length, UDP length', (t) => {
  const [v6] = packets([{ family: 'ipv6', vni: 7 }]);
  const plen = v6!.ipv6!.payloadLength;
  t.true(plen > 0);
  t.true(matchCapture([v6!], { 'ipv6.plen': plen, 'udp.length': plen }, 1).ok);
  t.false(matchCapture([v6!], { 'ipv6.plen': plen + 1 }, 1).ok);
  const [v4] = packets([{ vni: 7 }]);
  t.true(matchCapture([v4!], { 'ip.len': v4!.ip!.totalLength, 'udp.length': v4!.ip!.totalLength - 20 }, 1).ok);
});

test('match keys are validated like expect keys, with their own label', (t) => {
  t.deepEqual(validateCaptureExpect({ 'inner.arp.op': 'request', 'inner.ethertype': 'arp' }, 'match'), []);
  t.deepEqual(validateCaptureExpect({ inner: { arp: { op: 'reply', spa: '203.0.113.1' } } }), []);
  t.regex(validateCaptureExpect({ 'inner.arp.opp': 1 }, 'match')[0]!, /^match\.inner\.arp\.opp: unknown key; did you mean inner\.arp\.op\?/);
  t.regex(validateCaptureExpect({ 'inner.arp.op': 'ask' })[0]!, /must be "request", "reply" or an opcode/);
  t.regex(validateCaptureExpect({ 'inner.arp.spa': '2001:db8::1' })[0]!, /must be an IPv4 address/);
  t.regex(validateCaptureExpect({ 'inner.arp.op': 1, 'inner.src': '10.0.0.1' })[0]!, /inner packet is ARP or IP/);
});
