/**
 * Geneve header (RFC 8926 §3.4) and its options, plus OVN's one option (class 0x0102, type 0x80:
 * 1 reserved bit, 15-bit logical ingress port, 16-bit logical egress port; geneve-surface.md §5).
 */
import { fail, need } from './errors.js';

export const GENEVE_PORT = 6081;
export const OVN_CLASS = 0x0102;
export const OVN_TYPE = 0x80;

export interface GeneveOption {
  class: number;
  /** Full type byte, critical bit included (so OVN's is 0x80). */
  type: number;
  critical: boolean;
  /** The 3 reserved bits after the type. */
  reserved: number;
  /** Data length in bytes (the wire's 5-bit length × 4). */
  length: number;
  /** Data as lower-case hex without separators. */
  data: string;
}

export interface GeneveHeader {
  version: number;
  /** Options length in bytes (the wire's 6-bit word count × 4). */
  optLen: number;
  oam: boolean;
  critical: boolean;
  /** The 6 reserved flag bits. */
  reservedFlags: number;
  proto: number;
  vni: number;
  reserved: number;
  options: GeneveOption[];
  /** OVN's logical port keys, when the OVN option is present with its 4-byte body. */
  ovn?: { ingress: number; egress: number };
}

/**
 * Decode a Geneve header at `off`. `declaredEnd` is where the UDP payload ends by its length field,
 * `capturedEnd` where the captured bytes end. Calls `onHeader` as soon as the base header is known,
 * so a later error in the options still leaves the header fields available to the caller.
 * Returns the offset of the payload (inner frame).
 */
export function decodeGeneve(
  b: Buffer,
  off: number,
  declaredEnd: number,
  capturedEnd: number,
  onHeader: (h: GeneveHeader) => void,
): number {
  const end = Math.min(declaredEnd, capturedEnd);
  need(end, off, 8, 'geneve', 'the 8-byte base header');
  const h: GeneveHeader = {
    version: b[off]! >> 6,
    optLen: (b[off]! & 0x3f) * 4,
    oam: (b[off + 1]! & 0x80) !== 0,
    critical: (b[off + 1]! & 0x40) !== 0,
    reservedFlags: b[off + 1]! & 0x3f,
    proto: b.readUInt16BE(off + 2),
    vni: b.readUIntBE(off + 4, 3),
    reserved: b[off + 7]!,
    options: [],
  };
  onHeader(h);
  if (h.version !== 0) {
    fail('bad-version', 'geneve', off, `version ${h.version} is unknown (RFC 8926 defines only version 0); the rest of the header cannot be trusted`);
  }
  const optStart = off + 8;
  const optEnd = optStart + h.optLen;
  if (optEnd > declaredEnd) {
    fail(
      'bad-length',
      'geneve',
      off,
      `Opt Len announces ${h.optLen} bytes of options but the UDP payload has only ${Math.max(0, declaredEnd - optStart)} bytes after the 8-byte base header`,
    );
  }
  need(capturedEnd, optStart, h.optLen, 'geneve', `the ${h.optLen}-byte options area`);
  let o = optStart;
  while (o < optEnd) {
    const n = h.options.length + 1;
    if (o + 4 > optEnd) {
      fail('option-overrun', 'geneve', o, `option ${n}: its 4-byte header starts ${optEnd - o} bytes before the end of the ${h.optLen}-byte options area`);
    }
    const cls = b.readUInt16BE(o);
    const type = b[o + 2]!;
    const length = (b[o + 3]! & 0x1f) * 4;
    if (o + 4 + length > optEnd) {
      fail(
        'option-overrun',
        'geneve',
        o,
        `option ${n} (class 0x${hex4(cls)}, type 0x${hex2(type)}) announces ${length} data bytes, but only ${optEnd - o - 4} remain in the ${h.optLen}-byte options area`,
      );
    }
    h.options.push({
      class: cls,
      type,
      critical: (type & 0x80) !== 0,
      reserved: b[o + 3]! >> 5,
      length,
      data: b.subarray(o + 4, o + 4 + length).toString('hex'),
    });
    o += 4 + length;
  }
  const ovn = h.options.find((x) => x.class === OVN_CLASS && x.type === OVN_TYPE && x.length === 4);
  if (ovn) h.ovn = ovnPortKeys(ovn.data);
  return optEnd;
}

/** Split OVN's 32-bit option body into its 15-bit ingress and 16-bit egress port keys. */
export function ovnPortKeys(dataHex: string): { ingress: number; egress: number } {
  const v = parseInt(dataHex.slice(0, 8), 16) >>> 0;
  return { ingress: (v >>> 16) & 0x7fff, egress: v & 0xffff };
}

export function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
export function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}
