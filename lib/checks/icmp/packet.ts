/**
 * ICMP echo packets and what comes back, as bytes (pure: tested without a network).
 *
 * The sockets are raw ICMP sockets, the kind iputils' ping itself falls back to in a lab
 * namespace (a fresh namespace's net.ipv4.ping_group_range admits nobody, so "ping sockets"
 * would need a sysctl changed in every lab namespace). A raw IPv4 socket hands us the IP header;
 * an ICMPv6 one does not. ICMP errors quote the packet that caused them, so an error is matched
 * to our probe by the echo identifier and sequence inside the quote, as iputils does.
 *
 * The error texts are iputils' own (ping.c pr_icmph, ping6_common.c print_icmp), so a failure
 * reads the same whichever way the check ran.
 */
import type { Family } from '../../model/types.js';
import { formatIpv6 as formatWireIpv6 } from '../../wire/addr.js';

const ICMP_ECHOREPLY = 0;
const ICMP_DEST_UNREACH = 3;
const ICMP_SOURCE_QUENCH = 4;
const ICMP_ECHO = 8;
const ICMP_TIME_EXCEEDED = 11;
const ICMP_PARAMETERPROB = 12;
const ICMP6_DST_UNREACH = 1;
const ICMP6_PACKET_TOO_BIG = 2;
const ICMP6_TIME_EXCEEDED = 3;
const ICMP6_PARAM_PROB = 4;
const ICMP6_ECHO_REQUEST = 128;
const ICMP6_ECHO_REPLY = 129;

/** RFC 1071 checksum (IPv4 ICMP; the kernel fills ICMPv6's, which covers a pseudo-header). */
export function inetChecksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An echo request: 8-byte header + `size` bytes of payload (ping -s counts the payload only). */
export function echoRequest(family: Family, id: number, seq: number, size: number): Buffer {
  const b = Buffer.alloc(8 + size);
  b[0] = family === 'ipv6' ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
  b.writeUInt16BE(id & 0xffff, 4);
  b.writeUInt16BE(seq & 0xffff, 6);
  // The same filler iputils uses after its timestamp: bytes 0x08, 0x09, … (recognisable in a capture).
  for (let i = 0; i < size; i++) b[8 + i] = (i + 8) & 0xff;
  if (family === 'ipv4') b.writeUInt16BE(inetChecksum(b), 2);
  return b;
}

export type Incoming =
  | { kind: 'reply'; id: number; seq: number }
  /** An ICMP error quoting one of our echo requests; `text` as iputils prints it. */
  | { kind: 'error'; id: number; seq: number; text: string };

/**
 * What a received datagram means for us, or undefined when it is not about an echo request
 * (another protocol's error, our own request looped back, neighbour discovery, a runt).
 * `data` is what recvfrom gave: IPv4 with its IP header, ICMPv6 without.
 */
export function parseIncoming(family: Family, data: Buffer): Incoming | undefined {
  let icmp = data;
  if (family === 'ipv4') {
    if (data.length < 20 || data[0]! >> 4 !== 4) return undefined;
    icmp = data.subarray((data[0]! & 0x0f) * 4);
  }
  if (icmp.length < 8) return undefined;
  const type = icmp[0]!;
  const code = icmp[1]!;
  if (type === (family === 'ipv6' ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY)) return { kind: 'reply', id: icmp.readUInt16BE(4), seq: icmp.readUInt16BE(6) };
  const text = errorText(family, type, code, icmp.readUInt32BE(4));
  if (text === undefined) return undefined;
  const quoted = quotedEcho(family, icmp.subarray(8));
  return quoted && { kind: 'error', ...quoted, text };
}

/** The echo identifier and sequence of the request an ICMP error quotes, if it quotes one. */
function quotedEcho(family: Family, q: Buffer): { id: number; seq: number } | undefined {
  let inner: Buffer;
  if (family === 'ipv4') {
    if (q.length < 20 || q[0]! >> 4 !== 4 || q[9] !== 1) return undefined; // protocol 1 = ICMP
    inner = q.subarray((q[0]! & 0x0f) * 4);
    if (inner.length < 8 || inner[0] !== ICMP_ECHO) return undefined;
  } else {
    if (q.length < 40 || q[0]! >> 4 !== 6 || q[6] !== 58) return undefined; // next header 58 = ICMPv6
    inner = q.subarray(40);
    if (inner.length < 8 || inner[0] !== ICMP6_ECHO_REQUEST) return undefined;
  }
  return { id: inner.readUInt16BE(4), seq: inner.readUInt16BE(6) };
}

const UNREACH4 = [
  'Destination Net Unreachable', 'Destination Host Unreachable', 'Destination Protocol Unreachable', 'Destination Port Unreachable',
  '', 'Source Route Failed', 'Destination Net Unknown', 'Destination Host Unknown', 'Source Host Isolated', 'Destination Net Prohibited',
  'Destination Host Prohibited', 'Destination Net Unreachable for Type of Service', 'Destination Host Unreachable for Type of Service',
  'Packet filtered', 'Precedence Violation', 'Precedence Cutoff',
];
const UNREACH6 = ['No route', 'Administratively prohibited', 'Beyond scope of source address', 'Address unreachable', 'Port unreachable'];

/**
 * iputils' words for an ICMP error (`rest` = the 32 bits after type/code/checksum: the MTU of
 * "frag needed"/"packet too big", the pointer of a parameter problem). Undefined: not an error
 * that can quote a probe (echo requests, redirects, router advertisements, …).
 */
export function errorText(family: Family, type: number, code: number, rest: number): string | undefined {
  if (family === 'ipv4') {
    switch (type) {
      case ICMP_DEST_UNREACH:
        if (code === 4) return `Frag needed and DF set (mtu = ${rest & 0xffff})`;
        return UNREACH4[code] || `Dest Unreachable, Bad Code: ${code}`;
      case ICMP_SOURCE_QUENCH:
        return 'Source Quench';
      case ICMP_TIME_EXCEEDED:
        return code === 0 ? 'Time to live exceeded' : code === 1 ? 'Frag reassembly time exceeded' : `Time exceeded, Bad Code: ${code}`;
      case ICMP_PARAMETERPROB:
        return `Parameter problem: pointer = ${rest >>> 24}`;
      default:
        return undefined;
    }
  }
  switch (type) {
    case ICMP6_DST_UNREACH:
      return `Destination unreachable: ${UNREACH6[code] ?? `Unknown code ${code}`}`;
    case ICMP6_PACKET_TOO_BIG:
      return `Packet too big: mtu=${rest >>> 0}`;
    case ICMP6_TIME_EXCEEDED:
      return `Time exceeded: ${code === 0 ? 'Hop limit' : code === 1 ? 'Defragmentation failure' : `code ${code}`}`;
    case ICMP6_PARAM_PROB:
      return `Parameter problem: ${['Wrong header field ', 'Unknown header ', 'Unknown option '][code] ?? `code ${code} `}at ${rest >>> 0}`;
    default:
      return undefined;
  }
}

/** struct sockaddr_in / sockaddr_in6 for an address literal (port for the UDP route probe). */
export function sockaddr(family: Family, address: string, port = 0): Buffer {
  if (family === 'ipv4') {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(2, 0); // AF_INET
    b.writeUInt16BE(port, 2);
    const parts = address.split('.').map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${address}`);
    Buffer.from(parts).copy(b, 4);
    return b;
  }
  const b = Buffer.alloc(28);
  b.writeUInt16LE(10, 0); // AF_INET6
  b.writeUInt16BE(port, 2);
  ipv6Bytes(address).copy(b, 8);
  return b;
}

export function ipv6Bytes(address: string): Buffer {
  let a = address.split('%')[0]!;
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (v4) {
    const p = v4[1]!.split('.').map(Number);
    a = a.slice(0, -v4[1]!.length) + `${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
  }
  const [head, tail] = a.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  if (a.split('::').length > 2 || (tail === undefined && h.length !== 8) || h.length + t.length > 8) throw new Error(`not an IPv6 address: ${address}`);
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new Error(`not an IPv6 address: ${address}`);
    b.writeUInt16BE(parseInt(g, 16), i * 2);
  });
  return b;
}

/** The address in a sockaddr_in/sockaddr_in6 recvfrom filled (as ping prints it). */
export function addressOf(sa: Buffer): string {
  const fam = sa.readUInt16LE(0);
  if (fam === 2) return [...sa.subarray(4, 8)].join('.');
  if (fam === 10) return formatIpv6(sa.subarray(8, 24));
  return '?';
}

/** RFC 5952 text as inet_ntop prints it (so "From" lines match ping's): v4-mapped as ::ffff:a.b.c.d. */
export function formatIpv6(b: Buffer): string {
  const mapped = b.subarray(0, 10).every((x) => x === 0) && b.readUInt16BE(10) === 0xffff;
  return mapped ? `::ffff:${[...b.subarray(12, 16)].join('.')}` : formatWireIpv6(b, 0);
}
