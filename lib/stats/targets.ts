/**
 * Which interfaces are worth watching in a lab: every kernel tunnel end and every underlay
 * interface of a host. Derived from the model only.
 */
import type { Lab } from '../model/types.js';

export interface WatchTarget {
  /** Stable key: "<host>/<ifname>". */
  key: string;
  host: string;
  ns: string;
  ifname: string;
  role: 'tunnel' | 'underlay';
  /** Human label, e.g. "tun0@box-1" or "eth0@box-1 (underlay)". */
  label: string;
  /**
   * Where counters come from: a kernel netdev (netlink link stats) or an OVS port, whose
   * counters only OVS knows (ovs-ofctl dump-ports of its bridge, live).
   */
  source: 'kernel' | 'ovs';
}

export function watchTargets(lab: Lab): WatchTarget[] {
  const nsOf = new Map(lab.hosts.map((h) => [h.name, h.ns]));
  const out: WatchTarget[] = [];
  for (const t of lab.tunnels) {
    for (const e of t.ends) {
      out.push({
        key: `${e.host}/${e.ifname}`,
        host: e.host,
        ns: nsOf.get(e.host) ?? '',
        ifname: e.ifname,
        role: 'tunnel',
        label: `${t.name}@${e.host}`,
        source: e.impl === 'ovs' ? 'ovs' : 'kernel',
      });
    }
  }
  for (const h of lab.hosts) {
    for (const i of h.interfaces) {
      out.push({ key: `${h.name}/${i.ifname}`, host: h.name, ns: h.ns, ifname: i.ifname, role: 'underlay', label: `${i.ifname}@${h.name}`, source: 'kernel' });
    }
  }
  return out;
}
