/**
 * Everything one host's OVS needs for a lab, as data: bridges, the userspace datapath's
 * underlay bridge, plain/guest ports and tunnel ports in ONE ovs-vsctl transaction, then the
 * kernel-side settings (addresses, MTU, offloads), then TLV maps and option flows.
 * `applyOvsHost` runs it and reads back Interface.error for every port it created.
 */
import { OpError } from '../errors.js';
import type { CommandPlan, OvsCommand } from './commands.js';
import type { Datapath } from './datapath.js';
import type { OvsInstance } from './instance.js';
import { guestPortPlan, underlayBridgePlan, type GuestPortSpec, type UnderlayBridgeSpec } from './plumbing.js';
import { addTlvMapArgs, optionFlows, type OptionFlowSpec } from './tlv.js';
import { tunnelPortCommands, type TunnelPortSpec } from './tunnel-port.js';
import { bridgeCommands, delBridgeCommand, delPortCommand, portCommands, transaction, type VsctlCommand } from './vsctl.js';

export interface OvsHostSpec {
  lab: string;
  /** Namespace of the simulated host (undefined: the machine itself). */
  ns?: string;
  datapath: Datapath;
  /** netdev datapath: the underlay port whose addresses move to an OVS bridge (default br-phy). Ignored on `system`. */
  underlay?: Omit<UnderlayBridgeSpec, 'lab' | 'ns' | 'bridge'> & { bridge?: string };
  bridges: { name: string; addresses?: string[]; mtu?: number }[];
  /** Extra plain ports (existing netdevs or OVS internal ports). */
  ports?: { bridge: string; name: string; type?: 'system' | 'internal'; ofport?: number; addresses?: string[] }[];
  tunnels?: Omit<TunnelPortSpec, 'lab'>[];
  guests?: Omit<GuestPortSpec, 'lab' | 'hostNs'>[];
  /** Geneve options set/matched by flows; the TLV map is installed once per bridge. */
  optionFlows?: OptionFlowSpec[];
}

export function ovsHostPlan(h: OvsHostSpec): CommandPlan {
  const { lab, ns } = h;
  const ip = (...a: string[]): OvsCommand => ({ tool: 'exec', ...(ns ? { ns } : {}), argv: ['ip', ...a] });
  const underlay =
    h.datapath === 'netdev' && h.underlay ? underlayBridgePlan({ ...h.underlay, lab, ...(ns ? { ns } : {}), bridge: h.underlay.bridge ?? 'br-phy' }) : undefined;
  const guests = (h.guests ?? []).map((g) => guestPortPlan({ ...g, lab, ...(ns ? { hostNs: ns } : {}) }));

  // One transaction for every bridge and port on this host.
  const vsctl: VsctlCommand[] = [
    ...h.bridges.flatMap((b) => bridgeCommands({ name: b.name, datapath: h.datapath, lab })),
    ...(h.ports ?? []).flatMap((p) => portCommands({ ...p, lab })),
    ...(h.tunnels ?? []).flatMap((t) => tunnelPortCommands({ ...t, lab })),
    ...(h.guests ?? []).flatMap((g) => portCommands({ bridge: g.bridge, name: g.hostIf, lab, ...(g.ofport !== undefined ? { ofport: g.ofport } : {}) })),
  ];

  const tlvBridges = new Map<string, OptionFlowSpec>();
  for (const f of h.optionFlows ?? []) if (!tlvBridges.has(f.bridge)) tlvBridges.set(f.bridge, f);

  const apply: OvsCommand[] = [
    ...(underlay?.apply ?? []),
    { tool: 'vsctl', args: transaction(vsctl) },
    ...h.bridges.flatMap((b) => [
      ...(b.mtu ? [ip('link', 'set', 'dev', b.name, 'mtu', String(b.mtu))] : []),
      ...(b.addresses ?? []).map((a) => ip('addr', 'add', a, 'dev', b.name)),
      ...(b.addresses?.length ? [ip('link', 'set', 'dev', b.name, 'up')] : []),
    ]),
    ...(h.ports ?? []).flatMap((p) => [...(p.addresses ?? []).map((a) => ip('addr', 'add', a, 'dev', p.name)), ip('link', 'set', 'dev', p.name, 'up')]),
    // The guest ports are already in the transaction above; keep only their kernel-side settings.
    ...guests.flatMap((g) => g.apply.filter((c) => c.tool !== 'vsctl')),
    ...[...tlvBridges.values()].map((f): OvsCommand => ({ tool: 'ofctl', args: addTlvMapArgs(f.bridge, f.send, f.firstMetadata ?? 0) })),
    ...(h.optionFlows ?? []).flatMap((f) => optionFlows(f).map((flow): OvsCommand => ({ tool: 'ofctl', args: ['add-flow', f.bridge, flow] }))),
  ];

  const ownBridges = new Set(h.bridges.map((b) => b.name));
  const strayPorts = [...(h.ports ?? []), ...(h.tunnels ?? []), ...(h.guests ?? []).map((g) => ({ bridge: g.bridge, name: g.hostIf }))].filter((p) => !ownBridges.has(p.bridge));
  const undo: OvsCommand[] = [
    { tool: 'vsctl', args: transaction([...strayPorts.map((p) => delPortCommand(p.name, p.bridge)), ...h.bridges.map((b) => delBridgeCommand(b.name))]) },
    ...(underlay?.undo ?? []),
  ];
  return { apply, undo };
}

/** Apply a host spec, then surface any Interface.error OVS recorded, naming the port. */
export async function applyOvsHost(inst: OvsInstance, h: OvsHostSpec, subject = inst.label): Promise<void> {
  await inst.apply(ovsHostPlan(h).apply, subject);
  const names = [...(h.tunnels ?? []).map((t) => t.name), ...(h.ports ?? []).map((p) => p.name), ...(h.guests ?? []).map((g) => g.hostIf)];
  const errors: string[] = [];
  for (const n of names) {
    const e = await inst.interfaceError(n);
    if (e) errors.push(`port "${n}": ${e}`);
  }
  if (errors.length)
    throw new OpError({ subject: `${subject}: OVS rejected ${errors.length} port${errors.length > 1 ? 's' : ''}`, ...(inst.ns ? { ns: inst.ns } : {}), request: 'ovs-vsctl list Interface', kernelMessage: errors.join('; ') });
}
