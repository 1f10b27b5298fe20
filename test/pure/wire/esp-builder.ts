/**
 * An independent ESP encryptor for tests (imports nothing from lib/): wraps a payload in ESP
 * (RFC 4303) with AES-GCM (RFC 4106) or AES-CBC + HMAC, inside a raw IPv4 header (LINKTYPE_RAW),
 * so the decoder's decryption is checked against packets built by other code than its own. Every
 * field can be forced wrong to craft malformed ESP.
 */
import { createCipheriv, createHmac } from 'node:crypto';

export interface EspBuild {
  spi: number;
  seq: number;
  nextHeader: number;
  payload: Buffer;
  alg: 'gcm' | 'cbc-sha1' | 'cbc-sha256';
  /** GCM: AES key + 4-byte salt; CBC: AES key. */
  key: Buffer;
  authKey?: Buffer;
  iv?: Buffer;
  /** Wrong padding bytes (all zero instead of 1, 2, 3…). */
  badPadding?: boolean;
  /** A pad length byte larger than the plaintext. */
  padLengthOverride?: number;
  src?: string;
  dst?: string;
}

function ipv4(src: string, dst: string, proto: number, payloadLen: number): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payloadLen, 2);
  h[8] = 64;
  h[9] = proto;
  Buffer.from(src.split('.').map(Number)).copy(h, 12);
  Buffer.from(dst.split('.').map(Number)).copy(h, 16);
  return h;
}

/** The ESP packet (SPI through ICV). */
export function esp(b: EspBuild): Buffer {
  const block = b.alg === 'gcm' ? 4 : 16;
  const padLen = (block - ((b.payload.length + 2) % block)) % block;
  const pad = Buffer.from(Array.from({ length: padLen }, (_, i) => (b.badPadding ? 0 : i + 1)));
  const plain = Buffer.concat([b.payload, pad, Buffer.from([b.padLengthOverride ?? padLen, b.nextHeader])]);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(b.spi, 0);
  head.writeUInt32BE(b.seq, 4);
  if (b.alg === 'gcm') {
    const iv = b.iv ?? Buffer.from('0102030405060708', 'hex');
    const key = b.key.subarray(0, b.key.length - 4);
    const c = createCipheriv(`aes-${key.length * 8}-gcm` as 'aes-128-gcm', key, Buffer.concat([b.key.subarray(b.key.length - 4), iv]), { authTagLength: 16 });
    c.setAAD(head);
    const ct = Buffer.concat([c.update(plain), c.final()]);
    return Buffer.concat([head, iv, ct, c.getAuthTag()]);
  }
  const iv = b.iv ?? Buffer.alloc(16, 0x11);
  const c = createCipheriv(`aes-${b.key.length * 8}-cbc` as 'aes-128-cbc', b.key, iv);
  c.setAutoPadding(false);
  const ct = Buffer.concat([c.update(plain), c.final()]);
  const signed = Buffer.concat([head, iv, ct]);
  const hash = b.alg === 'cbc-sha1' ? 'sha1' : 'sha256';
  const icv = createHmac(hash, b.authKey!).update(signed).digest().subarray(0, b.alg === 'cbc-sha1' ? 12 : 16);
  return Buffer.concat([signed, icv]);
}

/** A raw IPv4 frame (LINKTYPE_RAW, 101) around any ESP bytes (e.g. crafted ones). */
export function rawIpv4(espBytes: Buffer, src = '192.0.2.1', dst = '192.0.2.2'): Buffer {
  return Buffer.concat([ipv4(src, dst, 50, espBytes.length), espBytes]);
}

/** A raw IPv4 frame (LINKTYPE_RAW, 101) carrying ESP. */
export function espFrame(b: EspBuild): Buffer {
  const e = esp(b);
  return Buffer.concat([ipv4(b.src ?? '192.0.2.1', b.dst ?? '192.0.2.2', 50, e.length), e]);
}

/** A UDP datagram carrying Geneve (VNI, TEB) and an inner Ethernet + IPv4 header: what ESP wraps. */
export function udpGeneve(vni: number, innerSrc = '203.0.113.1', innerDst = '203.0.113.2'): Buffer {
  const inner = Buffer.concat([
    Buffer.from('020000000002020000000001' + '0800', 'hex'),
    (() => {
      const h = ipv4(innerSrc, innerDst, 1, 8);
      return Buffer.concat([h, Buffer.from('0800f7ff00000000', 'hex')]);
    })(),
  ]);
  const gen = Buffer.alloc(8);
  gen.writeUInt16BE(0x6558, 2);
  gen.writeUIntBE(vni, 4, 3);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(40000, 0);
  udp.writeUInt16BE(6081, 2);
  udp.writeUInt16BE(8 + gen.length + inner.length, 4);
  return Buffer.concat([udp, gen, inner]);
}

/** A GRE header with the TEB protocol and a key, then an inner Ethernet + IPv4 header. */
export function greTeb(key: number, innerSrc = '203.0.113.1', innerDst = '203.0.113.2'): Buffer {
  const gre = Buffer.alloc(8);
  gre.writeUInt16BE(0x2000, 0);
  gre.writeUInt16BE(0x6558, 2);
  gre.writeUInt32BE(key, 4);
  const h = ipv4(innerSrc, innerDst, 1, 8);
  return Buffer.concat([gre, Buffer.from('020000000002020000000001' + '0800', 'hex'), h, Buffer.from('0800f7ff00000000', 'hex')]);
}
