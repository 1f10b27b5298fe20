/**
 * Where the checks that look run: a lab node (host, guest or switch) as a namespace on an
 * executor, the links the lab makes in that namespace (so a recipe's `interface`/`link` can be
 * validated and recipe names translated), and the OVS instance of a host (the lab's own daemons
 * on a simulated host, the machine's service on an SSH host) with its sockets and log.
 * Pure except `nodeAccess`/`ovsAccess`, which only pick executors from the check context.
 */
import type { Executor } from '../exec/executor.js';
import type { Lab } from '../model/types.js';
import { DEFAULT_OVS_DB, hostUsesOvs, ovsRunDir, underlayBridgeName } from '../plan/ovs.js';
import { ovsEnv, ovsPaths } from '../ovs/paths.js';
import { parseCidr, sameAddress } from '../recipe/addr.js';
import type { CheckContext, Endpoint } from './context.js';

export type NodeKind = 'host' | 'guest' | 'switch' | 'router';

/** The kind of a node name and the host it lives on; undefined when the lab has no such node. */
export function nodeOf(lab: Lab, name: string): { kind: NodeKind; host: string } | undefined {
  if (lab.hosts.some((h) => h.name === name)) return { kind: 'host', host: name };
  const g = lab.guests.find((x) => x.name === name);
  if (g) return { kind: 'guest', host: g.host };
  const s = lab.switches.find((x) => x.name === name);
  if (s) return { kind: 'switch', host: s.host };
  // A router is a namespace of this machine of its own (routers are always simulated).
  if (lab.routers?.some((x) => x.name === name)) return { kind: 'router', host: name };
  return undefined;
}

/** Devices OVS itself makes in a host's namespace (datapath ports, the kernel datapath's tunnel devices). */
export const OVS_DEVICE_RE = /^(ovs-system|ovs-netdev|(genev|vxlan|gre|stt|erspan|ip6erspan|ip6gre|gtpu|bareudp)_sys(_\d+)?)$/;

export interface LabLink {
  ifname: string;
  /** For messages: `underlay NIC on network "underlay"`, `port of guest "left"`. */
  what: string;
  /** The recipe name that also designates it (network, tunnel, guest, switch). */
  alias?: string;
}

/** Links the lab makes in the namespace of `node` (a switch means its host's namespace). */
export function labLinks(lab: Lab, node: string): LabLink[] {
  const n = nodeOf(lab, node);
  if (!n) return [];
  const out: LabLink[] = [{ ifname: 'lo', what: 'loopback' }];
  if (n.kind === 'guest') {
    const g = lab.guests.find((x) => x.name === node)!;
    out.push({ ifname: g.ifname, what: `NIC of guest "${g.name}"`, alias: g.name });
    return out;
  }
  if (n.kind === 'router') {
    for (const i of lab.routers!.find((x) => x.name === node)!.interfaces) out.push({ ifname: i.ifname, what: `router interface on network "${i.network}"`, alias: i.network });
    return out;
  }
  const h = lab.hosts.find((x) => x.name === n.host)!;
  const ovs = hostUsesOvs(lab, h.name);
  for (const i of h.interfaces) {
    out.push({ ifname: i.ifname, what: `underlay NIC on network "${i.network}"`, alias: i.network });
    // The userspace datapath puts the NIC on an OVS bridge that owns the address (lib/plan/plan.ts).
    if (ovs && h.placement.kind === 'netns') out.push({ ifname: underlayBridgeName(i.ifname), what: `OVS bridge holding the underlay NIC "${i.ifname}" (userspace datapath)` });
  }
  for (const s of lab.switches.filter((x) => x.host === h.name)) out.push({ ifname: s.ifname, what: `${s.kind === 'ovs' ? 'OVS bridge' : 'bridge'} of switch "${s.name}"`, alias: s.name });
  for (const g of lab.guests.filter((x) => x.host === h.name)) out.push({ ifname: g.peerIfname, what: `port of guest "${g.name}"`, alias: g.name });
  for (const t of lab.tunnels)
    for (const e of t.ends)
      if (e.host === h.name && e.impl === 'kernel') out.push({ ifname: e.ifname, what: `tunnel "${t.name}" (kernel ${t.type} device)`, alias: t.name });
  return out;
}

/**
 * A recipe's link reference in `node`'s namespace → the interface name: a network, tunnel,
 * switch or guest name of the recipe, or an interface name the lab makes there, or a device OVS
 * makes itself. Undefined when it names nothing there.
 */
export function resolveLink(lab: Lab, node: string, name: string): string | undefined {
  const links = labLinks(lab, node);
  const byAlias = links.find((l) => l.alias === name);
  if (byAlias) return byAlias.ifname;
  if (links.some((l) => l.ifname === name)) return name;
  const n = nodeOf(lab, node);
  if (n && n.kind !== 'guest' && n.kind !== 'router' && hostUsesOvs(lab, n.host) && OVS_DEVICE_RE.test(name)) return name;
  return undefined;
}

/** "its links: underlay (underlay NIC …), …" for error messages. */
export function describeLinks(lab: Lab, node: string): string {
  return labLinks(lab, node)
    .map((l) => (l.alias && l.alias !== l.ifname ? `${l.alias} (${l.ifname})` : l.ifname))
    .join(', ');
}

/** The OVS port name of a recipe name (tunnel, guest) on switch `sw`, or the name itself. */
export function ovsPortName(lab: Lab, sw: string, name: string): string {
  const t = lab.tunnels.find((x) => x.name === name);
  const end = t?.ends.find((e) => e.attach.kind === 'switch' && e.attach.name === sw);
  if (end) return end.ifname;
  const g = lab.guests.find((x) => x.name === name && x.switch === sw);
  if (g) return g.peerIfname;
  return name;
}

/** A node as a namespace on an executor. */
export interface NodeAccess {
  name: string;
  kind: NodeKind;
  host: string;
  /** undefined = the executor's own namespace (an SSH host). */
  ns?: string;
  exec: Executor;
}

export function nodeAccess(ctx: CheckContext, name: string): NodeAccess {
  const n = nodeOf(ctx.lab, name);
  if (!n) throw new Error(`unknown node "${name}": not a host, guest, switch or router of lab "${ctx.lab.name}"`);
  const ep = ctx.endpoint(name);
  return { name, kind: n.kind, host: n.host, ...(ep.ns ? { ns: ep.ns } : {}), exec: ep.exec };
}

/** The OVS instance of a host, as argv prefixes and files. */
export interface OvsAccess {
  host: string;
  exec: Executor;
  ns?: string;
  env: Record<string, string>;
  /** The lab's own daemons (simulated host) or the machine's service (SSH host). */
  owned: boolean;
  dbSocket: string;
  /** vswitchd's unixctl socket; undefined = found through OVS_RUNDIR (a service). */
  vswitchdCtl?: string;
  /** ovs-vswitchd's log file. */
  log: string;
  vsctl(args: readonly string[]): string[];
  ofctl(args: readonly string[]): string[];
  appctl(args: readonly string[]): string[];
}

export const SERVICE_VSWITCHD_LOG = '/var/log/openvswitch/ovs-vswitchd.log';
const DEFAULT_RUN_ROOT = '/run/geneve-lab/run';

/** Where the OVS of `host` is, by the same rules as the planner (lib/plan/ovs.ts ovsTarget). */
export function ovsLocation(lab: Lab, host: string, runRoot = DEFAULT_RUN_ROOT, logFile?: string): Omit<OvsAccess, 'exec' | 'vsctl' | 'ofctl' | 'appctl'> {
  const h = lab.hosts.find((x) => x.name === host);
  if (!h) throw new Error(`unknown host "${host}"`);
  if (!hostUsesOvs(lab, host)) throw new Error(`host "${host}" runs no OVS in this lab (no switch with kind: ovs on it)`);
  if (h.placement.kind === 'ssh') {
    const db = (h.ovs?.db ?? DEFAULT_OVS_DB).replace(/^unix:/, '');
    const runDir = db.slice(0, db.lastIndexOf('/')) || '/';
    return { host, env: ovsEnv(runDir), owned: false, dbSocket: db, log: logFile ?? SERVICE_VSWITCHD_LOG };
  }
  const p = ovsPaths(ovsRunDir(runRoot, lab.name, host));
  return { host, ns: h.ns, env: ovsEnv(p.runDir), owned: true, dbSocket: p.dbSocket, vswitchdCtl: p.vswitchdCtl, log: p.vswitchdLog };
}

export function ovsAccess(ctx: CheckContext, host: string, logFile?: string): OvsAccess {
  const loc = ovsLocation(ctx.lab, host, ctx.runRoot, logFile);
  const exec = ctx.endpoint(host).exec;
  return {
    ...loc,
    exec,
    vsctl: (args) => ['ovs-vsctl', `--db=unix:${loc.dbSocket}`, '--timeout=5', ...args],
    ofctl: (args) => ['ovs-ofctl', '--timeout=5', ...args],
    appctl: (args) => ['ovs-appctl', '--timeout=5', ...(loc.vswitchdCtl ? ['-t', loc.vswitchdCtl] : []), ...args],
  };
}

/** Whether `s` is a literal IP address rather than a node name. */
export function isLiteralAddress(s: string): boolean {
  return /^[0-9a-fA-F:.]+$/.test(s) && (s.includes('.') || s.includes(':'));
}

/** The lab node that has `address` (a guest, host or switch), or undefined. */
export function nodeWithAddress(lab: Lab, address: string): string | undefined {
  const has = (list: readonly string[]) => list.some((a) => sameAddress(a.split('/')[0]!, address));
  for (const g of lab.guests) if (has(g.addresses)) return g.name;
  for (const s of lab.switches) if (has(s.addresses)) return s.name;
  for (const h of lab.hosts) {
    if (has(h.interfaces.flatMap((i) => i.addresses))) return h.name;
    if (has(lab.tunnels.flatMap((t) => t.ends.filter((e) => e.host === h.name && e.address).map((e) => e.address!)))) return h.name;
  }
  return undefined;
}

/**
 * The endpoint a server (iperf3, a transfer's receiver) runs on for `to`: the node of that name,
 * or, for a literal address, the lab node that has it.
 */
export function serverEndpoint(ctx: CheckContext, to: string): Endpoint {
  if (!isLiteralAddress(to)) return ctx.endpoint(to);
  const owner = nodeWithAddress(ctx.lab, to);
  if (!owner) throw new Error(`no guest, host or switch of the lab has address ${to}; the server side must run on a lab node`);
  return ctx.endpoint(owner);
}

/** The underlay addresses of two hosts on a network they share (IPv4 preferred). */
export function underlayPair(lab: Pick<Lab, 'hosts'>, a: string, b: string, family?: 'ipv4' | 'ipv6'): { from: string; to: string; family: 'ipv4' | 'ipv6' } | undefined {
  const ha = lab.hosts.find((h) => h.name === a);
  const hb = lab.hosts.find((h) => h.name === b);
  if (!ha || !hb) return undefined;
  for (const fam of family ? [family] : (['ipv4', 'ipv6'] as const)) {
    for (const ia of ha.interfaces) {
      const ib = hb.interfaces.find((i) => i.network === ia.network);
      if (!ib) continue;
      const x = ia.addresses.map((c) => parseCidr(c)!).find((c) => c.family === fam);
      const y = ib.addresses.map((c) => parseCidr(c)!).find((c) => c.family === fam);
      if (x && y) return { from: x.address, to: y.address, family: fam };
    }
  }
  return undefined;
}
