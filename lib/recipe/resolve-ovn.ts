/**
 * The `ovn:` section (checked by semantic-ovn.ts) → the model (lib/model/ovn.ts). Guests bound
 * to logical ports get what OVN needs when the recipe leaves it out: a fixed MAC (the logical
 * port's addresses name it) and an MTU that fits the Geneve overhead including OVN's option.
 */
import { createHash } from 'node:crypto';
import type { Guest, Host, Lab, Switch } from '../model/types.js';
import { encapOverhead } from '../model/types.js';
import type { Ovn, OvnCheck, OvnSwitchPort } from '../model/ovn.js';
import { hostNs } from '../model/names.js';
import { OVN_GENEVE_CLASS, OVN_GENEVE_TYPE } from '../ovs/tlv.js';
import type { RawCheck, RawRecipe } from './schema.js';
import { OVN_CENTRAL_NAME, routerPortName, routerSwitchPortName, switchPortOf, type OvnDecision } from './semantic-ovn.js';

/** A stable, locally administered unicast MAC for `what` (02 would be just as valid; 0a marks "made by geneve-lab"). */
export function derivedMac(what: string): string {
  const h = createHash('sha1').update(what).digest('hex');
  return ['0a', h.slice(0, 2), h.slice(2, 4), h.slice(4, 6), h.slice(6, 8), h.slice(8, 10)].join(':');
}

/** The guest MTU that fits an OVN Geneve packet (one 8-byte option) into the underlay MTU. */
export function ovnGuestMtu(underlayMtu: number, family: 'ipv4' | 'ipv6'): number {
  return underlayMtu - encapOverhead('geneve', family, [{ class: OVN_GENEVE_CLASS, type: OVN_GENEVE_TYPE, data: '00000000' }]);
}

const INTEGRATION_BRIDGE = 'br-int';

export interface ResolvedOvn {
  ovn: Ovn;
  /** The guests with OVN's defaults filled in (same order). */
  guests: Guest[];
}

export function resolveOvn(r: RawRecipe, d: OvnDecision, lab: Pick<Lab, 'name' | 'networks'> & { hosts: Host[]; switches: Switch[]; guests: Guest[] }): ResolvedOvn {
  const o = r.ovn!;
  const mtu = lab.networks.find((n) => n.name === d.network)?.mtu ?? 1500;
  const bound = new Map(d.chassis.flatMap((c) => c.bindings.map((b) => [b.guest, b.port] as const)));
  const guests = lab.guests.map((g) => {
    if (!bound.has(g.name)) return g;
    const out: Guest = { ...g };
    if (out.mac === undefined) out.mac = derivedMac(`guest:${g.name}`);
    if (out.mtu === undefined) out.mtu = ovnGuestMtu(mtu, d.family);
    return out;
  });
  const guestBy = new Map(guests.map((g) => [g.name, g]));

  const switches = (o.switches ?? []).map((ls) => ({
    name: ls.name,
    ports: (ls.ports ?? []).map((raw): OvnSwitchPort => {
      const { name, guest } = switchPortOf(raw);
      const g = guest !== undefined ? guestBy.get(guest) : undefined;
      const own = typeof raw === 'string' ? undefined : raw;
      const addresses = own?.addresses ?? (g ? [[g.mac!, ...g.addresses.map((a) => a.split('/')[0]!)].join(' ')] : []);
      const ps = own?.port_security;
      return {
        name: (name ?? guest)!,
        ...(guest !== undefined ? { guest } : {}),
        addresses,
        portSecurity: ps === true ? addresses : Array.isArray(ps) ? ps : [],
      };
    }),
  }));
  const routers = (o.routers ?? []).map((lr) => ({
    name: lr.name,
    ports: (lr.ports ?? []).map((p) => ({
      name: p.name ?? routerPortName(lr.name, p.switch),
      switch: p.switch,
      switchPort: routerSwitchPortName(lr.name, p.switch),
      mac: (p.mac ?? derivedMac(`lrp:${lr.name}/${p.switch}`)).toLowerCase(),
      networks: p.networks,
    })),
  }));

  const centralHost = d.central.host ? lab.hosts.find((h) => h.name === d.central.host) : undefined;
  const ovn: Ovn = {
    central: centralHost
      ? {
          host: centralHost.name,
          ns: centralHost.ns,
          ...(d.central.address ? { address: d.central.address } : {}),
          ...(centralHost.interfaces.find((f) => f.network === d.network) ? { ifname: centralHost.interfaces.find((f) => f.network === d.network)!.ifname } : {}),
        }
      : { ns: hostNs(lab.name, OVN_CENTRAL_NAME) },
    network: d.network,
    chassis: d.chassis.map((c) => {
      const h = lab.hosts.find((x) => x.name === c.host)!;
      const sw = c.switch ? lab.switches.find((s) => s.name === c.switch) : undefined;
      const taken = new Set(lab.switches.filter((s) => s.host === c.host).map((s) => s.ifname));
      const bridge = sw?.ifname ?? (taken.has(INTEGRATION_BRIDGE) ? 'br-ovn-int' : INTEGRATION_BRIDGE);
      return {
        name: c.host,
        host: c.host,
        ns: h.ns,
        encapIp: c.encapIp,
        bridge,
        ...(sw ? { switch: sw.name } : {}),
        bindings: c.bindings.map((b) => ({ guest: b.guest, port: b.port, iface: guestBy.get(b.guest)!.peerIfname })),
      };
    }),
    switches,
    routers,
    acls: (o.acls ?? []).map((a) => ({ switch: a.switch, direction: a.direction, priority: a.priority, match: a.match, action: a.action })),
    nbctl: (o.nbctl ?? []).map((c) => [...c]),
    readyTimeoutMs: Math.round((o.timeout ?? 120) * 1000),
  };
  return { ovn, guests };
}

/** One `ovn` check (validated by the schema). */
export function resolveOvnCheck(name: string, c: RawCheck): OvnCheck {
  const q = c.ovn!;
  const query: OvnCheck['query'] = q.tunnels ? { tool: 'mesh' } : q.nbctl ? { tool: 'nbctl', args: [...q.nbctl] } : q.sbctl ? { tool: 'sbctl', args: [...q.sbctl] } : { tool: 'trace', args: [...(q.trace ?? [])] };
  return { kind: 'ovn', name, query, ...(q.expect !== undefined ? { expect: q.expect } : {}) };
}
