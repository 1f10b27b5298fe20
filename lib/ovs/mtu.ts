/**
 * Overlay MTU = underlay MTU − encapsulation overhead (Geneve: 50 bytes over IPv4, 70 over
 * IPv6, plus 4 + body per option). Guests above it lose every full-size TCP segment.
 */
import { encapOverhead, type Family, type GeneveOption, type Lab, type Tunnel, type TunnelType } from '../model/types.js';
import { tunnelUnderlayMtu } from '../model/topology.js';
import { ipsecOverhead } from '../ipsec/algorithms.js';

export interface EncapShape {
  type: TunnelType;
  family: Family;
  options?: readonly GeneveOption[];
  /** IPsec adds ESP's overhead on top. */
  ipsec?: { esp: string };
}

export function overlayMtu(underlayMtu: number, e: EncapShape): number {
  return underlayMtu - encapOverhead(e.type, e.family, [...(e.options ?? [])]) - ipsecOverhead(e);
}

/** A warning naming both numbers when a requested guest MTU cannot fit, else undefined. */
export function guestMtuWarning(subject: string, guestMtu: number, underlayMtu: number, e: EncapShape): string | undefined {
  const max = overlayMtu(underlayMtu, e);
  if (guestMtu <= max) return undefined;
  return (
    `${subject}: MTU ${guestMtu} does not fit: underlay MTU ${underlayMtu} minus ${underlayMtu - max} bytes of ${e.type}/${e.family}${e.ipsec ? ` + ESP (${e.ipsec.esp})` : ''} ` +
    `encapsulation leaves ${max}; full-size packets will be dropped (set mtu: ${max} or raise the underlay MTU)`
  );
}

/**
 * Warnings for guests whose recipe-set MTU is larger than what the tunnels behind their switch
 * can carry: the smallest underlay MTU of the tunnel's hosts on its network minus the
 * encapsulation overhead (options included). Guests without an explicit MTU get the overlay MTU
 * from the planner, so they never warn.
 */
export function guestMtuWarnings(lab: Pick<Lab, 'networks' | 'hosts' | 'guests' | 'tunnels'>): { guest: string; message: string }[] {
  const out: { guest: string; message: string }[] = [];
  for (const g of lab.guests) {
    if (g.mtu === undefined) continue;
    let worst: { underlay: number; t: Tunnel; max: number } | undefined;
    for (const t of lab.tunnels) {
      if (!t.ends.some((e) => e.attach.kind === 'switch' && e.attach.name === g.switch)) continue;
      const underlay = tunnelUnderlayMtu(lab, t) ?? 1500;
      const max = overlayMtu(underlay, t);
      if (!worst || max < worst.max) worst = { underlay, t, max };
    }
    if (!worst) continue;
    const msg = guestMtuWarning(`guest "${g.name}" (tunnel "${worst.t.name}")`, g.mtu, worst.underlay, worst.t);
    if (msg) out.push({ guest: g.name, message: msg });
  }
  return out;
}
