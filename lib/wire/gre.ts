/**
 * GRE header (RFC 2784 with RFC 2890 key and sequence number): flags C/K/S and version, the
 * protocol type (0x6558 Transparent Ethernet Bridging: an Ethernet frame follows — what OVS's gre
 * port and a Linux gretap send; 0x0800/0x86dd: an IP packet), then optional checksum, key and
 * sequence number, in that order.
 */
import { fail, need } from './errors.js';

export interface GreHeader {
  checksumPresent: boolean;
  keyPresent: boolean;
  seqPresent: boolean;
  version: number;
  proto: number;
  checksum?: number;
  key?: number;
  seq?: number;
}

/** Decode at `off` (bytes available up to `end`); returns the offset of the payload. */
export function decodeGre(b: Buffer, off: number, end: number, onHeader: (h: GreHeader) => void): number {
  need(end, off, 4, 'gre', 'the 4-byte GRE header');
  const flags = b.readUInt16BE(off);
  const h: GreHeader = {
    checksumPresent: (flags & 0x8000) !== 0,
    keyPresent: (flags & 0x2000) !== 0,
    seqPresent: (flags & 0x1000) !== 0,
    version: flags & 0x7,
    proto: b.readUInt16BE(off + 2),
  };
  onHeader(h);
  if (h.version !== 0) fail('unsupported', 'gre', off, `GRE version ${h.version} is not decoded (only version 0; 1 is PPTP's enhanced GRE)`);
  let o = off + 4;
  const word = (what: string) => {
    need(end, o, 4, 'gre', `the GRE ${what} announced by its flag`);
    const v = b.readUInt32BE(o);
    o += 4;
    return v;
  };
  if (h.checksumPresent) h.checksum = word('checksum') >>> 16;
  if (h.keyPresent) h.key = word('key');
  if (h.seqPresent) h.seq = word('sequence number');
  onHeader(h);
  return o;
}
