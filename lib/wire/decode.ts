/**
 * Frame decoder: link layer (Ethernet + VLAN, Linux cooked SLL/SLL2, raw IP) → outer IPv4/IPv6 →
 * UDP → Geneve or VXLAN (chosen by UDP port), or GRE → inner Ethernet and inner IP addresses.
 * ESP is decoded (SPI, sequence number) and, given the SA's keys (DecodeOptions.espSas), decrypted:
 * the packet inside is then decoded like any other, so tunnel and inner fields describe it. When
 * the inner packet is itself a tunnel packet (a tunnel running inside another one), it is decoded
 * the same way into `nested` (up to NESTING_MAX levels).
 * A malformed packet yields a DecodedPacket with `error` set and every field decoded before the
 * fault still present; decoding never throws.
 */
import { formatIpv4, formatIpv6, formatMac } from './addr.js';
import { fail, need, WireDecodeError, type DecodeError } from './errors.js';
import { decodeGeneve, GENEVE_PORT, type GeneveHeader } from './geneve.js';
import { LinkType, readCaptureFile, type CaptureRecord } from './pcap.js';
import { decodeVxlan, VXLAN_PORTS, type VxlanHeader } from './vxlan.js';
import { decodeGre, type GreHeader } from './gre.js';
import { decryptEsp, espHeader, findSa, type EspHeader, type EspSa } from './esp.js';

export interface Ipv4Header {
  tos: number;
  dscp: number;
  ecn: number;
  totalLength: number;
  id: number;
  df: boolean;
  mf: boolean;
  fragOffset: number; // bytes
  ttl: number;
  proto: number;
  checksum: number;
  src: string;
  dst: string;
}

export interface Ipv6Header {
  tclass: number;
  flowlabel: number;
  payloadLength: number;
  nextHeader: number;
  hlim: number;
  src: string;
  dst: string;
  /** Upper-layer protocol after extension headers. */
  proto: number;
  /** Fragment offset in bytes when a fragment header is present. */
  fragOffset?: number;
}

export interface UdpHeader {
  srcport: number;
  dstport: number;
  length: number;
  checksum: number;
}

export interface InnerFrame {
  smac?: string;
  dmac?: string;
  ethertype?: number;
  family?: 'ipv4' | 'ipv6';
  src?: string;
  dst?: string;
  proto?: number;
  /** Inner IPv4 TTL or IPv6 hop limit. */
  ttl?: number;
  /** ICMP / ICMPv6 type and code of the inner packet. */
  icmp?: { type: number; code: number };
  /** An inner ARP packet (Ethernet/IPv4 ARP only). */
  arp?: ArpPacket;
}

export interface ArpPacket {
  /** 1 = request, 2 = reply. */
  op: number;
  sha: string;
  spa: string;
  tha: string;
  tpa: string;
}

export interface DecodedPacket {
  index: number;
  timestamp: number;
  capturedLength: number;
  origLength: number;
  link: { type: 'ethernet' | 'sll' | 'sll2' | 'raw' | 'unknown'; linkType: number; src?: string; dst?: string; vlans: number[]; ethertype?: number };
  outer?: { family: 'ipv4' | 'ipv6'; src: string; dst: string };
  ip?: Ipv4Header;
  ipv6?: Ipv6Header;
  udp?: UdpHeader;
  /** The outer packet was ESP: its header, and whether (and as what) it was decrypted. */
  esp?: EspHeader;
  encap?: 'geneve' | 'vxlan' | 'gre';
  geneve?: GeneveHeader;
  vxlan?: VxlanHeader;
  gre?: GreHeader;
  inner?: InnerFrame;
  /** The inner packet decoded as a packet of its own, when it is a Geneve/VXLAN packet too (tunnel in a tunnel). */
  nested?: DecodedPacket;
  error?: DecodeError;
}

/** How many tunnels inside tunnels are decoded (nested.nested… ). */
export const NESTING_MAX = 3;

export interface DecodeOptions {
  /** UDP ports carrying Geneve (default [6081]). */
  genevePorts?: number[];
  /** UDP ports carrying VXLAN (default [4789, 8472]). */
  vxlanPorts?: number[];
  /** Keys of ESP SAs (e.g. the lab's, from `ip xfrm state`): ESP packets of these SPIs are decrypted. */
  espSas?: EspSa[];
  /**
   * An Ethernet frame that is no tunnel packet (on a guest's port: what a guest sent or got) is
   * also decoded as its own `inner` frame, so the inner.* keys of a capture describe it.
   */
  plainFrames?: boolean;
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_TEB = 0x6558;
const ETH_ARP = 0x0806;
const VLAN_TPIDS = new Set([0x8100, 0x88a8, 0x9100]);

/** Decode every packet of a pcap/pcapng file. Throws CaptureFileError only when the file itself is unreadable. */
export function decodePcap(buf: Buffer, opts: DecodeOptions = {}): DecodedPacket[] {
  return decodeCapture(buf, opts).packets;
}

/** Like decodePcap, also returning the file's non-fatal warnings (e.g. a last record cut short). */
export function decodeCapture(buf: Buffer, opts: DecodeOptions = {}): { format: 'pcap' | 'pcapng'; packets: DecodedPacket[]; warnings: string[] } {
  const file = readCaptureFile(buf);
  return { format: file.format, packets: file.records.map((r) => decodeRecord(r, opts)), warnings: file.warnings };
}

export function decodeRecord(r: CaptureRecord, opts: DecodeOptions = {}): DecodedPacket {
  return decodeFrame(r.data, r.linkType, opts, { index: r.index, timestamp: r.timestamp, origLength: r.origLength });
}

/** Decode one captured frame of the given LINKTYPE. */
export function decodeFrame(
  data: Buffer,
  linkType: number,
  opts: DecodeOptions = {},
  meta: { index?: number; timestamp?: number; origLength?: number } = {},
  depth = 0,
): DecodedPacket {
  const p: DecodedPacket = {
    index: meta.index ?? 1,
    timestamp: meta.timestamp ?? 0,
    capturedLength: data.length,
    origLength: meta.origLength ?? data.length,
    link: { type: 'unknown', linkType, vlans: [] },
  };
  try {
    const { ethertype, off } = decodeLink(data, linkType, p);
    decodeOuter(data, off, ethertype, p, opts, depth);
    if (opts.plainFrames && depth === 0 && !p.encap && !p.esp && p.link.type === 'ethernet') decodeInner(data, 0, ETH_TEB, p);
  } catch (e) {
    if (!(e instanceof WireDecodeError)) throw e; // a bug in this module, not bad input
    p.error = e.detail;
    if (e.detail.code === 'truncated' && p.origLength > p.capturedLength) {
      p.error = { ...e.detail, message: `${e.detail.message} (the capture's snap length kept ${p.capturedLength} of ${p.origLength} bytes)` };
    } else if (e.detail.code === 'truncated' && (p.ip?.mf || p.ipv6?.fragOffset !== undefined)) {
      p.error = { ...e.detail, message: `${e.detail.message} (an IP fragment: the rest of the datagram is in later fragments)` };
    }
  }
  return p;
}

function decodeLink(b: Buffer, linkType: number, p: DecodedPacket): { ethertype: number; off: number } {
  switch (linkType) {
    case LinkType.ethernet: {
      p.link.type = 'ethernet';
      need(b.length, 0, 14, 'link', 'the Ethernet header');
      p.link.dst = formatMac(b, 0);
      p.link.src = formatMac(b, 6);
      return skipVlans(b, 12, p.link.vlans, 'link', (t) => (p.link.ethertype = t));
    }
    case LinkType.linuxSll: {
      p.link.type = 'sll';
      need(b.length, 0, 16, 'link', 'the Linux cooked (SLL) header');
      if (b.readUInt16BE(4) === 6) p.link.src = formatMac(b, 6);
      p.link.ethertype = b.readUInt16BE(14);
      return { ethertype: p.link.ethertype, off: 16 };
    }
    case LinkType.linuxSll2: {
      p.link.type = 'sll2';
      need(b.length, 0, 20, 'link', 'the Linux cooked v2 (SLL2) header');
      if (b[11] === 6) p.link.src = formatMac(b, 12);
      p.link.ethertype = b.readUInt16BE(0);
      return { ethertype: p.link.ethertype, off: 20 };
    }
    case LinkType.raw:
    case LinkType.ipv4:
    case LinkType.ipv6: {
      p.link.type = 'raw';
      need(b.length, 0, 1, 'link', 'the IP version nibble');
      const v = b[0]! >> 4;
      return { ethertype: v === 6 ? ETH_IPV6 : ETH_IPV4, off: 0 };
    }
    default:
      return fail('bad-version', 'link', 0, `link type ${linkType} is not supported (Ethernet 1, raw IP 101, Linux SLL 113, SLL2 276 are)`);
  }
}

/** Step over 802.1Q/802.1ad tags starting at the ethertype field at `off`. */
function skipVlans(b: Buffer, off: number, vlans: number[], layer: 'link' | 'inner', setType: (t: number) => void) {
  let t = b.readUInt16BE(off);
  off += 2;
  while (VLAN_TPIDS.has(t)) {
    need(b.length, off, 4, layer, 'the VLAN tag');
    vlans.push(b.readUInt16BE(off) & 0x0fff);
    t = b.readUInt16BE(off + 2);
    off += 4;
  }
  setType(t);
  return { ethertype: t, off };
}

function decodeOuter(b: Buffer, off: number, ethertype: number, p: DecodedPacket, opts: DecodeOptions, depth: number): void {
  let l4: L4 | undefined;
  if (ethertype === ETH_IPV4) {
    const ip = decodeIpv4(b, off, 'ipv4');
    p.ip = ip.header;
    p.outer = { family: 'ipv4', src: ip.header.src, dst: ip.header.dst };
    if (ip.header.fragOffset > 0) return; // later fragments carry no UDP header
    l4 = { proto: ip.header.proto, off: ip.payload, end: ip.end, fragment: ip.header.mf };
  } else if (ethertype === ETH_IPV6) {
    const ip = decodeIpv6(b, off, 'ipv6');
    p.ipv6 = ip.header;
    p.outer = { family: 'ipv6', src: ip.header.src, dst: ip.header.dst };
    if ((ip.header.fragOffset ?? 0) > 0) return;
    l4 = { proto: ip.header.proto, off: ip.payload, end: ip.end, fragment: ip.header.fragOffset !== undefined };
  }
  if (l4) decodeTransport(b, l4, p, opts, depth);
}

interface L4 {
  proto: number;
  off: number;
  end: number;
  fragment: boolean;
}

const PROTO_UDP = 17;
const PROTO_GRE = 47;
const PROTO_ESP = 50;

/** What follows the outer IP header: UDP (Geneve/VXLAN), GRE, or ESP (decrypted when its SA is known). */
function decodeTransport(b: Buffer, l4: L4, p: DecodedPacket, opts: DecodeOptions, depth: number): void {
  if (l4.proto === PROTO_ESP && !p.esp) {
    // ESP's length is the IP datagram's, never the captured frame's (Ethernet may pad it).
    const end = Math.min(l4.end, b.length);
    const { spi, seq } = espHeader(b, l4.off, end);
    const sa = findSa(opts.espSas, spi, p.outer!.dst);
    if (!sa) {
      p.esp = { spi, seq, decrypted: false, note: opts.espSas ? `no key for SPI 0x${spi.toString(16)} to ${p.outer!.dst}` : 'no ESP keys given' };
      return;
    }
    if (end < l4.end) fail('truncated', 'esp', l4.off, `the ESP packet needs ${l4.end - l4.off} bytes at offset ${l4.off}, but only ${end - l4.off} were captured`);
    p.esp = { spi, seq, decrypted: false };
    const { header, payload } = decryptEsp(b, l4.off, end, sa);
    p.esp = header;
    // Decode on as if the ESP layer were not there: the frame up to ESP, then the decrypted
    // packet (offsets in later errors count in this decrypted frame).
    const frame = Buffer.concat([b.subarray(0, l4.off), payload]);
    decodeTransport(frame, { proto: header.nextHeader!, off: l4.off, end: frame.length, fragment: false }, p, opts, depth);
    return;
  }
  if (l4.proto === PROTO_GRE) {
    p.encap = 'gre';
    const end = Math.min(l4.end, b.length);
    const innerOff = decodeGre(b, l4.off, end, (h) => (p.gre = h));
    decodeInner(b, innerOff, p.gre!.proto, p);
    return;
  }
  if (l4.proto !== PROTO_UDP) return;
  need(b.length, l4.off, 8, 'udp', 'the UDP header');
  const udp: UdpHeader = {
    srcport: b.readUInt16BE(l4.off),
    dstport: b.readUInt16BE(l4.off + 2),
    length: b.readUInt16BE(l4.off + 4),
    checksum: b.readUInt16BE(l4.off + 6),
  };
  p.udp = udp;
  // IPv6 jumbograms carry UDP length 0; nothing here sends them, so 0 is just invalid like < 8.
  if (udp.length < 8) fail('bad-length', 'udp', l4.off, `length field ${udp.length} is below the 8-byte header`);
  if (!l4.fragment && l4.off + udp.length > l4.end) {
    fail('bad-length', 'udp', l4.off, `length field ${udp.length} exceeds the ${l4.end - l4.off} bytes the IP header leaves for UDP`);
  }
  const declaredEnd = l4.off + udp.length;
  const payload = l4.off + 8;
  const genevePorts = opts.genevePorts ?? [GENEVE_PORT];
  const vxlanPorts = opts.vxlanPorts ?? VXLAN_PORTS;
  const byPort = (ports: number[]) => ports.includes(udp.dstport) || ports.includes(udp.srcport);
  let innerOff: number;
  let innerProto: number;
  if (byPort(genevePorts)) {
    p.encap = 'geneve';
    innerOff = decodeGeneve(b, payload, declaredEnd, b.length, (h) => (p.geneve = h));
    innerProto = p.geneve!.proto;
  } else if (byPort(vxlanPorts)) {
    p.encap = 'vxlan';
    innerOff = decodeVxlan(b, payload, Math.min(declaredEnd, b.length), (h) => (p.vxlan = h));
    innerProto = ETH_TEB;
  } else {
    return;
  }
  decodeInner(b, innerOff, innerProto, p);
  // A tunnel inside the tunnel: the inner frame is decoded as a frame of its own (its errors stay its own).
  if (p.inner?.proto === 17 && depth < NESTING_MAX) {
    const end = Math.min(declaredEnd, b.length);
    const linkType = innerProto === ETH_TEB ? LinkType.ethernet : LinkType.raw;
    const n = decodeFrame(b.subarray(innerOff, end), linkType, opts, { index: p.index, timestamp: p.timestamp }, depth + 1);
    if (n.encap) p.nested = n;
  }
}

function decodeIpv4(b: Buffer, off: number, layer: 'ipv4' | 'inner') {
  need(b.length, off, 20, layer, 'the IPv4 header');
  const version = b[off]! >> 4;
  if (version !== 4) fail('bad-version', layer, off, `version nibble is ${version} where IPv4 (4) was announced`);
  const ihl = (b[off]! & 0x0f) * 4;
  if (ihl < 20) fail('bad-length', layer, off, `header length ${ihl} bytes is below the 20-byte minimum`);
  need(b.length, off, ihl, layer, `the IPv4 header with options (${ihl} bytes)`);
  const totalLength = b.readUInt16BE(off + 2);
  if (totalLength < ihl) fail('bad-length', layer, off, `total length ${totalLength} is below the ${ihl}-byte header`);
  const flags = b.readUInt16BE(off + 6);
  const header: Ipv4Header = {
    tos: b[off + 1]!,
    dscp: b[off + 1]! >> 2,
    ecn: b[off + 1]! & 3,
    totalLength,
    id: b.readUInt16BE(off + 4),
    df: (flags & 0x4000) !== 0,
    mf: (flags & 0x2000) !== 0,
    fragOffset: (flags & 0x1fff) * 8,
    ttl: b[off + 8]!,
    proto: b[off + 9]!,
    checksum: b.readUInt16BE(off + 10),
    src: formatIpv4(b, off + 12),
    dst: formatIpv4(b, off + 16),
  };
  // `end` is where the datagram ends by its own length; Ethernet padding beyond it is ignored.
  return { header, payload: off + ihl, end: off + totalLength };
}

const IPV6_EXT = new Set([0, 43, 60, 44, 51]);

function decodeIpv6(b: Buffer, off: number, layer: 'ipv6' | 'inner') {
  need(b.length, off, 40, layer, 'the IPv6 header');
  const w = b.readUInt32BE(off);
  const version = w >>> 28;
  if (version !== 6) fail('bad-version', layer, off, `version nibble is ${version} where IPv6 (6) was announced`);
  const header: Ipv6Header = {
    tclass: (w >>> 20) & 0xff,
    flowlabel: w & 0xfffff,
    payloadLength: b.readUInt16BE(off + 4),
    nextHeader: b[off + 6]!,
    hlim: b[off + 7]!,
    src: formatIpv6(b, off + 8),
    dst: formatIpv6(b, off + 24),
    proto: b[off + 6]!,
  };
  const end = off + 40 + header.payloadLength;
  let o = off + 40;
  // Walk extension headers so UDP is found behind hop-by-hop, routing, fragment or AH headers.
  while (IPV6_EXT.has(header.proto)) {
    need(b.length, o, 8, layer, `IPv6 extension header ${header.proto}`);
    const nh = b[o]!;
    let len: number;
    if (header.proto === 44) {
      header.fragOffset = b.readUInt16BE(o + 2) & 0xfff8;
      len = 8;
    } else if (header.proto === 51) len = (b[o + 1]! + 2) * 4;
    else len = (b[o + 1]! + 1) * 8;
    header.proto = nh;
    o += len;
  }
  return { header, payload: o, end };
}

function decodeInner(b: Buffer, off: number, proto: number, p: DecodedPacket): void {
  const inner: InnerFrame = {};
  p.inner = inner;
  let ethertype = proto;
  if (proto === ETH_TEB) {
    need(b.length, off, 14, 'inner', 'the inner Ethernet header');
    inner.dmac = formatMac(b, off);
    inner.smac = formatMac(b, off + 6);
    const r = skipVlans(b, off + 12, [], 'inner', (t) => (inner.ethertype = t));
    ethertype = r.ethertype;
    off = r.off;
  } else {
    inner.ethertype = proto;
  }
  if (ethertype === ETH_IPV4) {
    const ip = decodeIpv4(b, off, 'inner');
    Object.assign(inner, { family: 'ipv4', src: ip.header.src, dst: ip.header.dst, proto: ip.header.proto, ttl: ip.header.ttl });
    if (ip.header.proto === 1 && ip.header.fragOffset === 0 && b.length >= ip.payload + 2) inner.icmp = { type: b[ip.payload]!, code: b[ip.payload + 1]! };
  } else if (ethertype === ETH_IPV6) {
    const ip = decodeIpv6(b, off, 'inner');
    Object.assign(inner, { family: 'ipv6', src: ip.header.src, dst: ip.header.dst, proto: ip.header.proto, ttl: ip.header.hlim });
    if (ip.header.proto === 58 && !ip.header.fragOffset && b.length >= ip.payload + 2) inner.icmp = { type: b[ip.payload]!, code: b[ip.payload + 1]! };
  } else if (ethertype === ETH_ARP) {
    inner.arp = decodeArp(b, off);
  }
}

/** Ethernet/IPv4 ARP (htype 1, ptype 0x0800, 6/4-byte addresses); other ARP is left undecoded. */
function decodeArp(b: Buffer, off: number): ArpPacket | undefined {
  need(b.length, off, 8, 'inner', 'the ARP header');
  if (b.readUInt16BE(off) !== 1 || b.readUInt16BE(off + 2) !== ETH_IPV4 || b[off + 4] !== 6 || b[off + 5] !== 4) return undefined;
  need(b.length, off, 28, 'inner', 'the Ethernet/IPv4 ARP body');
  return { op: b.readUInt16BE(off + 6), sha: formatMac(b, off + 8), spa: formatIpv4(b, off + 14), tha: formatMac(b, off + 18), tpa: formatIpv4(b, off + 24) };
}

/** One line describing a decode error, e.g. "frame 7: geneve: option 1 … (offset 50)". */
export function describeDecodeError(p: DecodedPacket): string | undefined {
  if (!p.error) return undefined;
  return `frame ${p.index}: ${p.error.layer}: ${p.error.message} (offset ${p.error.offset}, ${p.error.code})`;
}
