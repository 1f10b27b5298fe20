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
import { encapOverhead } from '../model/types.js';
import { ipsecOverhead } from '../ipsec/algorithms.js';
import { ExitCode, LabError } from '../errors.js';
import type { AddStep as Add, LinkSpec, Op, Plan, Step } from './ops.js';
import { planImpairments } from './impair.js';
import { planNftCounters } from './nft.js';
import { planHostRoutes, planLinkTuning, planRouter } from './routers.js';
import { quietDevice } from './quiet.js';
import { tunnelUnderlayMtu, tunnelsOuterFirst } from '../model/topology.js';
import { externalLinkParams, externalTunnelOp } from './external.js';
import { endView, worstOptions } from '../model/tunnel-end.js';
import { programCommands, tlvMapCommands } from './ovs-program.js';
import { ofctlProtocolArgs } from '../model/ovs-program.js';
import { ovnNamespaces, ovnUndo, planOvn } from './ovn.js';
import { assertIpsecPlannable, ipsecUndo, planIpsecAwait, planIpsecEndAfter, planIpsecEndBefore, planIpsecHost } from './ipsec.js';
import {
  bridgeCommands,
  hostUsesOvs,
  optionFlowArgs,
  ovsRunDir,
  ovsTarget,
  ovsUndo,
  portCommands,
  switchDatapath,
  transaction,
  tunnelPortFromModel,
  underlayBridgeName,
  type Datapath,
  type OvsPlanContext,
} from './ovs.js';

export interface PlanOptions {
  /** Root of per-lab run directories (OVS daemons' files); the engine passes its state dir's. */
  runRoot?: string;
  /** Datapath for hosts whose recipe says `auto` (the engine probes for the openvswitch module). */
  autoDatapath?: Datapath;
}

interface Ctx extends OvsPlanContext {
  lab: Lab;
  /** OVS tunnel ports already planned, `host/port` (ports shared by several tunnels). */
  madePorts: Set<string>;
}

type Draft = Omit<Step, 'id'>;

export function planLab(recipeLab: Lab, opts: PlanOptions = {}): Plan {
  const lab = onRemoteHosts(recipeLab);
  const ctx: Ctx = {
    lab,
    runRoot: opts.runRoot ?? '/run/geneve-lab/run',
    datapathFor: (h) => (h.ovs?.datapath === 'system' || h.ovs?.datapath === 'netdev' ? h.ovs.datapath : (opts.autoDatapath ?? 'netdev')),
    madePorts: new Set(),
  };
  const owned = new Set<string>([
    ...lab.networks.filter((n) => !isRealNetwork(lab, n)).map((n) => n.ns),
    ...lab.hosts.filter((h) => h.placement.kind === 'netns').map((h) => h.ns),
    ...(lab.routers ?? []).map((r) => r.ns),
    ...lab.guests.map((g) => g.ns),
    ...ovnNamespaces(lab),
  ]);
  const drafts: Draft[] = [];
  const add = (subject: string, op: Op, host?: string) =>
    drafts.push({ subject, op, undo: undoFor(op, owned), ...(host ? { host } : {}) });

  assertIpsecPlannable(lab, ctx);
  for (const n of lab.networks) if (!isRealNetwork(lab, n)) planNetwork(lab, n, add);
  for (const h of lab.hosts) {
    planHost(ctx, h, add);
    planIpsecHost(ctx, lab, h, add);
  }
  for (const r of lab.routers ?? []) planRouter(lab, r, add);
  for (const h of lab.hosts) planHostRoutes(h, hostUsesOvs(lab, h.name) && ctx.datapathFor(h) === 'netdev', add);
  for (const s of lab.switches) planSwitch(ctx, s, add);
  for (const g of lab.guests) planGuest(ctx, g, add);
  // A tunnel inside another is created after it (its underlay is the outer tunnel's addresses).
  for (const t of tunnelsOuterFirst(lab.tunnels)) planTunnel(ctx, t, add);
  planLinkTuning(lab, add);
  // OpenFlow programs last: their flows name the switches' ports, which now all exist.
  for (const s of lab.switches) planProgram(ctx, s, add);
  planImpairments(lab, add);
  planNftCounters(lab, add);
  planOvn(lab, ctx, add);
  // Last: wait until the IPsec SAs are up (the first check must not absorb the negotiation).
  planIpsecAwait(ctx, lab, add);

  return {
    lab: lab.name,
    tag: lab.tag,
    namespaces: [...owned],
    steps: drafts.map((d, i) => ({ id: i + 1, ...d })),
  };
}


/**
 * SSH hosts have no namespace of ours: what the lab builds on them goes into the machine's own
 * namespace (ns "" = the namespace the remote commands run in). Not owned, so every such
 * object gets an explicit undo (undoFor), and the names were made lab-specific by the resolver.
 */
function onRemoteHosts(lab: Lab): Lab {
  if (!lab.hosts.some((h) => h.placement.kind === 'ssh')) return lab;
  return { ...lab, hosts: lab.hosts.map((h) => (h.placement.kind === 'ssh' ? { ...h, ns: '' } : h)) };
}

/** A network between SSH hosts is the real network between the machines: nothing to create. */
function isRealNetwork(lab: Lab, n: Network): boolean {
  return lab.hosts.some((h) => h.placement.kind === 'ssh' && h.interfaces.some((i) => i.network === n.name));
}

function undoFor(op: Op, owned: Set<string>): Op | null {
  switch (op.op) {
    case 'netns.add':
      return { op: 'netns.del', ns: op.ns };
    case 'ovs.start':
      return { op: 'ovs.stop', ns: op.ns, runDir: op.runDir, lab: op.lab };
    case 'ovn.central.start':
    case 'ovn.controller.start':
      return ovnUndo(op);
    case 'ovs.cmds':
    case 'ovs.tunnel':
      // Simulated hosts: ovs.stop ends the whole instance. SSH hosts: the machine's own OVS
      // service, so exactly what the step added is removed again (ovsUndo).
      return owned.has(op.ns) ? null : ovsUndo(op);
    case 'link.add':
      return owned.has(op.ns) ? null : { op: 'link.del', ns: op.ns, name: op.link.name };
    case 'addr.add':
      return owned.has(op.ns) ? null : { op: 'addr.del', ns: op.ns, dev: op.dev, address: op.address };
    case 'route.add':
      return owned.has(op.ns) ? null : { op: 'route.del', ns: op.ns, to: op.to, via: op.via, dev: op.dev };
    case 'nft.counters':
      return owned.has(op.ns) ? null : { op: 'nft.delete', ns: op.ns, table: op.table };
    default:
      // link.set / sysctl / offload on objects the lab created vanish with them. IKE daemons
      // stop and static SAs go explicitly, wherever they are (lib/plan/ipsec.ts).
      return ipsecUndo(op);
  }
}

function addAddresses(add: Add, subject: string, ns: string, dev: string, addresses: string[], host?: string) {
  for (const address of addresses) add(subject, { op: 'addr.add', ns, dev, address, nodad: address.includes(':') }, host);
}

function planNetwork(lab: Lab, n: Network, add: Add) {
  const subject = `network "${n.name}"`;
  add(subject, { op: 'netns.add', ns: n.ns, tag: lab.tag });
  add(subject, { op: 'link.add', ns: n.ns, link: { kind: 'bridge', name: n.bridge, mtu: n.mtu, alias: lab.tag } });
  quietDevice(add, subject, n.ns, n.bridge);
  add(subject, { op: 'link.set', ns: n.ns, name: n.bridge, up: true });
}

function planHost(ctx: Ctx, h: Host, add: Add) {
  const { lab } = ctx;
  const subject = `host "${h.name}"`;
  if (h.placement.kind === 'ssh') {
    // Its underlay interface and addresses are the machine's own: nothing to create. With OVS,
    // the lab uses the machine's running OVS service (no ovs.start) and never moves the
    // machine's address or NIC onto a bridge (that could cut the SSH connection): on the
    // userspace datapath the host's admin must have set up native tunnelling (checked on connect,
    // lib/remote/ovs-service.ts).
    return;
  }
  if (h.ovs?.db !== undefined)
    throw new LabError(`host "${h.name}": ovs.db names a running OVS service and is for ssh: hosts only; a simulated host runs its own OVS daemons (remove ovs.db)`, ExitCode.invalidInput);
  if (h.placement.kind === 'netns') add(subject, { op: 'netns.add', ns: h.ns, tag: lab.tag }, h.name);
  const ovs = hostUsesOvs(lab, h.name);
  const runDir = ovsRunDir(ctx.runRoot, lab.name, h.name);
  const userspace = ovs && ctx.datapathFor(h) === 'netdev';
  for (const i of h.interfaces) {
    const net = lab.networks.find((n) => n.name === i.network)!;
    const s = `${subject} interface "${i.ifname}"`;
    add(
      s,
      {
        op: 'link.add',
        ns: h.ns,
        // A fixed MAC goes to the device that holds the address: the NIC here, br-underlay below.
        link: { kind: 'veth', name: i.ifname, mtu: i.mtu, alias: lab.tag, ...(i.mac && !userspace ? { mac: i.mac } : {}), peer: { name: i.peerIfname, ns: net.ns, mtu: i.mtu, alias: lab.tag } },
      },
      h.name,
    );
    quietDevice(add, s, net.ns, i.peerIfname, h.name);
    add(s, { op: 'link.set', ns: net.ns, name: i.peerIfname, master: net.bridge, up: true }, h.name);
    // With the userspace datapath the NIC becomes a port of the underlay bridge, which takes its address.
    if (userspace) quietDevice(add, s, h.ns, i.ifname, h.name);
    add(s, { op: 'link.set', ns: h.ns, name: i.ifname, up: true }, h.name);
    if (!userspace) addAddresses(add, s, h.ns, i.ifname, i.addresses, h.name);
  }
  if (!ovs) return;
  add(`OVS on host "${h.name}"`, { op: 'ovs.start', ns: h.ns, runDir, lab: lab.name }, h.name);
  if (!userspace) return;
  // Userspace datapath: an OVS bridge takes over the underlay port and owns its address, so the
  // kernel stack of the host routes and resolves the tunnels' outer packets.
  for (const i of h.interfaces) {
    const br = underlayBridgeName(i.ifname);
    const s = `host "${h.name}" underlay bridge "${br}"`;
    const cmds = transaction([...bridgeCommands({ name: br, datapath: 'netdev', lab: lab.name, ...(i.mac ? { hwaddr: i.mac } : {}) }), ...portCommands({ bridge: br, name: i.ifname, lab: lab.name })]);
    add(s, { op: 'ovs.cmds', ns: h.ns, runDir, lab: lab.name, cmds: [{ tool: 'vsctl', args: cmds }], awaitLinks: [br] }, h.name);
    add(s, { op: 'link.set', ns: h.ns, name: br, mtu: i.mtu, up: true }, h.name);
    addAddresses(add, s, h.ns, br, i.addresses, h.name);
    // The NIC is now an OVS port, but the host's kernel still sees its frames and, by default,
    // answers ARP for the bridge's address on it with the NIC's own MAC: every peer gets two
    // replies, and vswitchd's tunnel-neighbour snooping can keep the wrong one (tunnel packets
    // then miss the bridge and are lost). Only the bridge answers.
    add(s, { op: 'sysctl.set', ns: h.ns, key: `net/ipv4/conf/${i.ifname}/arp_ignore`, value: '1' }, h.name);
  }
}

function hostOf(lab: Lab, name: string): Host {
  const h = lab.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`internal: unknown host ${name}`);
  return h;
}

function planSwitch(ctx: Ctx, s: Switch, add: Add) {
  const { lab } = ctx;
  const h = hostOf(lab, s.host);
  const subject = `switch "${s.name}" on host "${h.name}"`;
  if (s.kind === 'ovs') {
    const datapath = switchDatapath(s, h, ctx);
    const target = ovsTarget(ctx, lab, h);
    const bridge = bridgeCommands({
      name: s.ifname,
      datapath,
      lab: target.lab,
      ...(s.program?.failMode ? { failMode: s.program.failMode } : {}),
      ...(s.program?.protocols ? { protocols: s.program.protocols } : {}),
      ...(s.mac ? { hwaddr: s.mac } : {}),
    });
    add(subject, { op: 'ovs.cmds', ns: h.ns, ...target, cmds: [{ tool: 'vsctl', args: transaction(bridge) }, ...tlvMapCommands(s)], awaitLinks: [s.ifname] }, h.name);
  } else {
    add(subject, { op: 'link.add', ns: h.ns, link: { kind: 'bridge', name: s.ifname, alias: lab.tag, ...(s.mtu ? { mtu: s.mtu } : {}), ...(s.mac ? { mac: s.mac } : {}) } }, h.name);
  }
  // A simulated host's switch without an address is a switch, not a host on the overlay.
  if (h.ns !== '' && !s.addresses.length) quietDevice(add, subject, h.ns, s.ifname, h.name);
  add(subject, { op: 'link.set', ns: h.ns, name: s.ifname, up: true, ...(s.kind === 'ovs' && s.mtu ? { mtu: s.mtu } : {}) }, h.name);
  addAddresses(add, subject, h.ns, s.ifname, s.addresses, h.name);
}

/**
 * The MTU a guest behind `sw` can use without fragmenting inside the tunnel: the smallest
 * underlay MTU minus encapsulation overhead over the tunnels attached to the switch.
 */
export function overlayMtu(lab: Lab, sw: string): number | undefined {
  let best: number | undefined;
  for (const t of lab.tunnels) {
    if (!t.ends.some((e) => e.attach.kind === 'switch' && e.attach.name === sw)) continue;
    const under = tunnelUnderlayMtu(lab, t);
    if (under === undefined) continue;
    const mtu = under - encapOverhead(t.type, t.family, worstOptions(t)) - ipsecOverhead(t);
    best = best === undefined ? mtu : Math.min(best, mtu);
  }
  return best;
}

function planGuest(ctx: Ctx, g: Guest, add: Add) {
  const { lab } = ctx;
  const h = hostOf(lab, g.host);
  const sw = lab.switches.find((s) => s.name === g.switch)!;
  const subject = `guest "${g.name}"`;
  add(subject, { op: 'netns.add', ns: g.ns, tag: lab.tag }, h.name);
  const guestMtu = g.mtu ?? overlayMtu(lab, sw.name);
  const mtu = guestMtu ? { mtu: guestMtu } : {};
  const guestEnd = { name: g.ifname, alias: lab.tag, ...mtu, ...(g.mac ? { mac: g.mac } : {}) };
  const hostEnd = { name: g.peerIfname, alias: lab.tag, ...mtu };
  add(
    subject,
    // On an SSH host the pair is made from the host's side (its namespace has no name to move a
    // peer into), which also gives it an explicit undo there.
    h.ns === ''
      ? { op: 'link.add', ns: '', link: { kind: 'veth', ...hostEnd, peer: { ...guestEnd, ns: g.ns } } }
      : { op: 'link.add', ns: g.ns, link: { kind: 'veth', ...guestEnd, peer: { ...hostEnd, ns: h.ns } } },
    h.name,
  );
  const offload: Record<string, boolean> = {};
  // The switch's end of the pair is a port (on an SSH host: the machine's, left as its admin has it).
  if (h.ns !== '') quietDevice(add, subject, h.ns, g.peerIfname, h.name);
  if (sw.kind === 'bridge') add(subject, { op: 'link.set', ns: h.ns, name: g.peerIfname, master: sw.ifname, up: true }, h.name);
  else {
    const target = ovsTarget(ctx, lab, h);
    add(subject, { op: 'ovs.cmds', ns: h.ns, ...target, cmds: [{ tool: 'vsctl', args: transaction(portCommands({ bridge: sw.ifname, name: g.peerIfname, lab: target.lab })) }] }, h.name);
    add(subject, { op: 'link.set', ns: h.ns, name: g.peerIfname, up: true }, h.name);
    // The userspace datapath does not complete partial checksums: with tx offload on, ICMP
    // passes and TCP silently dies. Off unless the recipe says otherwise.
    if (switchDatapath(sw, h, ctx) === 'netdev') offload.tx = false;
  }
  for (const [k, v] of Object.entries(g.offload)) if (typeof v === 'boolean') offload[k] = v;
  if (Object.keys(offload).length) add(subject, { op: 'offload.set', ns: g.ns, dev: g.ifname, features: offload }, h.name);
  add(subject, { op: 'link.set', ns: g.ns, name: g.ifname, up: true }, h.name);
  addAddresses(add, subject, g.ns, g.ifname, g.addresses, h.name);
  for (const r of g.routes)
    add(subject, { op: 'route.add', ns: g.ns, to: r.to, ...(r.via ? { via: r.via } : {}), dev: r.dev ?? g.ifname }, h.name);
}

/** The kernel netdev for one end of a tunnel. */
export function tunnelLink(lab: Lab, tunnel: Tunnel, end: TunnelEnd): LinkSpec {
  // This end's own values (ends: …) over the tunnel-wide ones.
  const t = endView(tunnel, tunnel.ends.indexOf(end) === 1 ? 1 : 0);
  // No MTU unless the recipe sets one: the kernel's default (1500 for a VXLAN netdev without a
  // lower device) makes it answer oversize packets with "fragmentation needed", so PMTU
  // discovery works for a guest whose MTU is too large; a smaller tunnel MTU would make the
  // bridge drop them silently (a black hole). Guests get the overlay MTU by default instead.
  // On a jumbo underlay that overlay MTU is above 1500: the device then gets it too, or the
  // bridge would drop the guests' full-size frames silently at a 1500-byte tunnel port.
  const under = tunnelUnderlayMtu(lab, t);
  const overlay = under === undefined ? undefined : under - encapOverhead(t.type, t.family, t.options);
  const mtu = t.mtu ?? (overlay !== undefined && overlay > 1500 ? overlay : undefined);
  const base = { name: end.ifname, alias: lab.tag, ...(mtu ? { mtu } : {}), ...(t.mac ? { mac: t.mac } : {}) };
  switch (t.type) {
    case 'geneve': {
      const p = t.geneve ?? {};
      // External: the key (VNI, remote, TTL…) is per packet, set by tc (externalTunnelOp).
      return { ...base, kind: 'geneve', geneve: p.external ? externalLinkParams(p) : { ...p, remote: t.remote, vni: p.vni ?? 0 } };
    }
    case 'vxlan': {
      const p = t.vxlan ?? {};
      return {
        ...base,
        kind: 'vxlan',
        vxlan: { ...(p.external ? externalLinkParams(p) : p), dstport: p.dstport ?? 4789, ...(p.external ? {} : { remote: t.remote, local: end.local, vni: p.vni ?? 0 }) },
      };
    }
    case 'gre':
      return { ...base, kind: end.attach.kind === 'switch' ? 'gretap' : 'gre', gre: { ...(t.gre ?? {}), remote: t.remote, local: end.local } };
  }
}

function planTunnel(ctx: Ctx, t: Tunnel, add: Add) {
  const { lab } = ctx;
  for (const [index, end] of t.ends.entries()) {
    const h = hostOf(lab, end.host);
    const subject = `tunnel "${t.name}" on host "${h.name}"`;
    const sw = end.attach.kind === 'switch' ? lab.switches.find((s) => s.name === end.attach.name) : undefined;
    if (end.impl === 'ovs') {
      if (!sw) throw new Error(`internal: OVS tunnel end of "${t.name}" without a switch`);
      const target = ovsTarget(ctx, lab, h);
      const port = tunnelPortFromModel(t, index as 0 | 1, sw.ifname, target.lab);
      // A flow-based port shared by several tunnels (ends: { X: { port } }) is made once.
      const shared = `${h.name}/${port.name}`;
      planIpsecEndBefore(ctx, lab, t, index as 0 | 1, h, add);
      if (end.overrides?.port === undefined || !ctx.madePorts.has(shared)) add(subject, { op: 'ovs.tunnel', ns: h.ns, ...target, port }, h.name);
      ctx.madePorts.add(shared);
      planIpsecEndAfter(ctx, lab, t, index as 0 | 1, h, add);
      const route = markRoute(ctx, t, index as 0 | 1, h);
      if (route) add(`${subject} egress_pkt_mark route`, route, h.name);
      const flows = optionFlowArgs(lab, t, end, sw.ifname);
      if (flows.length) add(`${subject} Geneve options`, { op: 'ovs.cmds', ns: h.ns, ...target, cmds: flows.map((args) => ({ tool: 'ofctl', args: [...ofctlProtocolArgs(sw.program), ...args] })) }, h.name);
      continue;
    }
    planIpsecEndBefore(ctx, lab, t, index as 0 | 1, h, add);
    add(subject, { op: 'link.add', ns: h.ns, link: tunnelLink(lab, t, end) }, h.name);
    const sw2 = softwareChecksums(ctx, t, index as 0 | 1, h);
    if (sw2) add(`${subject} checksums for the OVS userspace peer`, sw2, h.name);
    const tc = externalTunnelOp(t, index as 0 | 1, h.ns);
    if (tc) add(`${subject} tc tunnel key`, tc, h.name);
    if (sw) add(subject, { op: 'link.set', ns: h.ns, name: end.ifname, master: sw.ifname }, h.name);
    if (sw && !end.address && h.ns !== '') quietDevice(add, subject, h.ns, end.ifname, h.name);
    add(subject, { op: 'link.set', ns: h.ns, name: end.ifname, up: true }, h.name);
    if (end.address) addAddresses(add, subject, h.ns, end.ifname, [end.address], h.name);
  }
}

/** A switch's groups, meters and flows, after all its ports exist (lib/plan/ovs-program.ts). */
function planProgram(ctx: Ctx, s: Switch, add: Add) {
  if (s.kind !== 'ovs') return;
  const cmds = programCommands(s);
  if (!cmds.length) return;
  const h = hostOf(ctx.lab, s.host);
  add(`switch "${s.name}" OpenFlow program`, { op: 'ovs.cmds', ns: h.ns, ...ovsTarget(ctx, ctx.lab, h), cmds }, h.name);
}

/**
 * `ovs.egress_pkt_mark` on the userspace datapath: vswitchd looks the tunnel's route up with the
 * mark, and the routes it learns from the kernel carry none, so without a route of that mark it
 * finds no route and drops every packet. A route to the peer with the mark, through the underlay
 * bridge, makes the port work (on the kernel datapath the mark is an skb mark and needs nothing).
 * SSH hosts run the machine's own OVS service, whose routes are its admin's: nothing is added.
 */
function markRoute(ctx: Ctx, t: Tunnel, index: 0 | 1, h: Host): Op | undefined {
  const v = endView(t, index);
  const mark = v.ovs?.egressPktMark;
  if (mark === undefined || v.remote === 'flow' || h.placement.kind === 'ssh' || ctx.datapathFor(h) !== 'netdev') return undefined;
  const iface = h.interfaces.find((i) => i.network === t.network);
  if (!iface) return undefined;
  const plen = v.remote.includes(':') ? 128 : 32;
  const runDir = ovsRunDir(ctx.runRoot, ctx.lab.name, h.name);
  return { op: 'ovs.cmds', ns: h.ns, runDir, lab: ctx.lab.name, cmds: [{ tool: 'appctl', args: ['ovs/route/add', `${v.remote}/${plen}`, underlayBridgeName(iface.ifname), `pkt_mark=${mark}`] }] };
}

/**
 * A kernel tunnel end whose peer is an OVS port on the userspace datapath: the kernel leaves
 * checksums it can offload (the outer UDP checksum, the inner TCP one) partial on the simulated
 * underlay's veth, which hands the packet over as is, and vswitchd reads it from a packet socket
 * and finds them wrong (outer: "tunnel pop error", every packet dropped; inner: TCP silently
 * dies behind a working ping). With transmit checksum offload off on this host's underlay NIC the
 * kernel computes them before sending. SSH hosts have real NICs that really checksum: untouched.
 */
function softwareChecksums(ctx: Ctx, t: Tunnel, index: 0 | 1, h: Host): Op | undefined {
  if (h.placement.kind !== 'netns') return undefined;
  const peer = t.ends[index === 0 ? 1 : 0];
  if (peer.impl !== 'ovs') return undefined;
  const peerHost = hostOf(ctx.lab, peer.host);
  const peerSwitch = ctx.lab.switches.find((s) => peer.attach.kind === 'switch' && s.name === peer.attach.name);
  if (!peerSwitch || switchDatapath(peerSwitch, peerHost, ctx) !== 'netdev') return undefined;
  const iface = h.interfaces.find((i) => i.network === t.network);
  if (!iface) return undefined;
  return { op: 'offload.set', ns: h.ns, dev: iface.ifname, features: { tx: false } };
}
