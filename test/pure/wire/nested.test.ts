/**
 * A tunnel inside a tunnel on the wire (issue 14, item 7): the decoder decodes the inner tunnel
 * packet into `nested`, and capture expectations reach it with `nested.<key>`. Frames come from the
 * independent builder (frame-builder.ts), not from lib/wire.
 */
import test from 'ava';
import { decodeFrame, LinkType } from '../../../lib/wire/index.js';
import { matchCapture, validateCaptureExpect } from '../../../lib/checks/capture-expect.js';
import { buildFrame } from './frame-builder.js';

/** VXLAN 43 on port 4790 between 198.51.100.1/.2 (inner tunnel), inside VXLAN 42 on 4789 between 192.0.2.11/.12. */
function twoLevels(o: { innerVni?: number; innerPort?: number; innerEncap?: 'vxlan' | 'geneve' } = {}): Buffer {
  const inner = buildFrame({ encap: o.innerEncap ?? 'vxlan', vni: o.innerVni ?? 43, dport: o.innerPort ?? 4790, src: '198.51.100.1', dst: '198.51.100.2', innerSrc: '203.0.113.1', innerDst: '203.0.113.2' });
  return buildFrame({ encap: 'vxlan', vni: 42, src: '192.0.2.11', dst: '192.0.2.12', innerRaw: inner });
}

test('both encapsulations decode: the outer tunnel, then the tunnel packet inside it', (t) => {
  const p = decodeFrame(twoLevels(), LinkType.ethernet, { vxlanPorts: [4789, 4790] });
  t.is(p.error, undefined);
  t.like(p, { outer: { src: '192.0.2.11', dst: '192.0.2.12' }, encap: 'vxlan', vxlan: { vni: 42 }, inner: { src: '198.51.100.1', dst: '198.51.100.2', proto: 17 } });
  t.like(p.nested, { outer: { src: '198.51.100.1', dst: '198.51.100.2' }, udp: { dstport: 4790 }, encap: 'vxlan', vxlan: { vni: 43 }, inner: { src: '203.0.113.1', dst: '203.0.113.2', proto: 1 } });
  // Geneve inside VXLAN, and an inner UDP port that is no tunnel: then nothing is nested.
  t.like(decodeFrame(twoLevels({ innerEncap: 'geneve', innerPort: 6081, innerVni: 7 }), LinkType.ethernet).nested, { encap: 'geneve', geneve: { vni: 7 } });
  t.is(decodeFrame(twoLevels({ innerPort: 5555 }), LinkType.ethernet).nested, undefined);
  // A plain tunnel packet has no nested part.
  t.is(decodeFrame(buildFrame({ vni: 5 }), LinkType.ethernet).nested, undefined);
});

test('a broken packet inside the tunnel keeps its own error; the outer decode stays intact', (t) => {
  const inner = buildFrame({ encap: 'vxlan', vni: 43, dport: 4789, src: '198.51.100.1', dst: '198.51.100.2' }).subarray(0, 14 + 20 + 8 + 4);
  const p = decodeFrame(buildFrame({ encap: 'vxlan', vni: 42, innerRaw: inner }), LinkType.ethernet);
  t.is(p.error, undefined);
  t.is(p.vxlan?.vni, 42);
  t.is(p.nested?.encap, 'vxlan');
  t.is(p.nested?.error?.layer, 'vxlan');
});

const packets = () => [decodeFrame(twoLevels(), LinkType.ethernet, { vxlanPorts: [4789, 4790] })];

test('capture keys nested.*: flat or as maps, matched against the packet inside the tunnel', (t) => {
  t.deepEqual(validateCaptureExpect({ 'nested.vxlan.vni': 43, nested: { udp: { dstport: 4790 }, 'inner.src': '203.0.113.1' } }), []);
  const m = matchCapture(packets(), { 'vxlan.vni': 42, 'nested.vxlan.vni': 43, 'nested.udp.dstport': 4790, 'nested.outer.src': '198.51.100.1', 'nested.inner.dst': '203.0.113.2' }, 1);
  t.true(m.ok, m.message);
  t.true(matchCapture(packets(), { nested: { vxlan: { vni: 43 } } }, 1).ok);
});

test('a wrong nested expectation fails naming the key, the expected and the seen value', (t) => {
  const m = matchCapture(packets(), { 'nested.vxlan.vni': 44 }, 1);
  t.false(m.ok);
  t.regex(m.message, /^expected nested\.vxlan\.vni 44 in ≥1 packets, 0 matched; saw 1 encapsulated \(geneve\/vxlan\/gre\/ESP\) packet with nested\.vxlan\.vni 43 ×1/);
  const none = matchCapture([decodeFrame(buildFrame({ encap: 'vxlan', vni: 42 }), LinkType.ethernet)], { 'nested.vxlan.vni': 43 }, 1);
  t.regex(none.message, /nested\.vxlan\.vni no tunnel packet inside the tunnel ×1/);
  const other = matchCapture(packets(), { 'nested.geneve.vni': 43 }, 1);
  t.regex(other.message, /nested\.geneve\.vni no geneve header inside the tunnel ×1/);
});

test('unknown nested keys are validation errors with the nearest nested key', (t) => {
  const p = validateCaptureExpect({ 'nested.vxlan.vin': 43 });
  t.is(p.length, 1);
  t.regex(p[0]!, /^expect\.nested\.vxlan\.vin: unknown key; did you mean nested\.vxlan\.vni\?/);
  t.deepEqual(validateCaptureExpect({ 'nested.nested.vxlan.vni': 1 }), []);
  t.regex(validateCaptureExpect({ 'nested.vxlan.vni': 'x' })[0]!, /^expect\.nested\.vxlan\.vni: must be an integer/);
});
