/**
 * Raw routers, routes and link tuning → the Lab model (lib/model/topology.ts). Called from
 * resolve.ts, which owns interface-name claims per namespace.
 */
import type { LinkTuning, Router } from '../model/topology.js';
import type { Route } from '../model/types.js';
import { hostNs, networkNs } from '../model/names.js';
import type { Path } from './locate.js';
import type { RawRecipe } from './schema.js';
import type { Analysis } from './semantic.js';

type Claim = (ns: string, name: string, owner: string, path: Path) => void;
type Ifn = (name: string, path: Path, what: string) => string;

/** The recipe's `offloads`/`gso_max_size`/`gro_max_size` of one object, or undefined when none is set. */
export function tuningOf(o: { offloads?: Record<string, boolean> | undefined; gso_max_size?: number | undefined; gro_max_size?: number | undefined }): LinkTuning | undefined {
  const t: LinkTuning = {};
  if (o.offloads && Object.keys(o.offloads).length) t.offloads = { ...o.offloads };
  if (o.gso_max_size !== undefined) t.gsoMaxSize = o.gso_max_size;
  if (o.gro_max_size !== undefined) t.groMaxSize = o.gro_max_size;
  return Object.keys(t).length ? t : undefined;
}

export function route(rt: { to: string; via?: string | undefined; dev?: string | undefined }, dev?: string): Route {
  return { to: rt.to, ...(rt.via ? { via: rt.via } : {}), ...(dev ?? rt.dev ? { dev: (dev ?? rt.dev)! } : {}) };
}

export function resolveRouters(r: RawRecipe, a: Analysis, netMtu: (name: string) => number, claim: Claim, ifn: Ifn): Router[] {
  return (r.routers ?? []).map((rt, ri) => {
    const ns = hostNs(r.lab, rt.name);
    claim(ns, 'lo', 'loopback', ['routers', ri]);
    const interfaces = rt.interfaces.map((f, fi) => {
      const p: Path = ['routers', ri, 'interfaces', fi];
      const network = a.routerIfaceNetwork[ri]![fi]!;
      const ifname = f.ifname ?? ifn(network, [...p, 'network'], 'network');
      claim(ns, ifname, `router "${rt.name}" interface on "${network}"`, f.ifname ? [...p, 'ifname'] : p);
      const peerIfname = ifn(rt.name, ['routers', ri, 'name'], 'router');
      claim(networkNs(r.lab, network), peerIfname, `the port of router "${rt.name}"`, ['routers', ri, 'name']);
      const tuning = tuningOf(f);
      return {
        network,
        ifname,
        peerIfname,
        addresses: [f.ipv4, f.ipv6].filter((x): x is string => !!x),
        mtu: f.mtu ?? netMtu(network),
        ...(tuning ? { tuning } : {}),
      };
    });
    // A route's `dev` may name the network; the router's interface on it is meant.
    const devOf = (dev?: string) => (dev === undefined ? undefined : (interfaces.find((f) => f.network === dev)?.ifname ?? dev));
    return { name: rt.name, ns, interfaces, routes: (rt.routes ?? []).map((x) => route(x, devOf(x.dev))), icmpTooBig: rt.icmp_too_big ?? 'send' };
  });
}

/**
 * A host's routes; `dev` may name a network (the host's interface on it), a switch or a tunnel
 * (their interface names), or be an interface name as is.
 */
export function hostRoutes(
  routes: { to: string; via?: string | undefined; dev?: string | undefined }[],
  names: { interfaces: { network: string; ifname: string }[]; switches: { name: string; ifname: string }[]; tunnels: { name: string; ifname: string }[] },
): Route[] {
  const devOf = (dev?: string) =>
    dev === undefined
      ? undefined
      : (names.interfaces.find((f) => f.network === dev)?.ifname ?? names.switches.find((s) => s.name === dev)?.ifname ?? names.tunnels.find((t) => t.name === dev)?.ifname ?? dev);
  return routes.map((x) => route(x, devOf(x.dev)));
}
