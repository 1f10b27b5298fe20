/**
 * The Open vSwitch part of a plan: daemons per simulated host, the underlay bridge that the
 * userspace datapath needs, OVS switches, guest ports, tunnel ports and Geneve option flows.
 * Pure, like the rest of the planner; lib/ovs supplies the exact commands.
 */
import { createHash } from 'node:crypto';
import type { Host, Lab, Switch, Tunnel, TunnelEnd } from '../model/types.js';
export { tunnelPortFromModel } from '../ovs/from-model.js';
import { safeIfname } from '../model/names.js';
import { bridgeCommands, portCommands, transaction } from '../ovs/vsctl.js';
import { addTlvMapArgs, optionFlows } from '../ovs/tlv.js';
import { ovsPaths } from '../ovs/paths.js';

export type Datapath = 'system' | 'netdev';

export interface OvsPlanContext {
  /** Directory under which each host's OVS run directory is made. */
  runRoot: string;
  /** The datapath a host's OVS uses once `auto` is resolved (probe: openvswitch module present?). */
  datapathFor(host: Host): Datapath;
}

export function hostUsesOvs(lab: Lab, host: string): boolean {
  return lab.switches.some((s) => s.host === host && s.kind === 'ovs') || lab.tunnels.some((t) => t.ends.some((e) => e.host === host && e.impl === 'ovs'));
}

/** A run directory short enough for unix socket paths (108 bytes including the NUL). */
export function ovsRunDir(runRoot: string, lab: string, host: string): string {
  const plain = `${runRoot}/${lab}/ovs-${host}`;
  if (ovsPaths(plain).vswitchdCtl.length <= 100) return plain;
  return `${runRoot}/ovs-${createHash('sha1').update(`${lab}/${host}`).digest('hex').slice(0, 12)}`;
}

/** The OVS bridge that takes over a host's underlay interface on the userspace datapath. */
export function underlayBridgeName(ifname: string): string {
  return safeIfname(`br-${ifname}`);
}

export function switchDatapath(s: Switch, host: Host, ctx: OvsPlanContext): Datapath {
  return s.datapath ?? ctx.datapathFor(host);
}

/**
 * Flows that put the tunnel's Geneve options on every packet a local port sends into the
 * tunnel and accept from the tunnel only packets that carry them (so a missing or wrong
 * option is visible as loss, not silently ignored).
 */
export function optionFlowArgs(lab: Lab, t: Tunnel, end: TunnelEnd, bridge: string): string[][] {
  if (!t.options.length) return [];
  const locals = lab.guests.filter((g) => g.switch === (end.attach.kind === 'switch' ? end.attach.name : '')).map((g) => g.peerIfname);
  const sw = lab.switches.find((s) => end.attach.kind === 'switch' && s.name === end.attach.name);
  const localPorts = locals.length ? locals : sw?.addresses.length ? ['LOCAL'] : [];
  if (localPorts.length !== 1)
    throw new Error(
      `tunnel "${t.name}" on host "${end.host}": Geneve options need exactly one local port on switch "${bridge}" (a guest, or the switch's own address); found ${localPorts.length}`,
    );
  const tlv = t.options.map((o) => ({ class: o.class, type: o.type, data: o.data }));
  return [
    addTlvMapArgs(bridge, tlv),
    ...optionFlows({ bridge, localPort: localPorts[0]!, tunnelPort: end.ifname, send: tlv, accept: tlv }).map((f) => ['add-flow', bridge, f]),
  ];
}

export { bridgeCommands, portCommands, transaction };
