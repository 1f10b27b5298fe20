/**
 * Capture expectations on IPsec traffic: `esp`, `esp.spi`, `esp.decrypted`, GRE keys, tunnel keys
 * applied to the decrypted packet, and `forbid` (no tunnel packet in clear), on the real ESP
 * fixtures and on crafted cleartext frames.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { matchCapture, validateCaptureExpect } from '../../../lib/checks/capture-expect.js';
import { decodeCapture, decodeFrame, LinkType } from '../../../lib/wire/index.js';
import { espKeyring, parseXfrmStates } from '../../../lib/ipsec/xfrm.js';
import { buildFrame } from './frame-builder.js';

const FX = join(import.meta.dirname, '../../fixtures/esp');
const packets = (name: string, withKeys = true) =>
  decodeCapture(readFileSync(join(FX, `${name}.pcap`)), withKeys ? { espSas: espKeyring(parseXfrmStates(readFileSync(join(FX, `${name}.xfrm.txt`), 'utf8'))) } : {}).packets;

test('GRE over IPsec: ESP on the wire and, decrypted, GRE/TEB with the ping inside', (t) => {
  const m = matchCapture(packets('gcm256-gretap'), { esp: true, 'esp.decrypted': true, 'gre.proto': 'teb', 'gre.key': 42, 'inner.src': '203.0.113.1', 'inner.proto': 1 }, 1, { forbid: { esp: false } });
  t.true(m.ok, m.message);
  t.like(m.figures, { matched: 1, esp: 6, esp_decrypted: 6, forbidden: 0 });
  const spi = matchCapture(packets('gcm256-gretap'), { 'esp.spi': '0x1001', encap: 'gre' }, 3, { forbid: { esp: false } });
  t.true(spi.ok, spi.message);
});

test('Geneve keys apply to the decrypted packet; without keys only the ESP header is there', (t) => {
  t.true(matchCapture(packets('gcm128-geneve'), { 'esp.spi': 0x1002, 'geneve.vni': 5, 'udp.dstport': 6081 }, 3).ok);
  const blind = matchCapture(packets('gcm128-geneve', false), { 'geneve.vni': 5 }, 1);
  t.false(blind.ok);
  t.regex(blind.message, /saw no geneve packets among 6 captured/);
  const espOnly = matchCapture(packets('gcm128-geneve', false), { 'esp.spi': 0x1001, 'esp.decrypted': false }, 2);
  t.true(espOnly.ok, espOnly.message);
});

test('forbid: a tunnel packet in clear fails the capture and is named', (t) => {
  const clear = decodeFrame(buildFrame({ vni: 5, src: '192.0.2.11', dst: '192.0.2.12' }), LinkType.ethernet);
  clear.index = 7;
  const m = matchCapture([...packets('gcm128-geneve'), clear], { esp: true }, 1, { forbid: { esp: false } });
  t.false(m.ok);
  t.regex(m.message, /^1 packet matched forbidden esp false: frame 7: geneve vni 5 192\.0\.2\.11 → 192\.0\.2\.12, not in ESP/);
  t.is(m.figures.forbidden, 1);
});

test('at_least 0 with forbid asserts an absence: passes with none (or only other packets), fails naming the packet that crossed', (t) => {
  const vni = (v: number) => {
    const p = decodeFrame(buildFrame({ vni: v, src: '192.0.2.11', dst: '192.0.2.12' }), LinkType.ethernet);
    p.index = v;
    return p;
  };
  const none = matchCapture([], {}, 0, { forbid: { 'geneve.vni': 5 } });
  t.true(none.ok, none.message);
  t.is(none.message, 'no packet matched forbidden geneve.vni 5 (0 tunnel packets among 0 captured)');
  const other = matchCapture([vni(6), vni(7)], {}, 0, { forbid: { 'geneve.vni': 5 } });
  t.true(other.ok, other.message);
  t.regex(other.message, /^no packet matched forbidden geneve\.vni 5 \(2 tunnel packets among 2 captured\)/);
  const leaked = matchCapture([vni(6), vni(5)], {}, 0, { forbid: { 'geneve.vni': 5 } });
  t.false(leaked.ok);
  t.regex(leaked.message, /^1 packet matched forbidden geneve\.vni 5: frame 5: geneve vni 5 192\.0\.2\.11 → 192\.0\.2\.12/);
});

test('validation: esp and gre keys, contradictions, forbid needs a key', (t) => {
  t.deepEqual(validateCaptureExpect({ esp: true, 'esp.spi': '0x1001', 'gre.proto': 'ethernet', 'gre.key': 42, 'gre.csum': false }), []);
  const bad = validateCaptureExpect({ esp: false, 'esp.spi': 1, 'gre.proto': 'x', 'geneve.vni': 5 }).join('\n');
  t.regex(bad, /esp is false \(not carried in ESP\) but esp\.\* keys are given/);
  t.regex(bad, /gre\.proto: must be an EtherType/);
  t.regex(bad, /has both geneve\.\* and gre\.\* keys/);
  t.regex(matchCapture([], {}, 1, { forbid: {} }).message, /forbid: needs at least one key/);
});
