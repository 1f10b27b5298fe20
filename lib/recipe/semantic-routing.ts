/**
 * Semantic rules of routed topologies (issue 14, items 6–8), called from semantic.ts:
 * - routers: their interfaces (networks, addresses), routes;
 * - static routes of hosts and routers: gateways must be neighbours, devices must exist;
 * - where a tunnel's underlay is: the network both hosts share (as before), a routed underlay
 *   (hosts on different networks joined by routers), or another tunnel (a tunnel inside a tunnel);
 * - link tuning (offloads, GSO/GRO sizes) where it cannot apply.
 *
 * The underlay decision, in words (docs/recipes.md "Routed underlays"):
 * 1. `network: N` names a network: both hosts must be on it (unchanged).
 * 2. `network: T` names a routed (host-to-host) tunnel: this tunnel runs inside T; its ends are
 *    T's two hosts and its underlay addresses are T's addresses.
 * 3. no `network`, the hosts share exactly one network: that one (unchanged).
 * 4. no `network`, the hosts share none: a routed underlay. Each end uses its host's only
 *    address of the tunnel's family (on whichever network), and each host needs a route that
 *    covers the other's address (e.g. a default route via a router). A host with several
 *    addresses of the family is ambiguous and refused.
 */
import type { Problem } from '../errors.js';
import type { Family } from '../model/types.js';
import type { UnderlayKind } from '../model/topology.js';
import { familyOf, parseCidr, sameAddress, subnetsOverlap, type Cidr } from './addr.js';
import { suggest, type Locator, type Path } from './locate.js';
import type { RawRecipe, RawTunnel } from './schema.js';

export type NodeKind = 'host' | 'guest' | 'switch' | 'network' | 'router';

/** An address a host or router has on a network (the underlay of tunnels, the subnets of routing). */
export interface NetworkAddress {
  /** Host or router name. */
  host: string;
  network: string;
  cidr: Cidr;
  path: Path;
}

/** What semantic.ts shares with these rules. */
export interface RoutingScope {
  r: RawRecipe;
  loc: Locator;
  problems: Problem[];
  kindOf: Map<string, NodeKind>;
  refProblem: (name: string, kind: 'host' | 'switch' | 'network' | 'guest' | 'router') => string;
  networks: { name: string; mtu: number }[];
  /** Addresses of hosts and routers on networks (routers are added by analyzeRouters). */
  underlay: NetworkAddress[];
  /** Every address of the lab, for the duplicate-address rule. */
  allAddrs: { cidr: Cidr; path: Path; what: string }[];
}

export interface UnderlayChoice {
  network: string;
  family: Family;
  underlay?: { kind: UnderlayKind; networks: [string, string]; addresses: [string, string] };
}

/** What the underlay decision needs to know about the tunnel being decided. */
export interface TunnelSide {
  t: RawTunnel;
  path: Path;
  hosts: [string, string];
  /** Networks both hosts are attached to. */
  shared: string[];
  /** Every end is a kernel netdev (an OVS port cannot run over another tunnel). */
  kernelOnly: boolean;
  /** The decision of another tunnel by name (its own underlay decided first); 'cycle' when it depends on this one. */
  outer: (name: string) => { routed: boolean; hosts: [string, string]; family: Family } | undefined | 'cycle';
}

export function routingRules(s: RoutingScope) {
  const err = (path: Path, msg: string) => s.problems.push(s.loc.problem(path, msg));
  const routers = s.r.routers ?? [];
  const hosts = s.r.hosts ?? [];
  const tunnels = s.r.tunnels ?? [];

  /** Check the routers' interfaces (names were declared with the other objects); returns each router's networks (by interface). */
  function analyzeRouters(): string[][] {
    return routers.map((rt, ri) => {
      const nets: string[] = [];
      // A router whose name another object took was reported; its addresses would only echo that.
      if (s.kindOf.get(rt.name) !== 'router') return rt.interfaces.map(() => '');
      rt.interfaces.forEach((f, fi) => {
        const p: Path = ['routers', ri, 'interfaces', fi];
        let net = f.network;
        if (net === undefined) {
          if (s.networks.length === 1) net = s.networks[0]!.name;
          else err(p, `"network" is required because there are ${s.networks.length} networks; use one of: ${s.networks.map((n) => n.name).join(', ')}`);
        } else if (!s.networks.some((n) => n.name === net)) {
          err([...p, 'network'], s.refProblem(net, 'network'));
          net = undefined;
        }
        if (net !== undefined && nets.includes(net)) err([...p, 'network'], `router "${rt.name}" is attached to network "${net}" twice; use one interface per network`);
        else if (net !== undefined && hosts.some((h) => h.ssh !== undefined && (h.interfaces ?? []).some((hf) => (hf.network ?? (s.networks.length === 1 ? s.networks[0]!.name : undefined)) === net)))
          err([...p, 'network'], `network "${net}" is the real network between SSH hosts; a router is a namespace on this machine and can join only simulated networks`);
        nets.push(net ?? '');
        if (!f.ipv4 && !f.ipv6) err(p, 'a router interface needs an address: add ipv4 (e.g. 192.0.2.1/24) and/or ipv6 (e.g. 2001:db8::1/64)');
        for (const fam of ['ipv4', 'ipv6'] as const) {
          const c = f[fam] ? parseCidr(f[fam]) : undefined;
          if (!c) continue;
          s.allAddrs.push({ cidr: c, path: [...p, fam], what: `router "${rt.name}"` });
          if (net) s.underlay.push({ host: rt.name, network: net, cidr: c, path: [...p, fam] });
        }
      });
      return nets;
    });
  }

  /** Whether a route of `routes` covers `address` (a default route of its family, or a prefix containing it). */
  function routeCovers(routes: { to: string; via?: string | undefined }[] | undefined, address: string): boolean {
    const fam = familyOf(address);
    return (routes ?? []).some((rt) => {
      if (rt.to === 'default') return (rt.via ? familyOf(rt.via) : 'ipv4') === fam;
      const c = parseCidr(rt.to);
      return !!c && subnetsOverlap(c, { text: address, address, prefix: fam === 'ipv6' ? 128 : 32, family: fam! });
    });
  }

  /** The underlay of a tunnel (see the module comment); undefined when a problem was reported. */
  function decideUnderlay(side: TunnelSide): UnderlayChoice | undefined {
    const { t, path: p, hosts: [ha, hb], shared } = side;
    const e = (k: string | Path, msg: string) => err([...p, ...(Array.isArray(k) ? k : [k])], msg);
    const hostAddr = (host: string, network: string, fam: Family) => s.underlay.find((u) => u.host === host && u.network === network && u.cidr.family === fam);
    let network = t.network;
    if (network !== undefined) {
      const isNet = s.kindOf.get(network) === 'network';
      const outerIdx = tunnels.findIndex((x) => x.name === network);
      if (isNet && outerIdx >= 0) {
        e('network', `"${network}" is both a network and a tunnel; rename one of them so "network" says which underlay this tunnel uses`);
        return undefined;
      }
      if (!isNet && outerIdx >= 0) return overOuterTunnel(side, network, outerIdx);
      if (!isNet) {
        e('network', `${s.refProblem(network, 'network')}${tunnels.length > 1 ? `; or a routed tunnel to run inside: ${tunnels.filter((x) => x.name !== t.name).map((x) => x.name).join(', ')}` : ''}`);
        return undefined;
      }
      if (!shared.includes(network)) {
        e('network', `hosts "${ha}" and "${hb}" are not both attached to network "${network}"; ${shared.length ? `shared: ${shared.join(', ')}` : 'they share no network (leave "network" out for a routed underlay)'}`);
        return undefined;
      }
    } else if (shared.length === 1) network = shared[0]!;
    else if (shared.length === 0) return routedUnderlay(side);
    else {
      e('between', `hosts "${ha}" and "${hb}" share several networks (${shared.join(', ')}); choose one with "network"`);
      return undefined;
    }
    const net = network;
    const famOk = (f: Family) => !!hostAddr(ha, net, f) && !!hostAddr(hb, net, f);
    let fam: Family;
    if (t.family) {
      fam = t.family;
      if (!famOk(fam)) {
        const missing = [ha, hb].filter((h) => !hostAddr(h, net, fam));
        e('family', `${fam} is not available on both ends: host${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} ha${missing.length > 1 ? 've' : 's'} no ${fam} address on network "${net}"; ${famOk(fam === 'ipv4' ? 'ipv6' : 'ipv4') ? `use ${fam === 'ipv4' ? 'ipv6' : 'ipv4'} or add addresses` : 'add addresses'}`);
      }
    } else if (famOk('ipv4')) fam = 'ipv4';
    else if (famOk('ipv6')) fam = 'ipv6';
    else {
      e('between', `hosts "${ha}" and "${hb}" have no address family in common on network "${net}"; give both an ipv4 or both an ipv6 address`);
      fam = 'ipv4';
    }
    return { network: net, family: fam };
  }

  /** Rule 4: hosts on different networks, joined by routers. */
  function routedUnderlay(side: TunnelSide): UnderlayChoice | undefined {
    const { t, path: p, hosts: [ha, hb] } = side;
    const e = (k: string | Path, msg: string) => err([...p, ...(Array.isArray(k) ? k : [k])], msg);
    const addrsOf = (h: string, f: Family) => s.underlay.filter((u) => u.host === h && u.cidr.family === f);
    const both = (f: Family) => addrsOf(ha, f).length > 0 && addrsOf(hb, f).length > 0;
    const fam: Family | undefined = t.family ?? (both('ipv4') ? 'ipv4' : both('ipv6') ? 'ipv6' : undefined);
    if (!fam || !both(fam)) {
      const lacking = [ha, hb].filter((h) => !fam || addrsOf(h, fam).length === 0);
      e(t.family ? 'family' : 'between', fam
        ? `host${lacking.length > 1 ? 's' : ''} ${lacking.map((h) => `"${h}"`).join(' and ')} ha${lacking.length > 1 ? 've' : 's'} no ${fam} address; a tunnel across a routed underlay needs one on each host`
        : `hosts "${ha}" and "${hb}" share no network and have no address family in common; attach both to one network, or give both an ipv4 (or both an ipv6) address and route between them`);
      return undefined;
    }
    const chosen: NetworkAddress[] = [];
    for (const [i, h] of [ha, hb].entries()) {
      let list = addrsOf(h, fam);
      // An end's own local_ip (ends: { NAME: { local_ip } }) says which of its host's addresses.
      const want = t.ends?.[(t.between as string[])[i]!]?.local_ip;
      if (list.length > 1 && want !== undefined && want !== 'flow') {
        const picked = list.filter((u) => sameAddress(u.cidr.address, want));
        if (picked.length) list = picked;
      }
      if (list.length !== 1) {
        e('between', `hosts "${ha}" and "${hb}" share no network, so each end uses its host's only ${fam} address, but host "${h}" has ${list.length} (${list.map((u) => `${u.cidr.address} on "${u.network}"`).join(', ')}); attach both hosts to one network and name it with "network", or leave host "${h}" one ${fam} address, or choose one with ends: { ${(t.between as string[])[i]}: { local_ip: ADDRESS } }`);
        return undefined;
      }
      chosen.push(list[0]!);
    }
    // Each (simulated) host needs a route towards the other: without one the tunnel cannot work.
    for (const [i, h] of [ha, hb].entries()) {
      const raw = hosts.find((x) => x.name === h);
      if (!raw || raw.ssh !== undefined) continue; // a real machine has its own routes
      const peer = chosen[1 - i]!;
      if (routeCovers(raw.routes, peer.cidr.address)) continue;
      const hi = hosts.indexOf(raw);
      const gw = s.underlay.find((u) => s.kindOf.get(u.host) === 'router' && u.network === chosen[i]!.network && u.cidr.family === fam);
      err(raw.routes ? ['hosts', hi, 'routes'] : ['hosts', hi], `host "${h}" has no route to ${peer.cidr.address} (host "${peer.host}"'s ${fam} address, the other end of tunnel "${t.name}"), and the two hosts share no network; add one, e.g. routes: [{ to: default, via: ${gw ? `${gw.cidr.address} }] (router "${gw.host}" on "${gw.network}")` : `<a router's address on "${chosen[i]!.network}"> }]`}`);
    }
    return {
      network: chosen[0]!.network,
      family: fam,
      underlay: { kind: 'routed', networks: [chosen[0]!.network, chosen[1]!.network], addresses: [chosen[0]!.cidr.address, chosen[1]!.cidr.address] },
    };
  }

  /** Rule 2: a tunnel inside another (routed) tunnel. */
  function overOuterTunnel(side: TunnelSide, outerName: string, outerIdx: number): UnderlayChoice | undefined {
    const { t, path: p, hosts: [ha, hb] } = side;
    const e = (k: string | Path, msg: string) => err([...p, ...(Array.isArray(k) ? k : [k])], msg);
    if (outerName === t.name) {
      e('network', `tunnel "${t.name}" cannot run inside itself; name another (routed) tunnel or a network`);
      return undefined;
    }
    const outer = side.outer(outerName);
    if (outer === 'cycle') {
      e('network', `tunnel "${t.name}" runs inside tunnel "${outerName}", which (through "network") runs inside "${t.name}": a loop; one of them must run over a network`);
      return undefined;
    }
    if (!outer) return undefined; // the outer tunnel's own problem was reported
    const o = tunnels[outerIdx]!;
    if (!outer.routed || !o.addresses || o.addresses.length !== 2) {
      e('network', `tunnel "${outerName}" is an L2 tunnel between switches; a tunnel can run inside a routed (host-to-host) tunnel, whose addresses are its ends' underlay — use a tunnel between two hosts with addresses`);
      return undefined;
    }
    if (!outer.hosts.includes(ha) || !outer.hosts.includes(hb)) {
      e('between', `tunnel "${t.name}" joins hosts "${ha}" and "${hb}", but tunnel "${outerName}" (its network) joins "${outer.hosts[0]}" and "${outer.hosts[1]}"; a tunnel inside another runs between the same two hosts`);
      return undefined;
    }
    if (!side.kernelOnly) {
      e('network', `an end of tunnel "${t.name}" is an OVS port; only kernel tunnel devices can run inside another tunnel (OVS's userspace datapath sends tunnels only through its own bridges) — attach the ends to Linux bridges or to the hosts`);
      return undefined;
    }
    const addrOf = (h: string) => parseCidr(o.addresses![outer.hosts.indexOf(h)]!)!;
    const [a, b] = [addrOf(ha), addrOf(hb)];
    if (t.family && t.family !== a.family) {
      e('family', `tunnel "${outerName}" carries ${a.family} (its addresses ${o.addresses.join(', ')}); a tunnel inside it uses that family — remove family or set ${a.family}`);
      return undefined;
    }
    return { network: outerName, family: a.family, underlay: { kind: 'overlay', networks: [outerName, outerName], addresses: [a.address, b.address] } };
  }

  /**
   * Static routes of one host or router: a gateway must be a neighbour (inside one of the node's
   * subnets), a device must be one of its interfaces, and a destination may be routed once.
   */
  function checkRoutes(node: string, what: 'host' | 'router', routes: { to: string; via?: string | undefined; dev?: string | undefined }[], path: Path, onLink: Cidr[], devices: string[]) {
    const seen = new Map<string, number>();
    routes.forEach((rt, i) => {
      const p: Path = [...path, i];
      if (!rt.via && !rt.dev) err(p, 'a route needs "via" (a gateway address) and/or "dev" (an interface)');
      const toFam = rt.to === 'default' ? (rt.via ? familyOf(rt.via) : 'ipv4') : parseCidr(rt.to)?.family;
      if (rt.via && rt.to !== 'default' && familyOf(rt.via) !== toFam) err([...p, 'via'], `gateway ${rt.via} is not of the same family as ${rt.to}`);
      else if (rt.via && !onLink.some((c) => c.family === familyOf(rt.via!) && subnetsOverlap(c, { text: rt.via!, address: rt.via!, prefix: c.family === 'ipv6' ? 128 : 32, family: c.family }))) {
        const subnets = onLink.filter((c) => c.family === familyOf(rt.via!)).map((c) => c.text);
        err([...p, 'via'], `gateway ${rt.via} is not on a network of ${what} "${node}" (${subnets.length ? `its ${familyOf(rt.via)} subnets: ${subnets.join(', ')}` : `it has no ${familyOf(rt.via)} address`}); the gateway must be a neighbour, e.g. a router's address on one of its networks`);
      }
      if (rt.dev !== undefined && !devices.includes(rt.dev)) err([...p, 'dev'], `${what} "${node}" has no interface "${rt.dev}"${suggest(rt.dev, devices)}; its interfaces: ${devices.join(', ') || 'none'}`);
      const key = `${toFam}/${rt.to === 'default' ? 'default' : (parseCidr(rt.to)?.text ?? rt.to)}`;
      const prev = seen.get(key);
      if (prev !== undefined) err([...p, 'to'], `a route to ${rt.to} is already given (${formatIndex(path, prev)}); route each destination once`);
      else seen.set(key, i);
    });
  }

  /** Routes of routers (after their interfaces) and hosts (after tunnels: a gateway may be a routed tunnel's peer). */
  function checkAllRoutes(routerNets: string[][], hostNets: string[][], tunnelOnHost: (host: string) => { ifname: string; address?: string }[]) {
    routers.forEach((rt, ri) => {
      const onLink = rt.interfaces.flatMap((f) => [f.ipv4, f.ipv6].flatMap((x) => (x && parseCidr(x) ? [parseCidr(x)!] : [])));
      const devices = [...new Set(rt.interfaces.flatMap((f, fi) => [f.ifname ?? routerNets[ri]![fi]!, routerNets[ri]![fi]!]).filter(Boolean))];
      checkRoutes(rt.name, 'router', rt.routes ?? [], ['routers', ri, 'routes'], onLink, devices);
    });
    hosts.forEach((h, hi) => {
      if (!h.routes) return;
      if (h.ssh !== undefined) {
        err(['hosts', hi, 'routes'], `host "${h.name}" is an SSH host; its routes are the machine's own and geneve-lab never changes them — remove routes (the real network must already route between the hosts)`);
        return;
      }
      const ifaces = h.interfaces ?? [];
      const tuns = tunnelOnHost(h.name);
      const onLink = [
        ...ifaces.flatMap((f) => [f.ipv4, f.ipv6]),
        ...(s.r.switches ?? []).filter((sw) => sw.host === h.name).flatMap((sw) => sw.addresses ?? []),
        ...tuns.map((x) => x.address),
      ].flatMap((x) => (x && parseCidr(x) ? [parseCidr(x)!] : []));
      const devices = [
        ...ifaces.flatMap((f, fi) => [f.ifname ?? hostNets[hi]![fi]!, hostNets[hi]![fi]!]),
        ...(s.r.switches ?? []).filter((sw) => sw.host === h.name).map((sw) => sw.name),
        ...tuns.map((x) => x.ifname),
      ].filter(Boolean);
      checkRoutes(h.name, 'host', h.routes, ['hosts', hi, 'routes'], onLink, [...new Set(devices)]);
    });
  }

  return { analyzeRouters, decideUnderlay, checkAllRoutes };
}

function formatIndex(path: Path, i: number): string {
  return `${path.map((x) => (typeof x === 'number' ? `[${x}]` : `.${x}`)).join('').replace(/^\./, '')}[${i}]`;
}
