/**
 * Routed topologies in the lab model (issue 14, items 6–8): routers, the per-interface link
 * tuning (offloads, GSO/GRO sizes), and where a tunnel's underlay comes from when its two hosts
 * share no network (a routed underlay) or when it runs inside another tunnel (an overlay underlay).
 */
import { encapOverhead, type Lab, type Route, type Tunnel } from './types.js';

/** ethtool -K features and `ip link set … gso_max_size/gro_max_size`, as the recipe sets them. */
export interface LinkTuning {
  /** Feature name (as ethtool -K takes it) → on/off. */
  offloads?: Record<string, boolean>;
  gsoMaxSize?: number;
  groMaxSize?: number;
}

export interface RouterInterface {
  network: string;
  /** Interface name inside the router namespace. */
  ifname: string;
  /** The veth's other end, a port of the network's bridge (named after the router). */
  peerIfname: string;
  addresses: string[]; // CIDR
  mtu: number;
  tuning?: LinkTuning;
}

/** A namespace with IPv4 and IPv6 forwarding on, joining several networks. */
export interface Router {
  name: string;
  ns: string;
  interfaces: RouterInterface[];
  routes: Route[];
  /** send: ICMP "frag needed"/"packet too big" as usual; drop: an nftables rule drops them (PMTU black hole). */
  icmpTooBig: 'send' | 'drop';
}

/**
 * How a tunnel reaches its peer:
 * - absent: both hosts are on `Tunnel.network`;
 * - routed: the hosts are on different networks joined by routers; each end's network is
 *   `TunnelEnd.network` (Tunnel.network is the first end's);
 * - overlay: `Tunnel.network` names another (routed, host-to-host) tunnel whose addresses are this
 *   tunnel's underlay addresses — a tunnel inside a tunnel.
 */
export type UnderlayKind = 'routed' | 'overlay';

/** The network (or, for an overlay underlay, the outer tunnel) that carries end `i` of `t`. */
export function endNetwork(t: Tunnel, i: 0 | 1): string {
  return t.ends[i].network ?? t.network;
}

/**
 * The MTU the underlay offers a tunnel's outer packets without fragmenting, as the lab is built:
 * the smallest MTU of the networks and host interfaces at its ends; for an overlay underlay, what
 * the outer tunnel carries (its own `mtu`, else its underlay minus its overhead). A routed
 * underlay's middle (a router's smaller interface) is not included: that is what PMTU discovery
 * finds, and what an mtu check with `expect:` asserts. Undefined when nothing is known.
 */
export function tunnelUnderlayMtu(lab: Pick<Lab, 'networks' | 'hosts' | 'tunnels'>, t: Tunnel, seen = new Set<string>()): number | undefined {
  if (t.underlay === 'overlay') {
    const outer = lab.tunnels.find((x) => x.name === t.network);
    if (!outer || seen.has(outer.name)) return undefined;
    seen.add(t.name);
    if (outer.mtu !== undefined) return outer.mtu;
    const u = tunnelUnderlayMtu(lab, outer, seen);
    return u === undefined ? undefined : u - encapOverhead(outer.type, outer.family, outer.options);
  }
  const mtus: number[] = [];
  for (const [i, e] of t.ends.entries()) {
    const net = endNetwork(t, i as 0 | 1);
    const n = lab.networks.find((x) => x.name === net);
    if (n) mtus.push(n.mtu);
    const h = lab.hosts.find((x) => x.name === e.host);
    for (const f of h?.interfaces ?? []) if (f.network === net) mtus.push(f.mtu);
  }
  return mtus.length ? Math.min(...mtus) : undefined;
}

/** Tunnels ordered so that a tunnel comes after the tunnel it runs inside (plans create outer ones first). */
export function tunnelsOuterFirst(tunnels: readonly Tunnel[]): Tunnel[] {
  const out: Tunnel[] = [];
  const placed = new Set<string>();
  const place = (t: Tunnel, depth: number) => {
    if (placed.has(t.name) || depth > tunnels.length) return;
    if (t.underlay === 'overlay') {
      const outer = tunnels.find((x) => x.name === t.network);
      if (outer) place(outer, depth + 1);
    }
    placed.add(t.name);
    out.push(t);
  };
  for (const t of tunnels) place(t, 0);
  return out;
}
