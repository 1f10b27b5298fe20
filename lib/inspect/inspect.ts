/**
 * `status LAB`: the lab as it is on the system, node by node — each node's namespace and its
 * interfaces (addresses, MTU, MAC, state, kind) read with `ip -j -d addr` inside it — and tunnel by
 * tunnel — type, VNI, ports, local/remote, options — the recipe's values beside what the kernel
 * (kernel devices) or OVS (OVS ports: its Interface options) reports. Parsing and formatting are
 * pure; `inspectLab` only runs `ip` through the lab's executors.
 */
import type { Executor } from '../exec/executor.js';
import type { Lab, Tunnel } from '../model/types.js';
import type { OvsStatus } from '../ovs/status.js';
import { labLinks } from '../checks/nodes.js';
import type { Engine, LabSummary } from '../engine/engine.js';

export interface InterfaceView {
  ifname: string;
  kind?: string;
  state?: string;
  mtu?: number;
  mac?: string;
  master?: string;
  /** CIDR, link-local ones included (they show the interface is up and IPv6 works). */
  addresses: string[];
  /** The kernel's tunnel attributes (`ip -d`'s info_data) of a tunnel device. */
  tunnel?: Record<string, unknown>;
}

export interface NodeView {
  node: string;
  kind: 'host' | 'guest' | 'router' | 'network';
  /** Its namespace, or undefined for an SSH host's own (then only the lab's links are listed). */
  ns?: string;
  host?: string;
  present: boolean;
  /** The switches it holds (a switch is a bridge in its host's namespace). */
  switches?: string[];
  interfaces: InterfaceView[];
}

export interface TunnelEndView {
  host: string;
  ifname: string;
  impl: 'kernel' | 'ovs';
  local: string;
  remote: string;
  /** Whether the device (kernel) or port (OVS) exists now. */
  present: boolean;
  /** What the kernel or OVS reports for it (kernel info_data, OVS Interface options). */
  live?: Record<string, unknown>;
}

export interface TunnelView {
  name: string;
  type: string;
  vni?: number;
  dstport?: number;
  family: string;
  options: string[];
  ends: TunnelEndView[];
}

export interface LabInspect {
  nodes: NodeView[];
  tunnels: TunnelView[];
}

interface IpAddrLink {
  ifname: string;
  operstate?: string;
  mtu?: number;
  address?: string;
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
  addr_info?: { local?: string; prefixlen?: number }[];
}

/** `ip -j -d addr show` → interfaces (loopback left out: every namespace has it). */
export function parseIpAddr(json: string): InterfaceView[] {
  let list: IpAddrLink[];
  try {
    list = JSON.parse(json.trim() || '[]') as IpAddrLink[];
  } catch {
    return [];
  }
  return list
    .filter((l) => l.ifname !== 'lo')
    .map((l) => {
      const kind = l.linkinfo?.info_kind;
      const tunnel = kind && /^(geneve|vxlan|gre|gretap|ip6gre|ip6gretap)$/.test(kind) ? l.linkinfo?.info_data : undefined;
      return {
        ifname: l.ifname,
        ...(kind ? { kind } : {}),
        ...(l.operstate ? { state: l.operstate } : {}),
        ...(l.mtu !== undefined ? { mtu: l.mtu } : {}),
        ...(l.address ? { mac: l.address } : {}),
        ...(l.master ? { master: l.master } : {}),
        addresses: (l.addr_info ?? []).filter((a) => a.local).map((a) => `${a.local}/${a.prefixlen}`),
        ...(tunnel ? { tunnel } : {}),
      };
    });
}

/** The namespaces a lab's nodes are in, in recipe order: hosts (with their switches), guests, routers, networks. */
export function nodePlaces(lab: Lab): Omit<NodeView, 'present' | 'interfaces'>[] {
  const out: Omit<NodeView, 'present' | 'interfaces'>[] = [];
  for (const h of lab.hosts) {
    const switches = lab.switches.filter((s) => s.host === h.name).map((s) => s.name);
    out.push({ node: h.name, kind: 'host', host: h.name, ...(h.placement.kind === 'netns' ? { ns: h.ns } : {}), ...(switches.length ? { switches } : {}) });
  }
  for (const g of lab.guests) {
    const onSsh = lab.hosts.find((h) => h.name === g.host)?.placement.kind === 'ssh';
    out.push({ node: g.name, kind: 'guest', host: g.host, ...(onSsh ? {} : { ns: g.ns }) });
  }
  for (const r of lab.routers ?? []) out.push({ node: r.name, kind: 'router', ns: r.ns });
  for (const n of lab.networks) if (n.ns) out.push({ node: n.name, kind: 'network', ns: n.ns });
  return out;
}

const vniOf = (t: Tunnel) => (t.type === 'gre' ? t.gre?.key : t.type === 'geneve' ? t.geneve?.vni : t.vxlan?.vni) ?? (typeof t.ovs?.key === 'number' ? t.ovs.key : undefined);
const portOf = (t: Tunnel) => (t.type === 'gre' ? undefined : ((t.type === 'geneve' ? t.geneve?.dstport : t.vxlan?.dstport) ?? (t.type === 'geneve' ? 6081 : 4789)));

/** Tunnels from the model, each end with what the system says about it. */
export function tunnelViews(lab: Lab, nodes: readonly NodeView[], ovs: readonly { host: string; status?: OvsStatus }[]): TunnelView[] {
  return lab.tunnels.map((t) => {
    const vni = vniOf(t);
    const dstport = portOf(t);
    return {
      name: t.name,
      type: t.type,
      ...(vni !== undefined ? { vni } : {}),
      ...(dstport !== undefined ? { dstport } : {}),
      family: t.family,
      options: t.options.map((o) => `${o.class.toString(16).padStart(4, '0')}:${o.type.toString(16).padStart(2, '0')}=${o.data || '-'}`),
      ends: t.ends.map((e) => {
        let live: Record<string, unknown> | undefined;
        let present = false;
        if (e.impl === 'kernel') {
          const i = nodes.find((n) => n.kind === 'host' && n.node === e.host)?.interfaces.find((x) => x.ifname === e.ifname);
          present = Boolean(i);
          live = i?.tunnel;
        } else {
          const st = ovs.find((o) => o.host === e.host)?.status;
          const iface = st?.bridges.flatMap((b) => b.ports.flatMap((p) => p.interfaces)).find((x) => x.name === e.ifname);
          present = Boolean(iface);
          if (iface) live = { type: iface.type, ...iface.options, ...(iface.ofport !== undefined ? { ofport: iface.ofport } : {}), ...(iface.error ? { error: iface.error } : {}) };
        }
        return { host: e.host, ifname: e.ifname, impl: e.impl, local: e.local, remote: e.remote, present, ...(live ? { live } : {}) };
      }),
    };
  });
}

/** Read every node's interfaces (`ip -j -d addr` in its namespace) and put the tunnels beside them. */
export async function inspectLab(
  lab: Lab,
  execFor: (host?: string) => Executor,
  presentNs: ReadonlySet<string>,
  ovs: readonly { host: string; status?: OvsStatus }[] = [],
): Promise<LabInspect> {
  const nodes: NodeView[] = [];
  for (const p of nodePlaces(lab)) {
    const ex = execFor(p.kind === 'router' || p.kind === 'network' ? undefined : p.host);
    const present = p.ns === undefined || presentNs.has(p.ns);
    let interfaces: InterfaceView[] = [];
    if (present) {
      const r = await ex.run(p.ns ? ['ip', '-n', p.ns, '-j', '-d', 'addr', 'show'] : ['ip', '-j', '-d', 'addr', 'show'], { timeoutMs: 10_000 });
      interfaces = r.exitCode === 0 ? parseIpAddr(r.stdout) : [];
      // An SSH host's own namespace holds the machine's interfaces too: only the lab's are shown.
      if (!p.ns) {
        const mine = new Set(labLinks(lab, p.node).map((l) => l.ifname));
        interfaces = interfaces.filter((i) => mine.has(i.ifname));
      }
    }
    nodes.push({ ...p, present, interfaces });
  }
  return { nodes, tunnels: tunnelViews(lab, nodes, ovs) };
}

/** The inspect view of a lab `engine.status` just summarised (its SSH hosts are connected then). */
export async function inspectRecorded(engine: Engine, summary: LabSummary): Promise<LabInspect | undefined> {
  const st = engine.store.read(summary.lab);
  if (!st) return undefined;
  const present = new Set(summary.namespaces.filter((n) => n.present).map((n) => n.name));
  return inspectLab(st.model, (h) => engine.execFor(h), present, summary.ovs ?? []);
}

const pad = (s: string, n: number) => (s.length >= n ? s + ' ' : s.padEnd(n));

/** The inspect view as text: a block per node, an interface a line; then a line per tunnel end. */
export function formatInspect(v: LabInspect): string {
  const out: string[] = [];
  for (const n of v.nodes) {
    const where = n.ns ? `netns ${n.ns}` : `host "${n.host}" (its own namespace)`;
    out.push(`  ${n.kind} ${n.node} — ${where}${n.present ? '' : ' (MISSING)'}${n.switches ? ` · switches: ${n.switches.join(', ')}` : ''}`);
    for (const i of n.interfaces)
      out.push(
        `    ${pad(i.ifname, 16)}${pad(i.kind ?? '', 9)}${pad(i.state ?? '', 8)}${pad(i.mtu !== undefined ? `mtu ${i.mtu}` : '', 10)}${pad(i.mac ?? '', 18)}${i.addresses.join(' ')}${i.master ? ` (on ${i.master})` : ''}`.trimEnd(),
      );
  }
  if (v.tunnels.length) out.push('  tunnels');
  for (const t of v.tunnels) {
    out.push(`    ${t.name}: ${t.type}${t.vni !== undefined ? ` vni ${t.vni}` : ''}${t.dstport !== undefined ? ` port ${t.dstport}` : ''} ${t.family}${t.options.length ? ` options ${t.options.join(' ')}` : ''}`);
    for (const e of t.ends) {
      const live = e.live ? Object.entries(e.live).filter(([, x]) => x !== '' && x !== undefined).map(([k, x]) => `${k}=${typeof x === 'object' ? JSON.stringify(x) : String(x)}`).join(' ') : '';
      out.push(`      ${pad(e.host, 10)}${pad(`${e.ifname} (${e.impl})`, 22)}${e.local} → ${e.remote}${e.present ? '' : ' MISSING'}${live ? `  [${live}]` : ''}`);
    }
  }
  return out.join('\n') + '\n';
}
