/**
 * Overlay MTU = underlay MTU − encapsulation overhead (Geneve: 50 bytes over IPv4, 70 over
 * IPv6, plus 4 + body per option). Guests above it lose every full-size TCP segment.
 */
import { encapOverhead, type Family, type GeneveOption, type TunnelType } from '../model/types.js';

export interface EncapShape {
  type: TunnelType;
  family: Family;
  options?: readonly GeneveOption[];
}

export function overlayMtu(underlayMtu: number, e: EncapShape): number {
  return underlayMtu - encapOverhead(e.type, e.family, [...(e.options ?? [])]);
}

/** A warning naming both numbers when a requested guest MTU cannot fit, else undefined. */
export function guestMtuWarning(subject: string, guestMtu: number, underlayMtu: number, e: EncapShape): string | undefined {
  const max = overlayMtu(underlayMtu, e);
  if (guestMtu <= max) return undefined;
  return (
    `${subject}: MTU ${guestMtu} does not fit: underlay MTU ${underlayMtu} minus ${underlayMtu - max} bytes of ${e.type}/${e.family} ` +
    `encapsulation leaves ${max}; full-size packets will be dropped (set mtu: ${max} or raise the underlay MTU)`
  );
}
