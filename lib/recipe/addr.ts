/** Address and CIDR parsing for recipes (no external dependency; node:net validates the text). */
import { isIPv4, isIPv6 } from 'node:net';
import type { Family } from '../model/types.js';

export interface Cidr {
  text: string;
  address: string;
  prefix: number;
  family: Family;
}

/** Parse "ADDR/PREFIX"; undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const address = m[1]!;
  const prefix = Number(m[2]);
  if (isIPv4(address) && prefix <= 32) return { text, address, prefix, family: 'ipv4' };
  if (isIPv6(address) && !address.includes('%') && prefix <= 128) return { text, address, prefix, family: 'ipv6' };
  return undefined;
}

export function familyOf(address: string): Family | undefined {
  if (isIPv4(address)) return 'ipv4';
  if (isIPv6(address)) return 'ipv6';
  return undefined;
}

/** The address as an integer (IPv4 32 bits, IPv6 128 bits). */
export function addrToBigInt(address: string): bigint {
  if (isIPv4(address)) return address.split('.').reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n);
  let parts = address.split('::');
  const head = parts[0] ? parts[0].split(':') : [];
  const tail = parts.length > 1 && parts[1] ? parts[1].split(':') : [];
  // An embedded dotted-quad tail (::ffff:1.2.3.4) becomes two 16-bit groups.
  const expand = (g: string[]) =>
    g.flatMap((x) => {
      if (!x.includes('.')) return [x];
      const v = Number(addrToBigInt(x));
      return [((v >>> 16) & 0xffff).toString(16), (v & 0xffff).toString(16)];
    });
  const h = expand(head);
  const t = expand(tail);
  const zeros = new Array(8 - h.length - t.length).fill('0');
  parts = [...h, ...(parts.length > 1 ? zeros : []), ...t];
  return parts.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Network number and width of a CIDR, for overlap tests. */
export function subnetOf(c: Cidr): { base: bigint; bits: number; prefix: number; family: Family } {
  const bits = c.family === 'ipv4' ? 32 : 128;
  const shift = BigInt(bits - c.prefix);
  const base = (addrToBigInt(c.address) >> shift) << shift;
  return { base, bits, prefix: c.prefix, family: c.family };
}

/** True when the two subnets share any address. */
export function subnetsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const p = Math.min(a.prefix, b.prefix);
  const bits = a.family === 'ipv4' ? 32 : 128;
  const shift = BigInt(bits - p);
  return addrToBigInt(a.address) >> shift === addrToBigInt(b.address) >> shift;
}

/** One text per address whatever its spelling (2001:db8::1 = 2001:DB8:0::1); undefined when not an address. */
export function canonicalAddress(address: string): string | undefined {
  const fam = familyOf(address);
  return fam && `${fam}/${addrToBigInt(address)}`;
}

export function sameAddress(a: string, b: string): boolean {
  const fa = familyOf(a);
  return fa !== undefined && fa === familyOf(b) && addrToBigInt(a) === addrToBigInt(b);
}
