/**
 * Lab model → ordered operations. Pure: no I/O, same input → same plan, so `plan` can be
 * printed, diffed and stored in the journal.
 *
 * Order: underlay networks, hosts (namespaces + underlay NICs), switches, guests, tunnels.
 * Everything a simulated lab creates lives inside namespaces the lab owns, so undoing a link
 * inside an owned namespace is left to deleting that namespace (undo = null); only objects in
 * namespaces the lab does not own (remote or shared hosts) carry an explicit undo.
 */
import type { Lab, Tunnel, TunnelEnd, Guest, Host, Switch, Network } from '../model/types.js';
import type { LinkSpec, Op, Plan, Step } from './ops.js';

type Draft = Omit<Step, 'id'>;

export function planLab(lab: Lab): Plan {
  const owned = new Set<string>([
    ...lab.networks.map((n) => n.ns),
    ...lab.hosts.filter((h) => h.placement.kind === 'netns').map((h) => h.ns),
    ...lab.guests.map((g) => g.ns),
  ]);
  const drafts: Draft[] = [];
  const add = (subject: string, op: Op, host?: string) =>
    drafts.push({ subject, op, undo: undoFor(op, owned), ...(host ? { host } : {}) });

  for (const n of lab.networks) planNetwork(lab, n, add);
  for (const h of lab.hosts) planHost(lab, h, add);
  for (const s of lab.switches) planSwitch(lab, s, add);
  for (const g of lab.guests) planGuest(lab, g, add);
  for (const t of lab.tunnels) planTunnel(lab, t, add);

  return {
    lab: lab.name,
    tag: lab.tag,
    namespaces: [...owned],
    steps: drafts.map((d, i) => ({ id: i + 1, ...d })),
  };
}

type Add = (subject: string, op: Op, host?: string) => void;

function undoFor(op: Op, owned: Set<string>): Op | null {
  switch (op.op) {
    case 'netns.add':
      return { op: 'netns.del', ns: op.ns };
    case 'link.add':
      return owned.has(op.ns) ? null : { op: 'link.del', ns: op.ns, name: op.link.name };
    case 'addr.add':
      return owned.has(op.ns) ? null : { op: 'addr.del', ns: op.ns, dev: op.dev, address: op.address };
    case 'route.add':
      return owned.has(op.ns) ? null : { op: 'route.del', ns: op.ns, to: op.to, via: op.via, dev: op.dev };
    default:
      // link.set / sysctl / offload on objects the lab created vanish with them.
      return null;
  }
}

function addAddresses(add: Add, subject: string, ns: string, dev: string, addresses: string[], host?: string) {
  for (const address of addresses) add(subject, { op: 'addr.add', ns, dev, address, nodad: address.includes(':') }, host);
}

function planNetwork(lab: Lab, n: Network, add: Add) {
  const subject = `network "${n.name}"`;
  add(subject, { op: 'netns.add', ns: n.ns, tag: lab.tag });
  add(subject, { op: 'link.add', ns: n.ns, link: { kind: 'bridge', name: n.bridge, mtu: n.mtu, alias: lab.tag } });
  add(subject, { op: 'link.set', ns: n.ns, name: n.bridge, up: true });
}

function planHost(lab: Lab, h: Host, add: Add) {
  const subject = `host "${h.name}"`;
  if (h.placement.kind === 'netns') add(subject, { op: 'netns.add', ns: h.ns, tag: lab.tag }, h.name);
  for (const i of h.interfaces) {
    const net = lab.networks.find((n) => n.name === i.network)!;
    const s = `${subject} interface "${i.ifname}"`;
    add(
      s,
      {
        op: 'link.add',
        ns: h.ns,
        link: { kind: 'veth', name: i.ifname, mtu: i.mtu, alias: lab.tag, peer: { name: i.peerIfname, ns: net.ns, mtu: i.mtu, alias: lab.tag } },
      },
      h.name,
    );
    add(s, { op: 'link.set', ns: net.ns, name: i.peerIfname, master: net.bridge, up: true }, h.name);
    add(s, { op: 'link.set', ns: h.ns, name: i.ifname, up: true }, h.name);
    addAddresses(add, s, h.ns, i.ifname, i.addresses, h.name);
  }
}

function hostOf(lab: Lab, name: string): Host {
  const h = lab.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`internal: unknown host ${name}`);
  return h;
}

function planSwitch(lab: Lab, s: Switch, add: Add) {
  if (s.kind !== 'bridge') return; // OVS switches are planned by the OVS layer.
  const h = hostOf(lab, s.host);
  const subject = `switch "${s.name}" on host "${h.name}"`;
  add(subject, { op: 'link.add', ns: h.ns, link: { kind: 'bridge', name: s.ifname, alias: lab.tag, ...(s.mtu ? { mtu: s.mtu } : {}) } }, h.name);
  add(subject, { op: 'link.set', ns: h.ns, name: s.ifname, up: true }, h.name);
  addAddresses(add, subject, h.ns, s.ifname, s.addresses, h.name);
}

function planGuest(lab: Lab, g: Guest, add: Add) {
  const h = hostOf(lab, g.host);
  const sw = lab.switches.find((s) => s.name === g.switch)!;
  const subject = `guest "${g.name}"`;
  add(subject, { op: 'netns.add', ns: g.ns, tag: lab.tag }, h.name);
  const mtu = g.mtu ? { mtu: g.mtu } : {};
  add(
    subject,
    {
      op: 'link.add',
      ns: g.ns,
      link: {
        kind: 'veth',
        name: g.ifname,
        alias: lab.tag,
        ...mtu,
        ...(g.mac ? { mac: g.mac } : {}),
        peer: { name: g.peerIfname, ns: h.ns, alias: lab.tag, ...mtu },
      },
    },
    h.name,
  );
  if (sw.kind === 'bridge') add(subject, { op: 'link.set', ns: h.ns, name: g.peerIfname, master: sw.ifname, up: true }, h.name);
  const features = Object.fromEntries(Object.entries(g.offload).filter(([, v]) => typeof v === 'boolean')) as Record<string, boolean>;
  if (Object.keys(features).length) add(subject, { op: 'offload.set', ns: g.ns, dev: g.ifname, features }, h.name);
  add(subject, { op: 'link.set', ns: g.ns, name: g.ifname, up: true }, h.name);
  addAddresses(add, subject, g.ns, g.ifname, g.addresses, h.name);
  for (const r of g.routes)
    add(subject, { op: 'route.add', ns: g.ns, to: r.to, ...(r.via ? { via: r.via } : {}), dev: r.dev ?? g.ifname }, h.name);
}

/** The kernel netdev for one end of a tunnel. */
export function tunnelLink(lab: Lab, t: Tunnel, end: TunnelEnd): LinkSpec {
  const base = { name: end.ifname, alias: lab.tag, ...(t.mtu ? { mtu: t.mtu } : {}) };
  switch (t.type) {
    case 'geneve': {
      const p = t.geneve ?? {};
      return { ...base, kind: 'geneve', geneve: { ...p, ...(p.external ? {} : { remote: end.remote, vni: p.vni ?? 0 }) } };
    }
    case 'vxlan': {
      const p = t.vxlan ?? {};
      return {
        ...base,
        kind: 'vxlan',
        vxlan: { ...p, dstport: p.dstport ?? 4789, ...(p.external ? {} : { remote: end.remote, local: end.local, vni: p.vni ?? 0 }) },
      };
    }
    case 'gre':
      return { ...base, kind: end.attach.kind === 'switch' ? 'gretap' : 'gre', gre: { ...(t.gre ?? {}), remote: end.remote, local: end.local } };
  }
}

function planTunnel(lab: Lab, t: Tunnel, add: Add) {
  for (const end of t.ends) {
    if (end.impl !== 'kernel') continue; // OVS ports are planned by the OVS layer.
    const h = hostOf(lab, end.host);
    const subject = `tunnel "${t.name}" on host "${h.name}"`;
    add(subject, { op: 'link.add', ns: h.ns, link: tunnelLink(lab, t, end) }, h.name);
    if (end.attach.kind === 'switch') {
      const sw = lab.switches.find((s) => s.name === end.attach.name)!;
      add(subject, { op: 'link.set', ns: h.ns, name: end.ifname, master: sw.ifname }, h.name);
    }
    add(subject, { op: 'link.set', ns: h.ns, name: end.ifname, up: true }, h.name);
    if (end.address) addAddresses(add, subject, h.ns, end.ifname, [end.address], h.name);
  }
}
