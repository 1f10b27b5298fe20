/**
 * Planning of routed topologies (issue 14, items 6 and 8): routers (a namespace per router, a veth
 * into each network's bridge, IPv4 and IPv6 forwarding, static routes, optionally an nftables
 * rule that drops its ICMP too-big errors), hosts' static routes, and the link tuning (offloads,
 * GSO/GRO sizes) of every interface the lab makes. Pure, like the rest of the planner.
 */
import type { LinkTuning, Router } from '../model/topology.js';
import type { Host, Lab, Route } from '../model/types.js';
import type { AddStep as Add, Op } from './ops.js';
import { underlayBridgeName } from './ovs.js';
import { quietDevice } from './quiet.js';


/**
 * Sysctls every router gets. Forwarding on for both families; ICMP error rate limits off, so a
 * router answers every too-big packet and PMTU checks are repeatable (the kernel otherwise allows
 * about one ICMP error per second per destination).
 */
export const ROUTER_SYSCTLS: readonly [string, string][] = [
  ['net.ipv4.ip_forward', '1'],
  ['net.ipv6.conf.all.forwarding', '1'],
  ['net.ipv4.icmp_ratelimit', '0'],
  ['net.ipv6.icmp.ratelimit', '0'],
  // No duplicate address detection on the router's interfaces (set before they exist): while a
  // link-local address is tentative, neighbour solicitations for forwarded packets wait for it,
  // which stalls the first packets across a fresh lab by a second or two. The lab's own
  // addresses are added without DAD anyway.
  ['net.ipv6.conf.default.accept_dad', '0'],
  ['net.ipv6.conf.all.accept_dad', '0'],
];

/** nftables table a router's `icmp_too_big: drop` lives in (inside the router's namespace only). */
export const ROUTER_NFT_TABLE = 'geneve_lab';

/** The rules that make a router a PMTU black hole: its "fragmentation needed" and "packet too big" errors never leave. */
export function icmpTooBigDropOp(ns: string): Op {
  return {
    op: 'nft.rules',
    ns,
    table: ROUTER_NFT_TABLE,
    chain: { name: 'icmp_too_big', hook: 'output', priority: 0 },
    rules: [
      ['icmp', 'type', 'destination-unreachable', 'icmp', 'code', 'frag-needed', 'counter', 'drop'],
      ['icmpv6', 'type', 'packet-too-big', 'counter', 'drop'],
    ],
  };
}

export function planRouter(lab: Lab, r: Router, add: Add): void {
  const subject = `router "${r.name}"`;
  add(subject, { op: 'netns.add', ns: r.ns, tag: lab.tag });
  for (const [key, value] of ROUTER_SYSCTLS) add(subject, { op: 'sysctl.set', ns: r.ns, key, value });
  for (const i of r.interfaces) {
    const net = lab.networks.find((n) => n.name === i.network)!;
    const s = `${subject} interface "${i.ifname}"`;
    add(s, { op: 'link.add', ns: r.ns, link: { kind: 'veth', name: i.ifname, mtu: i.mtu, alias: lab.tag, peer: { name: i.peerIfname, ns: net.ns, mtu: i.mtu, alias: lab.tag } } });
    quietDevice(add, s, net.ns, i.peerIfname);
    add(s, { op: 'link.set', ns: net.ns, name: i.peerIfname, master: net.bridge, up: true });
    add(s, { op: 'link.set', ns: r.ns, name: i.ifname, up: true });
    for (const address of i.addresses) add(s, { op: 'addr.add', ns: r.ns, dev: i.ifname, address, nodad: address.includes(':') });
  }
  addRoutes(add, subject, r.ns, r.routes);
  if (r.icmpTooBig === 'drop') add(`${subject} drops its ICMP too-big errors`, icmpTooBigDropOp(r.ns));
}

function addRoutes(add: Add, subject: string, ns: string, routes: readonly Route[], host?: string): void {
  for (const rt of routes) add(`${subject} route to ${rt.to}`, { op: 'route.add', ns, to: rt.to, ...(rt.via ? { via: rt.via } : {}), ...(rt.dev ? { dev: rt.dev } : {}) }, host);
}

/**
 * A host's static routes, after its addresses exist. On the userspace OVS datapath a host's
 * address lives on the bridge that took over its NIC, so a route through that NIC goes via the bridge.
 */
export function planHostRoutes(h: Host, userspace: boolean, add: Add): void {
  if (!h.routes?.length) return;
  const nic = new Set(h.interfaces.map((i) => i.ifname));
  const dev = (d?: string) => (d !== undefined && userspace && nic.has(d) ? underlayBridgeName(d) : d);
  addRoutes(add, `host "${h.name}"`, h.ns, h.routes.map((rt) => ({ ...rt, ...(rt.dev ? { dev: dev(rt.dev)! } : {}) })), h.name);
}

/** ethtool -K and `ip link set … gso_max_size/gro_max_size` for one link. */
export function tuneLink(add: Add, subject: string, ns: string, dev: string, t: LinkTuning | undefined, host?: string): void {
  if (!t) return;
  if (t.offloads && Object.keys(t.offloads).length) add(`${subject} offloads`, { op: 'offload.set', ns, dev, features: t.offloads }, host);
  if (t.gsoMaxSize !== undefined || t.groMaxSize !== undefined)
    add(`${subject} GSO/GRO sizes`, { op: 'link.set', ns, name: dev, ...(t.gsoMaxSize !== undefined ? { gsoMaxSize: t.gsoMaxSize } : {}), ...(t.groMaxSize !== undefined ? { groMaxSize: t.groMaxSize } : {}) }, host);
}

/**
 * The tuning of every interface the lab makes, once they all exist (after tunnels): host NICs,
 * router interfaces, switches, guests' NICs and kernel tunnel devices. OVS tunnel ports are not
 * kernel devices and are left out (validation refuses tuning a tunnel whose ends are all OVS ports).
 */
export function planLinkTuning(lab: Lab, add: Add): void {
  for (const h of lab.hosts) for (const i of h.interfaces) tuneLink(add, `host "${h.name}" interface "${i.ifname}"`, h.ns, i.ifname, i.tuning, h.name);
  for (const r of lab.routers ?? []) for (const i of r.interfaces) tuneLink(add, `router "${r.name}" interface "${i.ifname}"`, r.ns, i.ifname, i.tuning);
  for (const s of lab.switches) {
    const h = lab.hosts.find((x) => x.name === s.host)!;
    tuneLink(add, `switch "${s.name}"`, h.ns, s.ifname, s.tuning, h.name);
  }
  for (const g of lab.guests) tuneLink(add, `guest "${g.name}"`, g.ns, g.ifname, g.tuning, g.host);
  for (const t of lab.tunnels)
    for (const e of t.ends) {
      if (e.impl !== 'kernel') continue;
      const h = lab.hosts.find((x) => x.name === e.host)!;
      tuneLink(add, `tunnel "${t.name}" on host "${h.name}"`, h.ns, e.ifname, t.tuning, h.name);
    }
}
