/**
 * ESP (RFC 4303) in the decoder: the clear header (SPI, sequence number), and — given the SA's keys,
 * as `ip xfrm state` shows them — decryption, like Wireshark's "Attempt to detect/decode encrypted
 * ESP payloads". Algorithms (kernel names): rfc4106(gcm(aes)) (AES-GCM with a 16-byte ICV; key =
 * AES key + 4-byte salt), and cbc(aes) with hmac(sha1) (96-bit ICV) or hmac(sha256) (128-bit ICV).
 * The ICV is verified before anything is trusted; padding is checked as RFC 4303 §2.4 writes it
 * (1, 2, 3, …). Faults are typed decode errors (WireDecodeError), never exceptions of Node's crypto.
 */
import { createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { sameIp } from './addr.js';
import { fail, need } from './errors.js';

/** One SA's keys: what decrypting needs. An SA is found by SPI and outer destination. */
export interface EspSa {
  spi: number;
  src?: string;
  dst?: string;
  aead?: { name: string; key: Buffer; icvBits: number };
  enc?: { name: string; key: Buffer };
  auth?: { name: string; key: Buffer; truncBits: number };
}

export interface EspHeader {
  spi: number;
  seq: number;
  /** Whether the payload was decrypted (and its ICV verified). */
  decrypted: boolean;
  /** Why it was not (no SA known for the SPI), when it was not and that is no fault of the packet. */
  note?: string;
  /** e.g. "AES-GCM-128", "AES-CBC-256/HMAC-SHA-256-128". */
  algorithm?: string;
  ivLength?: number;
  icvLength?: number;
  padLength?: number;
  /** Protocol of the decrypted payload (17 UDP, 47 GRE, 4/41 an inner IP packet in tunnel mode). */
  nextHeader?: number;
  /** Bytes of that payload. */
  payloadLength?: number;
}

export function findSa(sas: readonly EspSa[] | undefined, spi: number, dst: string): EspSa | undefined {
  return sas?.find((s) => s.spi === spi && (s.dst === undefined || sameIp(s.dst, dst)));
}

/** The clear part: SPI and sequence number. */
export function espHeader(b: Buffer, off: number, end: number): { spi: number; seq: number } {
  need(end, off, 8, 'esp', 'the ESP header (SPI and sequence number)');
  return { spi: b.readUInt32BE(off), seq: b.readUInt32BE(off + 4) };
}

const AES = (keyBytes: number, off: number) => {
  if (![16, 24, 32].includes(keyBytes)) fail('unsupported', 'esp', off, `an AES key of ${keyBytes} bytes (16, 24 or 32 expected)`);
  return keyBytes * 8;
};

/**
 * Decrypt the ESP packet b[off, end) with `sa`. Returns the header and the inner payload (the
 * packet of protocol `nextHeader`). Throws WireDecodeError: truncated, bad-length,
 * esp-auth-failed, esp-bad-padding, unsupported.
 */
export function decryptEsp(b: Buffer, off: number, end: number, sa: EspSa): { header: EspHeader; payload: Buffer } {
  const { spi, seq } = espHeader(b, off, end);
  const header: EspHeader = { spi, seq, decrypted: false };
  const aad = b.subarray(off, off + 8);
  let plain: Buffer;
  if (sa.aead) {
    if (sa.aead.name !== 'rfc4106(gcm(aes))') fail('unsupported', 'esp', off, `AEAD algorithm ${sa.aead.name} (rfc4106(gcm(aes)) is decoded)`);
    const icv = sa.aead.icvBits / 8;
    const bits = AES(sa.aead.key.length - 4, off);
    Object.assign(header, { algorithm: `AES-GCM-${bits}`, ivLength: 8, icvLength: icv });
    need(end, off, 8 + 8 + 2 + icv, 'esp', `an AES-GCM ESP packet (header, 8-byte IV, trailer, ${icv}-byte ICV)`);
    const iv = b.subarray(off + 8, off + 16);
    const ct = b.subarray(off + 16, end - icv);
    const tag = b.subarray(end - icv, end);
    const nonce = Buffer.concat([sa.aead.key.subarray(sa.aead.key.length - 4), iv]);
    const d = createDecipheriv(`aes-${bits}-gcm` as 'aes-128-gcm', sa.aead.key.subarray(0, sa.aead.key.length - 4), nonce, { authTagLength: icv });
    d.setAAD(aad);
    d.setAuthTag(tag);
    const body = d.update(ct);
    try {
      plain = Buffer.concat([body, d.final()]);
    } catch {
      fail('esp-auth-failed', 'esp', off, `the AES-GCM ICV of SPI 0x${spi.toString(16)} seq ${seq} does not verify: wrong keys for this SA, or the packet was altered`);
    }
  } else if (sa.enc && sa.auth) {
    if (sa.enc.name !== 'cbc(aes)') fail('unsupported', 'esp', off, `cipher ${sa.enc.name} (cbc(aes) is decoded)`);
    const hash = sa.auth.name === 'hmac(sha1)' ? 'sha1' : sa.auth.name === 'hmac(sha256)' ? 'sha256' : undefined;
    if (!hash) fail('unsupported', 'esp', off, `integrity algorithm ${sa.auth.name} (hmac(sha1) and hmac(sha256) are decoded)`);
    const icv = sa.auth.truncBits / 8;
    const bits = AES(sa.enc.key.length, off);
    Object.assign(header, { algorithm: `AES-CBC-${bits}/HMAC-${hash.toUpperCase().replace('SHA', 'SHA-').replace('SHA-1', 'SHA1')}-${sa.auth.truncBits}`, ivLength: 16, icvLength: icv });
    need(end, off, 8 + 16 + 16 + icv, 'esp', `an AES-CBC ESP packet (header, 16-byte IV, at least one block, ${icv}-byte ICV)`);
    const signed = b.subarray(off, end - icv);
    const want = createHmac(hash, sa.auth.key).update(signed).digest().subarray(0, icv);
    if (!timingSafeEqual(want, b.subarray(end - icv, end)))
      fail('esp-auth-failed', 'esp', off, `the HMAC-${hash.toUpperCase()} ICV of SPI 0x${spi.toString(16)} seq ${seq} does not verify: wrong keys for this SA, or the packet was altered`);
    const ct = b.subarray(off + 24, end - icv);
    if (ct.length % 16 !== 0) fail('bad-length', 'esp', off, `the AES-CBC ciphertext is ${ct.length} bytes, not a multiple of the 16-byte block`);
    const d = createDecipheriv(`aes-${bits}-cbc` as 'aes-128-cbc', sa.enc.key, b.subarray(off + 8, off + 24));
    d.setAutoPadding(false);
    plain = Buffer.concat([d.update(ct), d.final()]);
  } else {
    return fail('unsupported', 'esp', off, `the SA for SPI 0x${spi.toString(16)} has neither an AEAD nor a cipher with an integrity algorithm`);
  }
  const padLength = plain[plain.length - 2]!;
  const nextHeader = plain[plain.length - 1]!;
  if (padLength + 2 > plain.length) fail('esp-bad-padding', 'esp', off, `pad length ${padLength} exceeds the ${plain.length - 2} decrypted bytes before the trailer`);
  const payloadLength = plain.length - 2 - padLength;
  for (let i = 0; i < padLength; i++)
    if (plain[payloadLength + i] !== i + 1) fail('esp-bad-padding', 'esp', off, `padding byte ${i + 1} of ${padLength} is 0x${plain[payloadLength + i]!.toString(16)}, RFC 4303 padding counts 1, 2, 3, …`);
  Object.assign(header, { decrypted: true, padLength, nextHeader, payloadLength });
  return { header, payload: plain.subarray(0, payloadLength) };
}
