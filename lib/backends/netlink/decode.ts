/**
 * Reply decoders: rtnetlink bytes in, typed objects out. Decoding is faithful to the
 * attributes present: a geneve INFO_DATA that we encoded decodes to the exact params that
 * produced it; a kernel dump (which reports every attribute) decodes to those params plus the
 * kernel's defaults (see `geneveKernelView`).
 */
import type { GeneveParams, VxlanParams } from '../../model/types.js';
import { type AttrMap, parseAttrs, readCstr, formatIp, formatMac } from './attrs.js';
import * as C from './constants.js';

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Buffer;
}

/** Split a datagram into netlink messages. */
export function splitMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let off = 0;
  while (off + 16 <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < 16 || off + len > buf.length) break;
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      payload: buf.subarray(off + 16, off + len),
    });
    off += (len + 3) & ~3;
  }
  return out;
}

/** NLMSG_ERROR: errno (positive; 0 = ACK) and the extended-ack message when the kernel gave one. */
export function decodeError(m: NlMessage): { errno: number; extack?: string } {
  const errno = Math.abs(m.payload.readInt32LE(0));
  if (!(m.flags & C.NLM_F_ACK_TLVS)) return { errno };
  // after the error code comes the original request header, plus its payload unless capped
  const origLen = m.flags & C.NLM_F_CAPPED ? 16 : m.payload.readUInt32LE(4);
  const tlvs = parseAttrs(m.payload.subarray(4 + ((origLen + 3) & ~3)));
  const msg = readCstr(tlvs.get(C.NLMSGERR_ATTR_MSG));
  return msg ? { errno, extack: msg } : { errno };
}

export interface DecodedLink {
  index: number;
  name: string;
  flags: number;
  up: boolean;
  mtu?: number;
  mac?: string;
  master?: number;
  alias?: string;
  /** IFLA_LINK: for a veth, the peer's ifindex (in the peer's namespace). */
  link?: number;
  kind?: string;
  slaveKind?: string;
  geneve?: GeneveParams & { remote?: string };
  vxlan?: VxlanParams & { remote?: string; local?: string };
}

const u8 = (b: Buffer | undefined) => b?.readUInt8(0);
const u32 = (b: Buffer | undefined) => (b && b.length >= 4 ? b.readUInt32LE(0) : undefined);
const bool = (b: Buffer | undefined) => (b ? b.readUInt8(0) !== 0 : undefined);

/** RTM_NEWLINK payload (ifinfomsg + IFLA_* attributes). */
export function decodeLink(payload: Buffer): DecodedLink {
  const a = parseAttrs(payload.subarray(16));
  const flags = payload.readUInt32LE(8);
  const link: DecodedLink = {
    index: payload.readInt32LE(4),
    name: readCstr(a.get(C.IFLA.IFNAME)) ?? '',
    flags,
    up: (flags & C.IFF_UP) !== 0,
  };
  const mtu = u32(a.get(C.IFLA.MTU));
  if (mtu !== undefined) link.mtu = mtu;
  const mac = a.get(C.IFLA.ADDRESS);
  if (mac && mac.length === 6) link.mac = formatMac(mac);
  const master = u32(a.get(C.IFLA.MASTER));
  if (master !== undefined) link.master = master;
  const alias = readCstr(a.get(C.IFLA.IFALIAS));
  if (alias !== undefined) link.alias = alias;
  const peer = u32(a.get(C.IFLA.LINK));
  if (peer !== undefined) link.link = peer;
  const li = a.get(C.IFLA.LINKINFO);
  if (li) {
    const info = parseAttrs(li);
    const kind = readCstr(info.get(C.IFLA_INFO.KIND));
    if (kind !== undefined) link.kind = kind;
    const slave = readCstr(info.get(C.IFLA_INFO.SLAVE_KIND));
    if (slave !== undefined) link.slaveKind = slave;
    const data = info.get(C.IFLA_INFO.DATA);
    if (data && kind === 'geneve') link.geneve = decodeGeneve(parseAttrs(data));
    if (data && kind === 'vxlan') link.vxlan = decodeVxlan(parseAttrs(data));
  }
  return link;
}

const portRange = (b: Buffer | undefined) => (b && b.length >= 4 ? { low: b.readUInt16BE(0), high: b.readUInt16BE(2) } : undefined);

/** IFLA_GENEVE_* → typed params (only the fields whose attributes are present). */
export function decodeGeneve(a: AttrMap): GeneveParams & { remote?: string } {
  const G = C.IFLA_GENEVE;
  const p: GeneveParams & { remote?: string } = {};
  const id = u32(a.get(G.ID));
  if (id !== undefined) p.vni = id;
  const r4 = a.get(G.REMOTE);
  const r6 = a.get(G.REMOTE6);
  if (r4) p.remote = formatIp(r4);
  if (r6) p.remote = formatIp(r6);
  const ttl = u8(a.get(G.TTL));
  if (ttl !== undefined) p.ttl = ttl === 0 ? 'auto' : ttl;
  if (bool(a.get(G.TTL_INHERIT))) p.ttl = 'inherit';
  const tos = u8(a.get(G.TOS));
  if (tos !== undefined) p.tos = tos === 1 ? 'inherit' : tos;
  const port = a.get(G.PORT);
  if (port) p.dstport = port.readUInt16BE(0);
  if (a.has(G.COLLECT_METADATA)) p.external = true;
  const csum = bool(a.get(G.UDP_CSUM));
  if (csum !== undefined) p.udpcsum = csum;
  const ztx = bool(a.get(G.UDP_ZERO_CSUM6_TX));
  if (ztx !== undefined) p.udp6zerocsumtx = ztx;
  const zrx = bool(a.get(G.UDP_ZERO_CSUM6_RX));
  if (zrx !== undefined) p.udp6zerocsumrx = zrx;
  const label = a.get(G.LABEL);
  if (label) p.flowlabel = label.readUInt32BE(0);
  const df = u8(a.get(G.DF));
  if (df !== undefined) p.df = C.DF_MODES[df] ?? 'unset';
  if (a.has(G.INNER_PROTO_INHERIT)) p.innerprotoinherit = true;
  const range = portRange(a.get(G.PORT_RANGE));
  if (range) p.srcport = range;
  return p;
}

export function decodeVxlan(a: AttrMap): VxlanParams & { remote?: string; local?: string } {
  const V = C.IFLA_VXLAN;
  const p: VxlanParams & { remote?: string; local?: string } = {};
  const id = u32(a.get(V.ID));
  if (id !== undefined) p.vni = id;
  const g = a.get(V.GROUP) ?? a.get(V.GROUP6);
  if (g) p.remote = formatIp(g);
  const l = a.get(V.LOCAL) ?? a.get(V.LOCAL6);
  if (l) p.local = formatIp(l);
  const ttl = u8(a.get(V.TTL));
  if (ttl !== undefined) p.ttl = ttl === 0 ? 'auto' : ttl;
  // requests carry TTL_INHERIT as a flag; kernel dumps report it as a u8 0/1
  const ti = a.get(V.TTL_INHERIT);
  if (ti && (ti.length === 0 || ti[0] !== 0)) p.ttl = 'inherit';
  const tos = u8(a.get(V.TOS));
  if (tos !== undefined) p.tos = tos === 1 ? 'inherit' : tos;
  const learning = bool(a.get(V.LEARNING));
  if (learning !== undefined) p.learning = learning;
  const range = portRange(a.get(V.PORT_RANGE));
  if (range) p.srcport = range;
  const port = a.get(V.PORT);
  if (port) p.dstport = port.readUInt16BE(0);
  const csum = bool(a.get(V.UDP_CSUM));
  if (csum !== undefined) p.udpcsum = csum;
  const ztx = bool(a.get(V.UDP_ZERO_CSUM6_TX));
  if (ztx !== undefined) p.udp6zerocsumtx = ztx;
  const zrx = bool(a.get(V.UDP_ZERO_CSUM6_RX));
  if (zrx !== undefined) p.udp6zerocsumrx = zrx;
  if (bool(a.get(V.COLLECT_METADATA))) p.external = true;
  const label = a.get(V.LABEL);
  if (label) p.flowlabel = label.readUInt32BE(0);
  const df = u8(a.get(V.DF));
  if (df !== undefined) p.df = C.DF_MODES[df] ?? 'unset';
  return p;
}

/**
 * What a kernel that knows every attribute reports for the given geneve params (GEN
 * fill_info, geneve-surface.md §1.1): every field, with defaults for the unset ones.
 */
export function geneveKernelView(p: GeneveParams & { remote?: string }): GeneveParams & { remote?: string } {
  const v6 = p.remote !== undefined && p.remote.includes(':');
  const out: GeneveParams & { remote?: string } = {
    vni: p.vni ?? 0,
    ttl: p.ttl === undefined || p.ttl === 0 ? 'auto' : p.ttl,
    tos: p.tos === undefined ? 0 : p.tos === 1 ? 'inherit' : p.tos,
    dstport: p.dstport ?? C.GENEVE_DEFAULT_PORT,
    flowlabel: p.flowlabel ?? 0,
    df: p.df ?? 'unset',
    srcport: p.srcport ?? { low: 1, high: 65535 },
    // IPv4 and external devices accept zero-checksum IPv6 packets unless told otherwise
    udp6zerocsumrx: p.udp6zerocsumrx ?? !v6,
  };
  if (p.external) out.external = true;
  if (p.innerprotoinherit) out.innerprotoinherit = true;
  if (!p.external && p.remote !== undefined) {
    out.remote = p.remote;
    if (v6) out.udp6zerocsumtx = p.udp6zerocsumtx ?? false;
    else out.udpcsum = p.udpcsum ?? false;
  }
  return out;
}

export interface DecodedAddr {
  family: number;
  prefixLen: number;
  flags: number;
  index: number;
  address: string; // "192.0.2.1/24"
}

export function decodeAddr(payload: Buffer): DecodedAddr {
  const a = parseAttrs(payload.subarray(8));
  const bytes = a.get(C.IFA.LOCAL) ?? a.get(C.IFA.ADDRESS) ?? Buffer.alloc(0);
  const prefixLen = payload.readUInt8(1);
  const f = u32(a.get(C.IFA.FLAGS));
  return {
    family: payload.readUInt8(0),
    prefixLen,
    flags: f ?? payload.readUInt8(2),
    index: payload.readUInt32LE(4),
    address: `${formatIp(bytes)}/${prefixLen}`,
  };
}

export interface DecodedRoute {
  family: number;
  dst: string; // "default" or prefix
  table: number;
  protocol: number;
  scope: number;
  type: number;
  gateway?: string;
  oif?: number;
}

export function decodeRoute(payload: Buffer): DecodedRoute {
  const a = parseAttrs(payload.subarray(12));
  const dstLen = payload.readUInt8(1);
  const dst = a.get(C.RTA.DST);
  const r: DecodedRoute = {
    family: payload.readUInt8(0),
    dst: dst ? `${formatIp(dst)}/${dstLen}` : 'default',
    table: u32(a.get(C.RTA.TABLE)) ?? payload.readUInt8(4),
    protocol: payload.readUInt8(5),
    scope: payload.readUInt8(6),
    type: payload.readUInt8(7),
  };
  const gw = a.get(C.RTA.GATEWAY);
  if (gw) r.gateway = formatIp(gw);
  const oif = u32(a.get(C.RTA.OIF));
  if (oif !== undefined) r.oif = oif;
  return r;
}
