/**
 * A lab as a picture: hosts (boxes holding their switches and guests), networks with their MTU,
 * routers, tunnels labelled with type/VNI/port, and — when a results file is given — each check as
 * a dashed edge (or a legend line) carrying its verdict. Pure: one neutral graph here, rendered as
 * Graphviz DOT and Mermaid by lib/graph/render.ts (SVG through Graphviz compiled to wasm).
 */
import type { Lab, Tunnel } from '../model/types.js';
import type { CheckStatus } from '../checks/result.js';

export type NodeShape = 'host' | 'switch' | 'guest' | 'network' | 'router';

export interface GraphNode {
  id: string;
  shape: NodeShape;
  /** Lines of the label: the name first, then details. */
  label: string[];
  /** The host box it is drawn in (switches and guests). */
  parent?: string;
}

export type EdgeKind = 'attach' | 'underlay' | 'tunnel' | 'check';

export interface GraphEdge {
  from: string;
  to: string;
  kind: EdgeKind;
  label: string[];
  /** Check edges: the verdict (colours the edge). */
  status?: CheckStatus;
}

export interface LabGraph {
  name: string;
  description?: string;
  hosts: { id: string; label: string[] }[];
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Checks with no from/to pair (capture, state, log…): listed beside the picture. */
  legend: { name: string; status?: CheckStatus }[];
}

/** Ids safe for both DOT and Mermaid: a kind prefix and the name with "-" replaced. */
export const nodeId = (kind: string, name: string) => `${kind}_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;

/** type, VNI/key, UDP port (and options) of a tunnel, in a few words. */
export function tunnelLabel(t: Tunnel): string[] {
  const p = t.type === 'geneve' ? t.geneve : t.type === 'vxlan' ? t.vxlan : undefined;
  const vni = t.type === 'gre' ? t.gre?.key : (p?.vni ?? (typeof t.ovs?.key === 'number' ? t.ovs.key : undefined));
  const head = [t.type, vni !== undefined ? `${t.type === 'gre' ? 'key' : 'VNI'} ${vni}` : '', t.type === 'gre' ? '' : `port ${p?.dstport ?? (t.type === 'geneve' ? 6081 : 4789)}`].filter(Boolean).join(' · ');
  const lines = [t.name, head];
  const impl = t.ends[0].impl === t.ends[1].impl ? t.ends[0].impl : `${t.ends[0].impl}/${t.ends[1].impl}`;
  lines.push(`${impl}${t.family === 'ipv6' ? ' · IPv6' : ''}${t.mtu !== undefined ? ` · mtu ${t.mtu}` : ''}${t.ipsec ? ' · IPsec' : ''}`);
  if (t.options.length) lines.push('opts ' + t.options.map((o) => `${o.class.toString(16).padStart(4, '0')}:${o.type.toString(16).padStart(2, '0')}`).join(','));
  return lines;
}

/** Verdicts by check name, from what `up/check/run --json` print (with or without an envelope) or a bare array. */
export function verdictsOf(json: unknown): Map<string, CheckStatus> {
  const list = Array.isArray(json) ? json : ((json as { checks?: unknown })?.checks ?? (json as { results?: unknown })?.results);
  const out = new Map<string, CheckStatus>();
  if (!Array.isArray(list)) return out;
  for (const r of list as { name?: unknown; status?: unknown }[])
    if (typeof r?.name === 'string' && typeof r.status === 'string') out.set(r.name, r.status as CheckStatus);
  return out;
}

const ICON: Record<CheckStatus, string> = { passed: '✔', failed: '✘', error: '!', skipped: '–' };
export const verdictText = (s: CheckStatus | undefined) => (s ? `${ICON[s]} ${s}` : 'not run');

export function labGraph(lab: Lab, verdicts?: Map<string, CheckStatus>): LabGraph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const hostId = (h: string) => nodeId('host', h);
  const netId = (n: string) => nodeId('net', n);
  // A node name → its graph id (checks and tunnels name hosts, switches, guests, routers).
  const idOf = new Map<string, string>();

  for (const n of lab.networks) nodes.push({ id: netId(n.name), shape: 'network', label: [n.name, `MTU ${n.mtu}`] });
  const hosts = lab.hosts.map((h) => ({ id: hostId(h.name), label: [`host ${h.name}`, h.placement.kind === 'ssh' ? `ssh ${h.placement.target}` : 'simulated (netns)'] }));
  for (const h of lab.hosts) {
    // The host's own NIC endpoint inside its box: underlay edges start here.
    nodes.push({ id: nodeId('nic', h.name), shape: 'host', label: [`${h.name} NICs`, ...h.interfaces.flatMap((i) => i.addresses)], parent: hostId(h.name) });
    idOf.set(h.name, nodeId('nic', h.name));
    for (const i of h.interfaces) edges.push({ from: nodeId('nic', h.name), to: netId(i.network), kind: 'underlay', label: [i.ifname, ...(i.mtu !== lab.networks.find((n) => n.name === i.network)?.mtu ? [`mtu ${i.mtu}`] : [])] });
  }
  for (const s of lab.switches) {
    const id = nodeId('sw', s.name);
    idOf.set(s.name, id);
    nodes.push({ id, shape: 'switch', parent: hostId(s.host), label: [s.name, s.kind === 'ovs' ? `OVS${s.datapath ? ` (${s.datapath})` : ''}` : 'Linux bridge', ...s.addresses] });
  }
  for (const g of lab.guests) {
    const id = nodeId('guest', g.name);
    idOf.set(g.name, id);
    nodes.push({ id, shape: 'guest', parent: hostId(g.host), label: [g.name, ...g.addresses, ...(g.mtu !== undefined ? [`mtu ${g.mtu}`] : [])] });
    edges.push({ from: id, to: nodeId('sw', g.switch), kind: 'attach', label: [g.ifname] });
  }
  for (const r of lab.routers ?? []) {
    const id = nodeId('router', r.name);
    idOf.set(r.name, id);
    nodes.push({ id, shape: 'router', label: [r.name, 'router'] });
    for (const i of r.interfaces) edges.push({ from: id, to: netId(i.network), kind: 'underlay', label: [i.ifname, ...i.addresses] });
  }
  for (const t of lab.tunnels) {
    const end = (e: Tunnel['ends'][number]) => (e.attach.kind === 'switch' ? nodeId('sw', e.attach.name) : nodeId('nic', e.attach.name));
    edges.push({ from: end(t.ends[0]), to: end(t.ends[1]), kind: 'tunnel', label: tunnelLabel(t) });
  }
  const legend: LabGraph['legend'] = [];
  for (const c of lab.checks) {
    const from = (c as { from?: string }).from;
    const to = (c as { to?: string }).to;
    const status = verdicts?.get(c.name);
    if (from && to && idOf.has(from) && idOf.has(to)) edges.push({ from: idOf.get(from)!, to: idOf.get(to)!, kind: 'check', label: [`${c.name}`, ...(verdicts ? [verdictText(status)] : [c.kind])], ...(status ? { status } : {}) });
    else legend.push({ name: `${c.name} (${c.kind})`, ...(status ? { status } : {}) });
  }
  return { name: lab.name, ...(lab.description ? { description: lab.description } : {}), hosts, nodes, edges, legend: verdicts || legend.length ? legend : [] };
}
