/**
 * A tiny, independent frame builder for tests (imports nothing from lib/wire): Ethernet → IPv4/IPv6
 * → UDP → Geneve/VXLAN → inner Ethernet/IPv4 with an ICMP echo, plus pcap and pcapng writers.
 * Fields can be forced to wrong values to craft malformed packets.
 */

export interface OptSpec {
  class: number;
  type: number;
  data: string; // hex
  /** Override the 5-bit length field (words), to craft an overrun. */
  lenWords?: number;
}

export interface FrameSpec {
  family?: 'ipv4' | 'ipv6';
  src?: string;
  dst?: string;
  tos?: number;
  ttl?: number;
  df?: boolean;
  id?: number;
  tclass?: number;
  flowlabel?: number;
  hlim?: number;
  vlan?: number;
  sport?: number;
  dport?: number;
  /** Fixed checksum value; default: computed (non-zero). */
  checksum?: number;
  encap?: 'geneve' | 'vxlan';
  version?: number;
  oam?: boolean;
  critical?: boolean;
  proto?: number;
  vni?: number;
  options?: OptSpec[];
  /** Override Geneve's 6-bit Opt Len (words). */
  optLenWords?: number;
  vxlanFlags?: number;
  innerSmac?: string;
  innerDmac?: string;
  innerSrc?: string;
  innerDst?: string;
  /** Inner IPv6 instead of IPv4. */
  innerV6?: boolean;
  /** An inner Ethernet/IPv4 ARP packet instead of IP. */
  innerArp?: { op: number; sha: string; spa: string; tha: string; tpa: string };
  payloadLen?: number;
  /** Cut the finished frame to this many bytes. */
  truncateTo?: number;
  /** A complete inner frame (e.g. another tunnel packet, for a tunnel inside a tunnel) instead of the ICMP echo. */
  innerRaw?: Buffer;
}

const mac = (s: string) => Buffer.from(s.replace(/:/g, ''), 'hex');
const v4 = (s: string) => Buffer.from(s.split('.').map(Number));
function v6(s: string): Buffer {
  const [h, t] = s.includes('::') ? s.split('::') : [s, undefined];
  const hp = h ? h.split(':') : [];
  const tp = t ? t.split(':') : [];
  const groups = t === undefined ? hp : [...hp, ...Array(8 - hp.length - tp.length).fill('0'), ...tp];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), 2 * i));
  return b;
}

function csum(buf: Buffer): number {
  let s = 0;
  for (let i = 0; i < buf.length; i += 2) s += (buf[i]! << 8) + (buf[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

function ipv4Header(src: string, dst: string, proto: number, payloadLen: number, o: { tos?: number; ttl?: number; df?: boolean; id?: number } = {}): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h[1] = o.tos ?? 0;
  h.writeUInt16BE(20 + payloadLen, 2);
  h.writeUInt16BE(o.id ?? 0x1234, 4);
  h.writeUInt16BE(o.df === false ? 0 : 0x4000, 6);
  h[8] = o.ttl ?? 64;
  h[9] = proto;
  v4(src).copy(h, 12);
  v4(dst).copy(h, 16);
  h.writeUInt16BE(csum(h), 10);
  return h;
}

function ipv6Header(src: string, dst: string, next: number, payloadLen: number, o: { tclass?: number; flowlabel?: number; hlim?: number } = {}): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32BE(((6 << 28) | ((o.tclass ?? 0) << 20) | (o.flowlabel ?? 0)) >>> 0, 0);
  h.writeUInt16BE(payloadLen, 4);
  h[6] = next;
  h[7] = o.hlim ?? 64;
  v6(src).copy(h, 8);
  v6(dst).copy(h, 24);
  return h;
}

function innerFrame(s: FrameSpec): Buffer {
  if (s.innerArp) {
    const a = s.innerArp;
    const arp = Buffer.concat([Buffer.from([0, 1, 8, 0, 6, 4, 0, a.op]), mac(a.sha), v4(a.spa), mac(a.tha), v4(a.tpa)]);
    return Buffer.concat([mac(s.innerDmac ?? 'ff:ff:ff:ff:ff:ff'), mac(s.innerSmac ?? '02:00:00:00:00:01'), Buffer.from([0x08, 0x06]), arp]);
  }
  const icmp = Buffer.alloc(8 + (s.payloadLen ?? 16));
  icmp[0] = s.innerV6 ? 128 : 8;
  icmp.writeUInt16BE(0x4d2, 4);
  if (!s.innerV6) icmp.writeUInt16BE(csum(icmp), 2); // ICMPv6's needs a pseudo-header; left 0
  const ip = s.innerV6
    ? ipv6Header(s.innerSrc ?? '2001:db8:1::1', s.innerDst ?? '2001:db8:1::2', 58, icmp.length)
    : ipv4Header(s.innerSrc ?? '10.0.0.1', s.innerDst ?? '10.0.0.2', 1, icmp.length);
  const eth = Buffer.concat([mac(s.innerDmac ?? '02:00:00:00:00:02'), mac(s.innerSmac ?? '02:00:00:00:00:01'), Buffer.from(s.innerV6 ? [0x86, 0xdd] : [0x08, 0x00])]);
  // Protocol type 0x0800/0x86dd (innerprotoinherit) carries the inner IP packet without Ethernet.
  if (s.proto === 0x0800 || s.proto === 0x86dd) return Buffer.concat([ip, icmp]);
  return Buffer.concat([eth, ip, icmp]);
}

export function geneveHeader(s: FrameSpec): Buffer {
  const opts = Buffer.concat(
    (s.options ?? []).map((o) => {
      const h = Buffer.alloc(4);
      h.writeUInt16BE(o.class, 0);
      h[2] = o.type;
      h[3] = (o.lenWords ?? Buffer.from(o.data, 'hex').length / 4) & 0x1f;
      return Buffer.concat([h, Buffer.from(o.data, 'hex')]);
    }),
  );
  const h = Buffer.alloc(8);
  h[0] = ((s.version ?? 0) << 6) | ((s.optLenWords ?? opts.length / 4) & 0x3f);
  h[1] = (s.oam ? 0x80 : 0) | (s.critical ? 0x40 : 0);
  h.writeUInt16BE(s.proto ?? 0x6558, 2);
  h.writeUIntBE(s.vni ?? 0, 4, 3);
  return Buffer.concat([h, opts]);
}

/** A full outer Ethernet frame. */
export function buildFrame(s: FrameSpec = {}): Buffer {
  const encapHdr =
    s.encap === 'vxlan'
      ? (() => {
          const h = Buffer.alloc(8);
          h[0] = s.vxlanFlags ?? 0x08;
          h.writeUIntBE(s.vni ?? 0, 4, 3);
          return h;
        })()
      : geneveHeader(s);
  const udpPayload = Buffer.concat([encapHdr, s.innerRaw ?? innerFrame(s)]);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(s.sport ?? 40000, 0);
  udp.writeUInt16BE(s.dport ?? (s.encap === 'vxlan' ? 4789 : 6081), 2);
  udp.writeUInt16BE(8 + udpPayload.length, 4);
  udp.writeUInt16BE(s.checksum ?? 0xbeef, 6);
  const l4 = Buffer.concat([udp, udpPayload]);
  const six = s.family === 'ipv6';
  const ip = six
    ? ipv6Header(s.src ?? '2001:db8::1', s.dst ?? '2001:db8::2', 17, l4.length, s)
    : ipv4Header(s.src ?? '192.0.2.1', s.dst ?? '192.0.2.2', 17, l4.length, s);
  const type = Buffer.from(six ? [0x86, 0xdd] : [0x08, 0x00]);
  const tag = s.vlan !== undefined ? Buffer.from([0x81, 0x00, s.vlan >> 8, s.vlan & 0xff]) : Buffer.alloc(0);
  const frame = Buffer.concat([mac('02:aa:00:00:00:02'), mac('02:aa:00:00:00:01'), tag, type, ip, l4]);
  return s.truncateTo !== undefined ? frame.subarray(0, s.truncateTo) : frame;
}

/** Classic pcap, either byte order, micro- or nanosecond stamps. */
export function writePcap(frames: Buffer[], o: { bigEndian?: boolean; nano?: boolean; linkType?: number; origLens?: number[] } = {}): Buffer {
  const w32 = (b: Buffer, v: number, off: number) => (o.bigEndian ? b.writeUInt32BE(v >>> 0, off) : b.writeUInt32LE(v >>> 0, off));
  const w16 = (b: Buffer, v: number, off: number) => (o.bigEndian ? b.writeUInt16BE(v, off) : b.writeUInt16LE(v, off));
  const gh = Buffer.alloc(24);
  w32(gh, o.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(gh, 2, 4);
  w16(gh, 4, 6);
  w32(gh, 262144, 16);
  w32(gh, o.linkType ?? 1, 20);
  const recs = frames.map((f, i) => {
    const rh = Buffer.alloc(16);
    w32(rh, 1700000000 + i, 0);
    w32(rh, o.nano ? 123456789 : 123456, 4);
    w32(rh, f.length, 8);
    w32(rh, o.origLens?.[i] ?? f.length, 12);
    return Buffer.concat([rh, f]);
  });
  return Buffer.concat([gh, ...recs]);
}

/** pcapng (little endian): SHB, one IDB with if_tsresol=9 (ns), EPBs. */
export function writePcapng(frames: Buffer[], linkType = 1): Buffer {
  const block = (type: number, body: Buffer) => {
    const pad = Buffer.alloc((4 - (body.length % 4)) % 4);
    const len = 12 + body.length + pad.length;
    const h = Buffer.alloc(8);
    h.writeUInt32LE(type, 0);
    h.writeUInt32LE(len, 4);
    const t = Buffer.alloc(4);
    t.writeUInt32LE(len, 0);
    return Buffer.concat([h, body, pad, t]);
  };
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  const idb = Buffer.alloc(8 + 8 + 4);
  idb.writeUInt16LE(linkType, 0);
  idb.writeUInt32LE(0, 4);
  idb.writeUInt16LE(9, 8); // if_tsresol
  idb.writeUInt16LE(1, 10);
  idb[12] = 9;
  // opt_endofopt at 16..19 stays zero
  const epbs = frames.map((f, i) => {
    const h = Buffer.alloc(20);
    const ts = BigInt(1700000000 + i) * 1_000_000_000n + 5n;
    h.writeUInt32LE(0, 0);
    h.writeUInt32LE(Number(ts >> 32n), 4);
    h.writeUInt32LE(Number(ts & 0xffffffffn), 8);
    h.writeUInt32LE(f.length, 12);
    h.writeUInt32LE(f.length, 16);
    return block(6, Buffer.concat([h, f]));
  });
  return Buffer.concat([block(0x0a0d0d0a, shb), block(1, idb), ...epbs]);
}

/** Parse a tcpdump -xx hex dump ("0x0000:  5254 00ac …") into bytes. */
export function fromHexdump(text: string): Buffer {
  const hex = text
    .split('\n')
    .map((l) => /^\s*0x[0-9a-f]+:\s+(.*)$/i.exec(l)?.[1] ?? '')
    .join('')
    .replace(/\s+/g, '');
  return Buffer.from(hex, 'hex');
}
