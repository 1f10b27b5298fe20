/**
 * Request encoders: typed operations in, rtnetlink message bytes out. Pure functions (no
 * sockets) so every byte can be checked in unit tests. Attribute order follows iproute2
 * where it matters for readability of dumps; the kernel does not care about order.
 */
import { isIPv6 } from 'node:net';
import type { GeneveParams, VxlanParams, GreParams } from '../../model/types.js';
import type { LinkSpec } from '../../plan/ops.js';
import {
  type Attr,
  attr,
  nest,
  u8,
  u16be,
  u32,
  u32be,
  flag,
  cstr,
  str,
  ip,
  encodeAttrs,
  macBytes,
  ipBytes,
} from './attrs.js';
import * as C from './constants.js';

export interface NlHeader {
  type: number;
  flags: number;
  seq: number;
}

/** nlmsghdr + body. The port id is left 0: the kernel fills in the sender. */
export function nlmsg(h: NlHeader, body: Buffer): Buffer {
  const hdr = Buffer.alloc(16);
  hdr.writeUInt32LE(16 + body.length, 0);
  hdr.writeUInt16LE(h.type, 4);
  hdr.writeUInt16LE(h.flags, 6);
  hdr.writeUInt32LE(h.seq >>> 0, 8);
  return Buffer.concat([hdr, body]);
}

export function ifinfomsg(m: { family?: number; index?: number; flags?: number; change?: number } = {}): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(m.family ?? C.AF_UNSPEC, 0);
  b.writeInt32LE(m.index ?? 0, 4);
  b.writeUInt32LE(m.flags ?? 0, 8);
  b.writeUInt32LE(m.change ?? 0, 12);
  return b;
}

const CREATE_FLAGS = C.NLM_F_REQUEST | C.NLM_F_ACK | C.NLM_F_CREATE | C.NLM_F_EXCL; // 0x605
const ACK_FLAGS = C.NLM_F_REQUEST | C.NLM_F_ACK;

const bool8 = (type: number, v: boolean | undefined): Attr[] => (v === undefined ? [] : [u8(type, v ? 1 : 0)]);

function srcPortRange(type: number, r: { low: number; high: number }): Attr {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(r.low, 0);
  b.writeUInt16BE(r.high, 2);
  return attr(type, b);
}

/**
 * IFLA_INFO_DATA for geneve: exactly the attributes the typed params ask for, in attribute
 * number order. `ttl: 'inherit'` → TTL_INHERIT=1; `'auto'` → TTL 0; `tos: 'inherit'` → TOS 1.
 */
export function geneveData(p: GeneveParams & { remote?: string }): Attr[] {
  const G = C.IFLA_GENEVE;
  const a: Attr[] = [];
  if (p.vni !== undefined) a.push(u32(G.ID, p.vni));
  if (p.remote !== undefined && !isIPv6(p.remote)) a.push(ip(G.REMOTE, p.remote));
  if (p.ttl !== undefined && p.ttl !== 'inherit') a.push(u8(G.TTL, p.ttl === 'auto' ? 0 : p.ttl));
  if (p.tos !== undefined) a.push(u8(G.TOS, p.tos === 'inherit' ? 1 : p.tos));
  if (p.dstport !== undefined) a.push(u16be(G.PORT, p.dstport));
  if (p.external) a.push(flag(G.COLLECT_METADATA));
  if (p.remote !== undefined && isIPv6(p.remote)) a.push(ip(G.REMOTE6, p.remote));
  a.push(...bool8(G.UDP_CSUM, p.udpcsum));
  a.push(...bool8(G.UDP_ZERO_CSUM6_TX, p.udp6zerocsumtx));
  a.push(...bool8(G.UDP_ZERO_CSUM6_RX, p.udp6zerocsumrx));
  if (p.flowlabel !== undefined) a.push(u32be(G.LABEL, p.flowlabel));
  if (p.ttl === 'inherit') a.push(u8(G.TTL_INHERIT, 1));
  if (p.df !== undefined) a.push(u8(G.DF, C.DF_MODES.indexOf(p.df)));
  if (p.innerprotoinherit) a.push(flag(G.INNER_PROTO_INHERIT));
  if (p.srcport) a.push(srcPortRange(G.PORT_RANGE, p.srcport));
  return a;
}

/** IFLA_INFO_DATA for vxlan (remote → GROUP/GROUP6 as iproute2 does for unicast remotes). */
export function vxlanData(p: VxlanParams & { remote?: string; local?: string }): Attr[] {
  const V = C.IFLA_VXLAN;
  const a: Attr[] = [];
  if (p.vni !== undefined) a.push(u32(V.ID, p.vni));
  if (p.remote !== undefined) a.push(ip(isIPv6(p.remote) ? V.GROUP6 : V.GROUP, p.remote));
  if (p.local !== undefined) a.push(ip(isIPv6(p.local) ? V.LOCAL6 : V.LOCAL, p.local));
  if (p.ttl !== undefined && p.ttl !== 'inherit') a.push(u8(V.TTL, p.ttl === 'auto' ? 0 : p.ttl));
  if (p.tos !== undefined) a.push(u8(V.TOS, p.tos === 'inherit' ? 1 : p.tos));
  a.push(...bool8(V.LEARNING, p.learning));
  if (p.srcport) a.push(srcPortRange(V.PORT_RANGE, p.srcport));
  if (p.dstport !== undefined) a.push(u16be(V.PORT, p.dstport));
  a.push(...bool8(V.UDP_CSUM, p.udpcsum));
  a.push(...bool8(V.UDP_ZERO_CSUM6_TX, p.udp6zerocsumtx));
  a.push(...bool8(V.UDP_ZERO_CSUM6_RX, p.udp6zerocsumrx));
  if (p.external) a.push(u8(V.COLLECT_METADATA, 1));
  if (p.flowlabel !== undefined) a.push(u32be(V.LABEL, p.flowlabel));
  if (p.ttl === 'inherit') a.push(flag(V.TTL_INHERIT));
  if (p.df !== undefined) a.push(u8(V.DF, C.DF_MODES.indexOf(p.df)));
  return a;
}

/** IFLA_INFO_DATA for gre/gretap (keyed and checksummed variants). */
export function greData(p: GreParams & { remote: string; local: string }): Attr[] {
  const R = C.IFLA_GRE;
  const flags = (p.key !== undefined ? C.GRE_KEY : 0) | (p.csum ? C.GRE_CSUM : 0);
  const a: Attr[] = [];
  if (flags) a.push(u16be(R.IFLAGS, flags), u16be(R.OFLAGS, flags));
  if (p.key !== undefined) a.push(u32be(R.IKEY, p.key), u32be(R.OKEY, p.key));
  a.push(ip(R.LOCAL, p.local), ip(R.REMOTE, p.remote));
  if (p.ttl !== undefined && p.ttl !== 'inherit') a.push(u8(R.TTL, p.ttl === 'auto' ? 0 : p.ttl));
  if (p.tos !== undefined) a.push(u8(R.TOS, p.tos === 'inherit' ? 1 : p.tos));
  return a;
}

function commonLinkAttrs(l: { name: string; mtu?: number; mac?: string }): Attr[] {
  const a: Attr[] = [cstr(C.IFLA.IFNAME, l.name)];
  if (l.mtu !== undefined) a.push(u32(C.IFLA.MTU, l.mtu));
  if (l.mac !== undefined) a.push(attr(C.IFLA.ADDRESS, macBytes(l.mac)));
  return a;
}

export interface LinkAddContext {
  /**
   * An open fd of the veth peer's namespace, when the peer lives in a different namespace
   * than the link itself (IFLA_NET_NS_FD inside VETH_INFO_PEER).
   */
  peerNsFd?: number;
}

function linkInfo(spec: LinkSpec, ctx: LinkAddContext): Attr {
  const kind = spec.kind;
  const kindAttr = str(C.IFLA_INFO.KIND, kind);
  switch (spec.kind) {
    case 'bridge':
    case 'dummy':
      return nest(C.IFLA.LINKINFO, [kindAttr]);
    case 'veth': {
      const peerAttrs = commonLinkAttrs(spec.peer);
      if (ctx.peerNsFd !== undefined) peerAttrs.push(u32(C.IFLA.NET_NS_FD, ctx.peerNsFd));
      // VETH_INFO_PEER = a raw ifinfomsg followed by the peer's own IFLA_* attributes
      const peer = attr(C.VETH_INFO_PEER, Buffer.concat([ifinfomsg(), encodeAttrs(peerAttrs)]));
      return nest(C.IFLA.LINKINFO, [kindAttr, nest(C.IFLA_INFO.DATA, [peer])]);
    }
    case 'geneve':
      return nest(C.IFLA.LINKINFO, [kindAttr, nest(C.IFLA_INFO.DATA, geneveData(spec.geneve))]);
    case 'vxlan':
      return nest(C.IFLA.LINKINFO, [kindAttr, nest(C.IFLA_INFO.DATA, vxlanData(spec.vxlan))]);
    case 'gre':
    case 'gretap':
      return nest(C.IFLA.LINKINFO, [kindAttr, nest(C.IFLA_INFO.DATA, greData(spec.gre))]);
  }
}

/** RTM_NEWLINK with CREATE|EXCL for any link kind. The alias is set afterwards (see linkSetMessage). */
export function linkAddMessage(spec: LinkSpec, seq: number, ctx: LinkAddContext = {}): Buffer {
  const attrs = [...commonLinkAttrs(spec), linkInfo(spec, ctx)];
  return nlmsg({ type: C.RTM_NEWLINK, flags: CREATE_FLAGS, seq }, Buffer.concat([ifinfomsg(), encodeAttrs(attrs)]));
}

export interface LinkChange {
  up?: boolean;
  mtu?: number;
  /** ifindex of the new master, 0 to release from its master. */
  masterIndex?: number;
  alias?: string;
  /** IFLA_GSO_MAX_SIZE / IFLA_GRO_MAX_SIZE (ip link set … gso_max_size/gro_max_size). */
  gsoMaxSize?: number;
  groMaxSize?: number;
}

/** RTM_NEWLINK without CREATE = change an existing link, found by name. */
export function linkSetMessage(name: string, c: LinkChange, seq: number): Buffer {
  const info = c.up === undefined ? ifinfomsg() : ifinfomsg({ flags: c.up ? C.IFF_UP : 0, change: C.IFF_UP });
  const attrs: Attr[] = [cstr(C.IFLA.IFNAME, name)];
  if (c.mtu !== undefined) attrs.push(u32(C.IFLA.MTU, c.mtu));
  if (c.masterIndex !== undefined) attrs.push(u32(C.IFLA.MASTER, c.masterIndex));
  if (c.alias !== undefined) attrs.push(cstr(C.IFLA.IFALIAS, c.alias));
  if (c.gsoMaxSize !== undefined) attrs.push(u32(C.IFLA.GSO_MAX_SIZE, c.gsoMaxSize));
  if (c.groMaxSize !== undefined) attrs.push(u32(C.IFLA.GRO_MAX_SIZE, c.groMaxSize));
  return nlmsg({ type: C.RTM_NEWLINK, flags: ACK_FLAGS, seq }, Buffer.concat([info, encodeAttrs(attrs)]));
}

export function linkDelMessage(name: string, seq: number): Buffer {
  return nlmsg({ type: C.RTM_DELLINK, flags: ACK_FLAGS, seq }, Buffer.concat([ifinfomsg(), encodeAttrs([cstr(C.IFLA.IFNAME, name)])]));
}

/**
 * RTM_GETLINK for one link by name (the reply is one RTM_NEWLINK). Statistics are left out of
 * the reply (IFLA_EXT_MASK): nothing here reads them, and they are most of a reply's bytes.
 */
export function linkGetMessage(name: string, seq: number): Buffer {
  const attrs = [cstr(C.IFLA.IFNAME, name), u32(C.IFLA.EXT_MASK, C.RTEXT_FILTER_SKIP_STATS)];
  return nlmsg({ type: C.RTM_GETLINK, flags: C.NLM_F_REQUEST, seq }, Buffer.concat([ifinfomsg(), encodeAttrs(attrs)]));
}

/** The same message with more nlmsg_flags set (e.g. NLM_F_ECHO), as a copy. */
export function withFlags(msg: Buffer, flags: number): Buffer {
  const out = Buffer.from(msg);
  out.writeUInt16LE(out.readUInt16LE(6) | flags, 6);
  return out;
}

export function dumpMessage(type: typeof C.RTM_GETLINK | typeof C.RTM_GETADDR | typeof C.RTM_GETROUTE, seq: number): Buffer {
  const body = type === C.RTM_GETLINK ? ifinfomsg() : type === C.RTM_GETADDR ? Buffer.alloc(8) : Buffer.alloc(12);
  return nlmsg({ type, flags: C.NLM_F_REQUEST | C.NLM_F_DUMP, seq }, body);
}

/** Split "192.0.2.1/24" into bytes and prefix length; a bare address gets a host prefix. */
export function parsePrefix(cidr: string): { family: number; bytes: Buffer; prefixLen: number } {
  const [addr = '', len] = cidr.split('/');
  const bytes = ipBytes(addr);
  const max = bytes.length * 8;
  const prefixLen = len === undefined ? max : Number(len);
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > max) throw new Error(`bad prefix length in "${cidr}" (0..${max})`);
  return { family: bytes.length === 4 ? C.AF_INET : C.AF_INET6, bytes, prefixLen };
}

/**
 * RTM_NEWADDR / RTM_DELADDR as `ip addr add|del ADDR/LEN dev DEV [nodad]` sends it:
 * IFA_LOCAL and IFA_ADDRESS both carry the address (no peer), flags also in IFA_FLAGS.
 */
export function addrMessage(add: boolean, ifindex: number, cidr: string, nodad: boolean, seq: number): Buffer {
  const p = parsePrefix(cidr);
  // like iproute2: nodad only means something for IPv6 (DAD does not exist in IPv4)
  const flags = nodad && p.family === C.AF_INET6 ? C.IFA_F_NODAD : 0;
  const hdr = Buffer.alloc(8);
  hdr.writeUInt8(p.family, 0);
  hdr.writeUInt8(p.prefixLen, 1);
  hdr.writeUInt8(flags & 0xff, 2);
  // iproute2's default scope: host for loopback addresses, global otherwise
  hdr.writeUInt8(p.family === C.AF_INET && p.bytes[0] === 127 ? C.RT_SCOPE_HOST : C.RT_SCOPE_UNIVERSE, 3);
  hdr.writeUInt32LE(ifindex, 4);
  const attrs = [attr(C.IFA.LOCAL, p.bytes), attr(C.IFA.ADDRESS, p.bytes), u32(C.IFA.FLAGS, flags)];
  const flagsNl = add ? CREATE_FLAGS : ACK_FLAGS;
  return nlmsg({ type: add ? C.RTM_NEWADDR : C.RTM_DELADDR, flags: flagsNl, seq }, Buffer.concat([hdr, encodeAttrs(attrs)]));
}

export interface RouteSpec {
  to: string; // "default" or a prefix
  via?: string;
  /** ifindex of `dev`, when given. */
  oif?: number;
}

/**
 * RTM_NEWROUTE / RTM_DELROUTE in the main table as `ip route add|del` sends them. A route
 * with a device and no gateway gets link scope (iproute2's default); deletion uses
 * scope NOWHERE, which the kernel treats as "any".
 */
export function routeMessage(add: boolean, r: RouteSpec, seq: number): Buffer {
  const isDefault = r.to === 'default';
  const family = isDefault ? (r.via && isIPv6(r.via) ? C.AF_INET6 : C.AF_INET) : parsePrefix(r.to).family;
  const dst = isDefault ? undefined : parsePrefix(r.to);
  const hdr = Buffer.alloc(12);
  hdr.writeUInt8(family, 0);
  hdr.writeUInt8(dst?.prefixLen ?? 0, 1);
  hdr.writeUInt8(C.RT_TABLE_MAIN, 4);
  if (add) {
    hdr.writeUInt8(C.RTPROT_BOOT, 5);
    hdr.writeUInt8(r.via === undefined && r.oif !== undefined ? C.RT_SCOPE_LINK : C.RT_SCOPE_UNIVERSE, 6);
    hdr.writeUInt8(C.RTN_UNICAST, 7);
  } else {
    hdr.writeUInt8(C.RT_SCOPE_NOWHERE, 6);
  }
  const attrs: Attr[] = [];
  if (dst) attrs.push(attr(C.RTA.DST, dst.bytes));
  if (r.via !== undefined) attrs.push(ip(C.RTA.GATEWAY, r.via));
  if (r.oif !== undefined) attrs.push(u32(C.RTA.OIF, r.oif));
  return nlmsg({ type: add ? C.RTM_NEWROUTE : C.RTM_DELROUTE, flags: add ? CREATE_FLAGS : ACK_FLAGS, seq }, Buffer.concat([hdr, encodeAttrs(attrs)]));
}
