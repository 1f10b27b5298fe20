/**
 * Impairments a recipe puts on links (`impair:` on a network, a host interface, a guest) →
 * `qdisc.netem` steps. They come last in the plan: every link exists and is up by then, and a
 * slow or lossy link does not slow the building of the rest of the lab. Undo is null: every
 * impaired link lives in a namespace the lab owns (semantic.ts refuses SSH hosts' real NICs),
 * so the qdisc goes with the link.
 */
import type { Lab } from '../model/types.js';
import type { Op } from './ops.js';

export function planImpairments(lab: Lab, add: (subject: string, op: Op, host?: string) => void): void {
  for (const n of lab.networks) {
    if (!n.impair) continue;
    // Every host-side (and router-side) port of the network's bridge: each packet crossing the
    // network leaves through exactly one of them, so it gets the impairment once.
    for (const h of lab.hosts)
      for (const i of h.interfaces)
        if (i.network === n.name) add(`network "${n.name}" impairment`, { op: 'qdisc.netem', ns: n.ns, dev: i.peerIfname, impairment: n.impair });
    for (const r of lab.routers ?? [])
      for (const i of r.interfaces)
        if (i.network === n.name) add(`network "${n.name}" impairment`, { op: 'qdisc.netem', ns: n.ns, dev: i.peerIfname, impairment: n.impair });
  }
  for (const h of lab.hosts)
    for (const i of h.interfaces)
      if (i.impair) add(`host "${h.name}" interface "${i.ifname}" impairment`, { op: 'qdisc.netem', ns: h.ns, dev: i.ifname, impairment: i.impair }, h.name);
  for (const g of lab.guests) if (g.impair) add(`guest "${g.name}" impairment`, { op: 'qdisc.netem', ns: g.ns, dev: g.ifname, impairment: g.impair }, g.host);
}

/** True when the lab puts an impairment on a link at `up` (needs netem in the kernel). */
export function labHasLinkImpairments(lab: Lab): boolean {
  return lab.networks.some((n) => n.impair) || lab.hosts.some((h) => h.interfaces.some((i) => i.impair)) || lab.guests.some((g) => g.impair);
}
