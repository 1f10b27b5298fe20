/**
 * The Open vSwitch part of a plan: daemons per simulated host, the underlay bridge that the
 * userspace datapath needs, OVS switches, guest ports, tunnel ports and Geneve option flows.
 * Pure, like the rest of the planner; lib/ovs supplies the exact commands.
 */
import { createHash } from 'node:crypto';
import type { GeneveOption, Host, Lab, Switch, Tunnel, TunnelEnd } from '../model/types.js';
export { tunnelPortFromModel } from '../ovs/from-model.js';
import { safeIfname } from '../model/names.js';
import { bridgeCommands, portCommands, transaction } from '../ovs/vsctl.js';
import { addTlvMapArgs, optionFlows, OVN_GENEVE_CLASS, OVN_GENEVE_TYPE } from '../ovs/tlv.js';
import { ovsPaths } from '../ovs/paths.js';
import { PrerequisiteError } from '../errors.js';

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
  const index = t.ends.indexOf(end) === 1 ? 1 : 0;
  const { send, accept } = endOptions(t, index);
  // A kernel netdev at the other end sends no options (only tc/BPF could add them): requiring
  // them on receive would cut the return path, so then anything from the tunnel is accepted.
  const peerIsOvs = t.ends[index === 0 ? 1 : 0].impl === 'ovs';
  return [
    addTlvMapArgs(bridge, send),
    ...optionFlows({ bridge, localPort: localPorts[0]!, tunnelPort: end.ifname, send, ...(peerIsOvs ? { accept } : {}) }).map((f) => ['add-flow', bridge, f]),
  ];
}

/**
 * What each end puts on the packets it sends and requires on those it receives. The tunnel's
 * options describe the direction ends[0] → ends[1]. Options are sent unchanged both ways, except
 * OVN's port-key option (class 0x0102, type 0x80), whose meaning is directional: a reply travels
 * from the egress port back to the ingress port, so ends[1] sends it with ingress and egress
 * swapped (seed 004: 00010002 one way, 00020001 back). An egress key ≥ 32768 is a multicast group,
 * which cannot be an ingress port; such an option is sent unchanged.
 */
export function endOptions(t: Tunnel, index: 0 | 1): { send: GeneveOption[]; accept: GeneveOption[] } {
  const forward = t.options.map((o) => ({ class: o.class, type: o.type, data: o.data }));
  const backward = forward.map(reverseOvnOption);
  return index === 0 ? { send: forward, accept: backward } : { send: backward, accept: forward };
}

function reverseOvnOption(o: GeneveOption): GeneveOption {
  if (o.class !== OVN_GENEVE_CLASS || o.type !== OVN_GENEVE_TYPE || o.data.length !== 8) return o;
  const ingress = parseInt(o.data.slice(0, 4), 16) & 0x7fff;
  const egress = parseInt(o.data.slice(4), 16);
  if (egress > 0x7fff) return o;
  return { ...o, data: egress.toString(16).padStart(4, '0') + ingress.toString(16).padStart(4, '0') };
}

/**
 * GRE over IPsec (`ovs: { psk }`) is refused before anything is built, never built unencrypted.
 * Userspace datapath: vswitchd sends the outer GRE packet straight out of the underlay port, so
 * the kernel's XFRM never sees it. Kernel datapath: encryption is done by ovs-monitor-ipsec
 * (openvswitch-ipsec) driving an IKE daemon, which the lab does not run for its own OVS instances.
 */
export function assertIpsecPlannable(t: Tunnel, host: Host, datapath: Datapath): void {
  if (t.type !== 'gre' || t.ovs?.psk === undefined) return;
  const feature = `tunnel "${t.name}" on host "${host.name}": GRE over IPsec (ovs.psk)`;
  const fix =
    datapath === 'netdev'
      ? 'unsupported here: the OVS userspace (netdev) datapath cannot encrypt tunnels (vswitchd sends the GRE packets itself, bypassing the kernel\'s IPsec); it needs the kernel datapath (openvswitch module) plus openvswitch-ipsec and strongswan. Remove ovs.psk for plain GRE (recipes/encapsulations-gre.yaml)'
      : 'unsupported: geneve-lab does not run ovs-monitor-ipsec (openvswitch-ipsec) and an IKE daemon (strongswan) for its per-host OVS instances. Remove ovs.psk for plain GRE (recipes/encapsulations-gre.yaml)';
  throw new PrerequisiteError([{ feature, fix }]);
}

export { bridgeCommands, portCommands, transaction };
