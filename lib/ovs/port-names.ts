/**
 * Recipe port names in OpenFlow text. A recipe says `in_port=left,actions=output:tun0`; on the
 * switch those ports are called what the lab created (the guest's veth end `left`, or on an SSH
 * host `mylab-left`; the tunnel's port `tun0`, maybe shortened). This module finds the places in a
 * flow (match and actions) where ovs-ofctl expects a port, and maps recipe names to the real
 * names, so flows, `ovs` steps and `packet_out` can be written with the names of the recipe.
 *
 * API (shared by switch `flows:` and scenario steps):
 *   switchPorts(lab, switchName)        → the switch's bridge and its recipe-name → port-name map
 *   flowPortRefs(flow)                  → where the flow names ports (match and actions)
 *   resolveFlowPorts(flow, ports)       → the flow with recipe names replaced, and unknown names
 *   resolvePortName(name, ports)        → one port reference (in_port of packet-out)
 *   resolveArgs(args, ports)            → whole words of vsctl/appctl arguments (and flows in them)
 * Port numbers, OVS's reserved ports (LOCAL, IN_PORT, CONTROLLER, NORMAL, FLOOD, ALL, NONE, TABLE,
 * ANY, UNSET), field references (NXM_OF_IN_PORT[], reg0[0..15]) and the real port names pass as
 * written.
 */
import type { Lab } from '../model/types.js';

export interface SwitchPorts {
  switch: string;
  /** The bridge name on its host. */
  bridge: string;
  /** Recipe name → the OVS port name: guests on the switch, tunnels with an end on it, the switch itself (its LOCAL port is named like the bridge). */
  ports: Map<string, string>;
}

export const RESERVED_PORTS = ['LOCAL', 'IN_PORT', 'CONTROLLER', 'NORMAL', 'FLOOD', 'ALL', 'NONE', 'TABLE', 'ANY', 'UNSET'] as const;

export function switchPorts(lab: Lab, switchName: string): SwitchPorts {
  const sw = lab.switches.find((s) => s.name === switchName);
  if (!sw) throw new Error(`unknown switch "${switchName}"`);
  const ports = new Map<string, string>();
  ports.set(sw.name, sw.ifname);
  for (const g of lab.guests) if (g.switch === sw.name) ports.set(g.name, g.peerIfname);
  for (const t of lab.tunnels)
    for (const e of t.ends) if (e.attach.kind === 'switch' && e.attach.name === sw.name) ports.set(t.name, e.ifname);
  return { switch: sw.name, bridge: sw.ifname, ports };
}

export interface PortRef {
  /** The name as written. */
  name: string;
  start: number;
  end: number;
  /** A bare item of the action list (`actions=left`): a port, or an action word like drop. */
  bare?: boolean;
}

const PORT_TOKEN = '[A-Za-z0-9_.-]+';

/**
 * Where a flow (ovs-ofctl syntax) names a port: `in_port=P` and `out_port=P` in the match;
 * `output:P`, `output(port=P…)`, `enqueue:P:Q`, `enqueue(P,Q)`, `resubmit:P`, `resubmit(P,T)` and
 * a bare `P` item in the action list (OpenFlow's shorthand for output).
 */
export function flowPortRefs(flow: string): PortRef[] {
  const refs: PortRef[] = [];
  const at = actionsStart(flow);
  const match = at < 0 ? flow : flow.slice(0, at);
  const add = (re: RegExp, text: string, offset: number) => {
    for (const m of text.matchAll(re)) {
      const name = m[2]!;
      if (!name) continue;
      const start = offset + m.index! + m[1]!.length;
      refs.push({ name, start, end: start + name.length });
    }
  };
  add(new RegExp(`((?:^|[\\s,])(?:in_port|out_port)\\s*=\\s*)(${PORT_TOKEN})`, 'g'), match, 0);
  if (at >= 0) {
    const actions = flow.slice(at);
    add(new RegExp(`((?:^|[\\s,(=])(?:output|enqueue|resubmit):)(${PORT_TOKEN})`, 'g'), actions, at);
    add(new RegExp(`((?:^|[\\s,(=])output\\(\\s*port\\s*=\\s*)(${PORT_TOKEN})`, 'g'), actions, at);
    add(new RegExp(`((?:^|[\\s,(=])(?:enqueue|resubmit)\\(\\s*)(${PORT_TOKEN})`, 'g'), actions, at);
    // Bare items of the top-level action list: `actions=left,tun0`.
    let depth = 0;
    let itemStart = at;
    for (let i = at; i <= flow.length; i++) {
      const c = flow[i];
      if (c === '(') depth++;
      else if (c === ')') depth--;
      if (i === flow.length || (c === ',' && depth === 0)) {
        const raw = flow.slice(itemStart, i);
        const lead = raw.length - raw.trimStart().length;
        const item = raw.trim();
        if (new RegExp(`^${PORT_TOKEN}$`).test(item)) refs.push({ name: item, start: itemStart + lead, end: itemStart + lead + item.length, bare: true });
        itemStart = i + 1;
      }
    }
  }
  return refs.sort((a, b) => a.start - b.start).filter((r, i, all) => i === 0 || r.start !== all[i - 1]!.start);
}

/** Offset just after `actions=` (or `apply_actions(`-less ofctl spelling), or -1 without actions. */
function actionsStart(flow: string): number {
  const m = /(?:^|[\s,])actions\s*=\s*/.exec(flow);
  return m ? m.index + m[0].length : -1;
}

/** The real name of one port reference, or undefined when it names nothing on this switch. */
export function resolvePortName(name: string, ports: SwitchPorts): string | undefined {
  const mapped = ports.ports.get(name);
  if (mapped !== undefined) return mapped;
  if (/^\d+$/.test(name) || /^0x[0-9a-f]+$/i.test(name)) return name;
  if ((RESERVED_PORTS as readonly string[]).includes(name.toUpperCase())) return name;
  if ([...ports.ports.values()].includes(name)) return name;
  return undefined;
}

/** Words that are not ports at all in a bare action position (drop, normal, controller, …). */
const BARE_ACTIONS = /^(drop|normal|flood|all|local|in_port|controller|strip_vlan|pop_vlan|dec_ttl|pop_mpls|push_mpls|exit|ct_clear|pop_nsh|push_nsh|dec_nsh_ttl|dec_mpls_ttl|pop_queue|fin_timeout|check_pkt_larger|clear_actions|nat)$/i;

/**
 * The flow with every recipe port name replaced by the switch's real port name, and the names that
 * are neither recipe ports of this switch, real ports, numbers nor reserved ports.
 */
export function resolveFlowPorts(flow: string, ports: SwitchPorts): { text: string; unknown: string[] } {
  const unknown: string[] = [];
  let out = '';
  let last = 0;
  for (const r of flowPortRefs(flow)) {
    // A field reference (output:NXM_NX_REG0[0..15], output:reg1[]) names no port.
    if (flow[r.end] === '[') continue;
    const bare = r.bare === true;
    if (bare && BARE_ACTIONS.test(r.name)) continue;
    if (bare && /^[a-z_]+$/.test(r.name) && !ports.ports.has(r.name)) continue; // an action word we do not list: leave it to ovs-ofctl
    const real = resolvePortName(r.name, ports);
    if (real === undefined) {
      unknown.push(r.name);
      continue;
    }
    out += flow.slice(last, r.start) + real;
    last = r.end;
  }
  return { text: out + flow.slice(last), unknown: [...new Set(unknown)] };
}

/**
 * vsctl/appctl arguments: a word that is exactly a recipe name of this switch's ports (or the
 * switch) becomes the real name; a word that looks like a flow (has `in_port=`, `actions=`…) gets
 * its port references resolved.
 */
export function resolveArgs(args: readonly string[], ports: SwitchPorts): { args: string[]; unknown: string[] } {
  const unknown: string[] = [];
  const out = args.map((a) => {
    const mapped = ports.ports.get(a);
    if (mapped !== undefined) return mapped;
    if (/(?:^|[\s,])(?:in_port|out_port|actions)\s*=/.test(a)) {
      const r = resolveFlowPorts(a, ports);
      unknown.push(...r.unknown);
      return r.text;
    }
    return a;
  });
  return { args: out, unknown };
}
