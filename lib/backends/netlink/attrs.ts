/**
 * Netlink TLV building and parsing. Attributes are 4-byte aligned: u16 length (header +
 * payload, without padding), u16 type, payload, zero padding. Integers are host order
 * (little-endian on every platform this project runs on) unless an attribute is documented
 * as big-endian; those use the *BE helpers.
 */
import { isIPv4, isIPv6 } from 'node:net';

export const NLA_F_NESTED = 0x8000;
const NLA_TYPE_MASK = 0x3fff;

export const align4 = (n: number): number => (n + 3) & ~3;

/** One attribute or nest: a type and a payload (raw bytes or child attributes). */
export type Attr = { type: number; data: Buffer } | { type: number; nested: Attr[]; flag?: boolean };

export function attr(type: number, data: Buffer): Attr {
  return { type, data };
}
export function nest(type: number, children: Attr[]): Attr {
  return { type: type | NLA_F_NESTED, nested: children };
}
export const u8 = (type: number, v: number): Attr => attr(type, Buffer.from([v & 0xff]));
export function u16be(type: number, v: number): Attr {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return attr(type, b);
}
export function u32(type: number, v: number): Attr {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return attr(type, b);
}
export function u32be(type: number, v: number): Attr {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return attr(type, b);
}
export const flag = (type: number): Attr => attr(type, Buffer.alloc(0));
/** NUL-terminated string (IFLA_IFNAME, IFLA_IFALIAS). */
export const cstr = (type: number, s: string): Attr => attr(type, Buffer.from(s + '\0', 'utf8'));
/** String without terminator (IFLA_INFO_KIND, as iproute2 sends it). */
export const str = (type: number, s: string): Attr => attr(type, Buffer.from(s, 'utf8'));
export const ip = (type: number, addr: string): Attr => attr(type, ipBytes(addr));

export function attrLength(a: Attr): number {
  if ('data' in a) return 4 + a.data.length;
  return 4 + a.nested.reduce((n, c) => n + align4(attrLength(c)), 0);
}

/** Serialise attributes with padding. */
export function encodeAttrs(attrs: Attr[]): Buffer {
  const parts: Buffer[] = [];
  for (const a of attrs) {
    const len = attrLength(a);
    const hdr = Buffer.alloc(4);
    hdr.writeUInt16LE(len, 0);
    hdr.writeUInt16LE(a.type, 2);
    parts.push(hdr);
    const body = 'data' in a ? a.data : encodeAttrs(a.nested);
    parts.push(body);
    const pad = align4(len) - len;
    if ('data' in a && pad) parts.push(Buffer.alloc(pad));
  }
  return Buffer.concat(parts);
}

/** Parsed attributes by type (nested flag stripped). Later duplicates win. */
export type AttrMap = Map<number, Buffer>;

export function parseAttrs(buf: Buffer): AttrMap {
  const out: AttrMap = new Map();
  let off = 0;
  // Byte arithmetic instead of readUInt16LE: a link reply has ~50 attributes and the checked
  // reads were a measurable share of `up` (the loop condition already bounds every index).
  while (off + 4 <= buf.length) {
    const len = buf[off]! | (buf[off + 1]! << 8);
    const type = (buf[off + 2]! | (buf[off + 3]! << 8)) & NLA_TYPE_MASK;
    if (len < 4 || off + len > buf.length) break;
    out.set(type, buf.subarray(off + 4, off + len));
    off += align4(len);
  }
  return out;
}

export function readCstr(b: Buffer | undefined): string | undefined {
  if (!b) return undefined;
  const z = b.indexOf(0);
  return b.subarray(0, z < 0 ? b.length : z).toString('utf8');
}

export function ipBytes(addr: string): Buffer {
  if (isIPv4(addr)) return Buffer.from(addr.split('.').map(Number));
  if (isIPv6(addr)) return ipv6Bytes(addr);
  throw new Error(`not an IP address: "${addr}"`);
}

function ipv6Bytes(addr: string): Buffer {
  let s = addr;
  // an embedded IPv4 tail (::ffff:192.0.2.1) becomes two hex words
  const m = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (m?.[1] && m[2]) {
    const b = ipBytes(m[2]);
    s = `${m[1]}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = s.split('::');
  const words = (x: string | undefined) => (x ? x.split(':').map((w) => parseInt(w, 16)) : []);
  const h = words(halves[0]);
  const r = halves.length > 1 ? words(halves[1]) : [];
  const all = halves.length > 1 ? [...h, ...new Array<number>(8 - h.length - r.length).fill(0), ...r] : h;
  const b = Buffer.alloc(16);
  all.forEach((w, i) => b.writeUInt16BE(w, i * 2));
  return b;
}

/** Format 4 or 16 address bytes the way iproute2 prints them (RFC 5952 for IPv6). */
export function formatIp(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  const w = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  // longest run of zeros (length >= 2) becomes '::'
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(w);
  return `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}

export function macBytes(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`not a MAC address: "${mac}"`);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}
export const formatMac = (b: Buffer): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
