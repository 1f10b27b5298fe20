/**
 * ESP in the decoder: real kernel ESP (test/fixtures/esp: captures made in the VM tier with static
 * SAs, keys as `ip xfrm state` printed them) decrypted with each supported algorithm, and
 * malformed ESP (wrong keys, altered bytes, truncation, bad padding, bad lengths, unknown
 * algorithms) giving typed decode errors — never an exception.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCapture, decodeFrame, LinkType, type DecodedPacket, type EspSa } from '../../../lib/wire/index.js';
import { espKeyring, parseXfrmStates } from '../../../lib/ipsec/xfrm.js';
import { createHmac } from 'node:crypto';
import { esp, espFrame, greTeb, rawIpv4, udpGeneve } from './esp-builder.js';

const FX = join(import.meta.dirname, '../../fixtures/esp');
const keys = (name: string) => espKeyring(parseXfrmStates(readFileSync(join(FX, `${name}.xfrm.txt`), 'utf8')));
const decode = (name: string, sas?: EspSa[]) => decodeCapture(readFileSync(join(FX, `${name}.pcap`)), sas ? { espSas: sas } : {}).packets;

test('real captures: every ESP packet decrypts with the SA keys ip xfrm state printed, for each algorithm', (t) => {
  const cases: [string, string, number, 'geneve' | 'vxlan' | 'gre', number][] = [
    ['gcm128-geneve', 'AES-GCM-128', 17, 'geneve', 5],
    ['gcm256-gretap', 'AES-GCM-256', 47, 'gre', 42],
    ['cbc-sha1-vxlan', 'AES-CBC-128/HMAC-SHA1-96', 17, 'vxlan', 7],
    ['cbc-sha256-geneve6', 'AES-CBC-256/HMAC-SHA-256-128', 17, 'geneve', 5],
  ];
  for (const [name, algorithm, nextHeader, encap, id] of cases) {
    const packets = decode(name, keys(name));
    t.true(packets.length >= 6, name);
    for (const p of packets) {
      t.is(p.error, undefined, `${name} frame ${p.index}: ${p.error?.message}`);
      t.like(p.esp, { decrypted: true, algorithm, nextHeader }, name);
      t.true([0x1001, 0x1002].includes(p.esp!.spi), name);
      t.is(p.encap, encap, name);
      t.is(p.geneve?.vni ?? p.vxlan?.vni ?? p.gre?.key, id, name);
    }
  }
});

test('real capture, AES-GCM-256 around GRE/TEB: the ping inside, like the seed article\'s Wireshark shows it', (t) => {
  const packets = decode('gcm256-gretap', keys('gcm256-gretap'));
  const [req, rep] = [packets[4]!, packets[5]!];
  t.like(req, { outer: { family: 'ipv4', src: '192.0.2.1', dst: '192.0.2.2' }, ip: { proto: 50 }, esp: { spi: 0x1001, seq: 9, padLength: 0, payloadLength: 106 }, encap: 'gre' });
  t.like(req.gre, { keyPresent: true, key: 42, proto: 0x6558, version: 0 });
  t.like(req.inner, { family: 'ipv4', src: '203.0.113.1', dst: '203.0.113.2', proto: 1 });
  t.like(rep, { esp: { spi: 0x1002, seq: 8 }, inner: { src: '203.0.113.2', dst: '203.0.113.1', proto: 1 } });
});

test('real capture over IPv6: ESP behind the IPv6 header, AES-CBC-256 + HMAC-SHA-256-128 with its padding', (t) => {
  const p = decode('cbc-sha256-geneve6', keys('cbc-sha256-geneve6'))[4]!;
  t.like(p, { outer: { family: 'ipv6', src: '2001:db8::1', dst: '2001:db8::2' }, ipv6: { proto: 50 }, esp: { spi: 0x1001, seq: 9, padLength: 12, ivLength: 16, icvLength: 16 } });
  t.like(p, { udp: { dstport: 6081 }, geneve: { vni: 5 }, inner: { src: '203.0.113.1', dst: '203.0.113.2' } });
});

test('without keys: SPI and sequence number, not decrypted, and why (no error: that is no fault of the packet)', (t) => {
  for (const p of decode('gcm256-gretap')) {
    t.is(p.error, undefined);
    t.like(p.esp, { decrypted: false, note: 'no ESP keys given' });
    t.is(p.encap, undefined);
  }
  const other = decode('gcm256-gretap', keys('gcm128-geneve')); // keys for the same SPIs, another SA
  t.true(other.every((p) => p.error?.code === 'esp-auth-failed' && p.error.layer === 'esp'), JSON.stringify(other.map((p) => p.error)));
  const none = decode('gcm256-gretap', [{ spi: 0x9999, aead: { name: 'rfc4106(gcm(aes))', key: Buffer.alloc(36), icvBits: 128 } }]);
  t.regex(none[0]!.esp!.note!, /no key for SPI 0x1002 to 192\.0\.2\.1/);
});

function frameOf(name: string, i: number): { data: Buffer; linkType: number } {
  // The fixtures are Ethernet (tcpdump on a veth).
  const { packets } = decodeCapture(readFileSync(join(FX, `${name}.pcap`)));
  const raw = readFileSync(join(FX, `${name}.pcap`));
  // Walk the classic pcap records to get frame i's bytes.
  let off = 24;
  for (let n = 1; ; n++) {
    const incl = raw.readUInt32LE(off + 8);
    if (n === i) return { data: Buffer.from(raw.subarray(off + 16, off + 16 + incl)), linkType: packets[0]!.link.linkType };
    off += 16 + incl;
  }
}

test('altered bytes, truncation: typed errors, with what was decoded before the fault kept', (t) => {
  const sas = keys('cbc-sha1-vxlan');
  const f = frameOf('cbc-sha1-vxlan', 5);
  const flipped = Buffer.from(f.data);
  flipped[14 + 20 + 30]! ^= 0x01; // a ciphertext byte
  const p1 = decodeFrame(flipped, f.linkType, { espSas: sas });
  t.like(p1.error, { code: 'esp-auth-failed', layer: 'esp', offset: 34 });
  t.like(p1, { outer: { src: '192.0.2.1' }, esp: { spi: 0x1001, decrypted: false } });
  t.regex(p1.error!.message, /HMAC-SHA1 ICV of SPI 0x1001 seq 9 does not verify/);
  const cut = decodeFrame(f.data.subarray(0, 80), f.linkType, { espSas: sas });
  t.like(cut.error, { code: 'truncated', layer: 'esp' });
  const gcm = frameOf('gcm256-gretap', 5);
  const tag = Buffer.from(gcm.data);
  tag[tag.length - 1]! ^= 0x80; // the ICV itself
  t.like(decodeFrame(tag, gcm.linkType, { espSas: keys('gcm256-gretap') }).error, { code: 'esp-auth-failed', layer: 'esp' });
});

const KEY16 = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const SALT = Buffer.from('cafebabe', 'hex');
const AUTH20 = Buffer.alloc(20, 0x5a);
const AUTH32 = Buffer.alloc(32, 0xa5);
const sas: EspSa[] = [
  { spi: 0x100, aead: { name: 'rfc4106(gcm(aes))', key: Buffer.concat([KEY16, SALT]), icvBits: 128 } },
  { spi: 0x101, enc: { name: 'cbc(aes)', key: KEY16 }, auth: { name: 'hmac(sha1)', key: AUTH20, truncBits: 96 } },
  { spi: 0x102, enc: { name: 'cbc(aes)', key: Buffer.concat([KEY16, KEY16]) }, auth: { name: 'hmac(sha256)', key: AUTH32, truncBits: 128 } },
];
const raw = (data: Buffer): DecodedPacket => decodeFrame(data, LinkType.raw, { espSas: sas });

test('independently built ESP (Node crypto, not the decoder): each algorithm, Geneve and GRE/TEB inside', (t) => {
  const g = raw(espFrame({ spi: 0x100, seq: 1, nextHeader: 17, payload: udpGeneve(77), alg: 'gcm', key: Buffer.concat([KEY16, SALT]) }));
  t.like(g, { esp: { decrypted: true, algorithm: 'AES-GCM-128', nextHeader: 17 }, encap: 'geneve', geneve: { vni: 77 }, inner: { src: '203.0.113.1' } });
  const c1 = raw(espFrame({ spi: 0x101, seq: 2, nextHeader: 47, payload: greTeb(9), alg: 'cbc-sha1', key: KEY16, authKey: AUTH20 }));
  t.like(c1, { esp: { decrypted: true, algorithm: 'AES-CBC-128/HMAC-SHA1-96', icvLength: 12 }, encap: 'gre', gre: { key: 9, proto: 0x6558 }, inner: { dst: '203.0.113.2' } });
  const c2 = raw(espFrame({ spi: 0x102, seq: 3, nextHeader: 17, payload: udpGeneve(1), alg: 'cbc-sha256', key: Buffer.concat([KEY16, KEY16]), authKey: AUTH32 }));
  t.like(c2, { esp: { decrypted: true, algorithm: 'AES-CBC-256/HMAC-SHA-256-128', icvLength: 16 }, geneve: { vni: 1 } });
  t.is(g.error ?? c1.error ?? c2.error, undefined);
});

test('malformed ESP: bad padding, impossible pad length, ciphertext off the block size, unknown algorithms', (t) => {
  const badPad = raw(espFrame({ spi: 0x101, seq: 1, nextHeader: 17, payload: udpGeneve(1).subarray(0, 13), alg: 'cbc-sha1', key: KEY16, authKey: AUTH20, badPadding: true }));
  t.like(badPad.error, { code: 'esp-bad-padding', layer: 'esp' });
  t.regex(badPad.error!.message, /RFC 4303 padding counts 1, 2, 3/);
  const tooLong = raw(espFrame({ spi: 0x100, seq: 1, nextHeader: 17, payload: Buffer.alloc(10), alg: 'gcm', key: Buffer.concat([KEY16, SALT]), padLengthOverride: 200 }));
  t.like(tooLong.error, { code: 'esp-bad-padding' });
  t.regex(tooLong.error!.message, /pad length 200 exceeds the 10 decrypted bytes/);
  // A CBC packet whose ciphertext is not whole blocks, yet correctly signed: a length fault, not an ICV one.
  const good = esp({ spi: 0x101, seq: 7, nextHeader: 17, payload: Buffer.alloc(30), alg: 'cbc-sha1', key: KEY16, authKey: AUTH20 });
  const signed = Buffer.concat([good.subarray(0, good.length - 12), Buffer.alloc(3)]);
  const odd = Buffer.concat([signed, createHmac('sha1', AUTH20).update(signed).digest().subarray(0, 12)]);
  t.like(raw(rawIpv4(odd)).error, { code: 'bad-length', layer: 'esp' });
  const unknown = decodeFrame(espFrame({ spi: 0x100, seq: 1, nextHeader: 17, payload: Buffer.alloc(8), alg: 'gcm', key: Buffer.concat([KEY16, SALT]) }), LinkType.raw, {
    espSas: [{ spi: 0x100, aead: { name: 'rfc4543(gcm(aes))', key: Buffer.alloc(20), icvBits: 128 } }],
  });
  t.like(unknown.error, { code: 'unsupported', layer: 'esp' });
  t.regex(unknown.error!.message, /rfc4543\(gcm\(aes\)\)/);
  const des = decodeFrame(espFrame({ spi: 0x101, seq: 1, nextHeader: 17, payload: Buffer.alloc(8), alg: 'cbc-sha1', key: KEY16, authKey: AUTH20 }), LinkType.raw, {
    espSas: [{ spi: 0x101, enc: { name: 'cbc(des3_ede)', key: Buffer.alloc(24) }, auth: { name: 'hmac(sha1)', key: AUTH20, truncBits: 96 } }],
  });
  t.like(des.error, { code: 'unsupported' });
  t.like(raw(rawIpv4(Buffer.from('00000100', 'hex'))).error, { code: 'truncated', layer: 'esp' });
  t.like(raw(rawIpv4(Buffer.from('000001000000000102', 'hex'))).error, { code: 'truncated', layer: 'esp' }, 'SPI 0x100 is known: too short for its IV, trailer and ICV');
});
