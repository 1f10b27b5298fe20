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
import { addTlvMapArgs, optionFlows, optionLayout } from '../ovs/tlv.js';
import { endOptions, endView } from '../model/tunnel-end.js';
import { ovsPaths } from '../ovs/paths.js';
import type { Op } from './ops.js';
import type { Executor } from '../exec/executor.js';
import { chooseDatapath, probeDatapath } from '../ovs/datapath.js';

export type Datapath = 'system' | 'netdev';

export interface OvsPlanContext {
  /** Directory under which each host's OVS run directory is made. */
  runRoot: string;
  /** The datapath a host's OVS uses once `auto` is resolved (probe: openvswitch module present?). */
  datapathFor(host: Host): Datapath;
}

export function hostUsesOvs(lab: Lab, host: string): boolean {
  return (
    lab.switches.some((s) => s.host === host && s.kind === 'ovs') ||
    lab.tunnels.some((t) => t.ends.some((e) => e.host === host && e.impl === 'ovs')) ||
    lab.ovn?.chassis.some((c) => c.host === host) === true // an OVN chassis runs ovn-controller next to its own OVS
  );
}

/** A run directory short enough for unix socket paths (108 bytes including the NUL). */
export function ovsRunDir(runRoot: string, lab: string, host: string): string {
  const plain = `${runRoot}/${lab}/ovs-${host}`;
  if (ovsPaths(plain).vswitchdCtl.length <= 100) return plain;
  return `${runRoot}/ovs-${createHash('sha1').update(`${lab}/${host}`).digest('hex').slice(0, 12)}`;
}

/** The database socket of a machine's own OVS service when the recipe names none (Debian, Fedora, Ubuntu). */
export const DEFAULT_OVS_DB = 'unix:/var/run/openvswitch/db.sock';

/**
 * Where an OVS operation of host `h` goes. A simulated host: the daemons the lab starts in its
 * namespace (runDir under runRoot), tagged with the lab's name. An SSH host: the machine's running
 * OVS service (its db socket; ofctl/appctl find vswitchd and the bridges' .mgmt sockets in the
 * socket's directory, the service's run directory), tagged with the lab's full tag, which also
 * names the state directory, because the machine is shared with its owner and other labs.
 */
export function ovsTarget(ctx: OvsPlanContext, lab: Lab, h: Host): { runDir: string; lab: string; db?: string } {
  if (h.placement.kind !== 'ssh') return { runDir: ovsRunDir(ctx.runRoot, lab.name, h.name), lab: lab.name };
  const db = (h.ovs?.db ?? DEFAULT_OVS_DB).replace(/^unix:/, '');
  return { runDir: db.slice(0, db.lastIndexOf('/')) || '/', lab: lab.tag, db };
}

/**
 * The explicit undo of an OVS operation on a host whose OVS the lab does not own (SSH hosts):
 * every bridge it adds is deleted, every port it adds to a bridge is removed from that bridge,
 * by name and only if still there. TLV maps and flows live on the lab's own bridges and go with
 * them. Null when the operation adds nothing.
 */
export function ovsUndo(op: Extract<Op, { op: 'ovs.cmds' | 'ovs.tunnel' }>): Op | null {
  const base = { op: 'ovs.cmds' as const, ns: op.ns, runDir: op.runDir, lab: op.lab, ...(op.db ? { db: op.db } : {}) };
  if (op.op === 'ovs.tunnel') return { ...base, cmds: [{ tool: 'vsctl', args: ['--if-exists', 'del-port', op.port.bridge, op.port.name] }] };
  const undo: string[][] = [];
  for (const c of op.cmds) {
    if (c.tool !== 'vsctl') continue;
    for (const cmd of splitTransaction(c.args)) {
      const words = cmd.filter((w) => !w.startsWith('--'));
      if (words[0] === 'add-br' && words[1]) undo.unshift(['--if-exists', 'del-br', words[1]]);
      if (words[0] === 'add-port' && words[1] && words[2]) undo.unshift(['--if-exists', 'del-port', words[1], words[2]]);
    }
  }
  return undo.length ? { ...base, cmds: [{ tool: 'vsctl', args: transaction(undo) }] } : null;
}

function splitTransaction(args: readonly string[]): string[][] {
  const out: string[][] = [[]];
  for (const a of args) if (a === '--') out.push([]);
    else out[out.length - 1]!.push(a);
  return out.filter((c) => c.length);
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
 * option is visible as loss, not silently ignored). A switch with its own `flows:` gets none:
 * its program decides what options it sends and requires (the end's `options` then only tell
 * the other end what to expect).
 */
export function optionFlowArgs(lab: Lab, t: Tunnel, end: TunnelEnd, bridge: string): string[][] {
  const index = t.ends.indexOf(end) === 1 ? 1 : 0;
  const { send, accept } = endOptions(t, index);
  if (!send.length && !accept.length) return [];
  const sw = lab.switches.find((s) => end.attach.kind === 'switch' && s.name === end.attach.name);
  if (sw?.program?.flows) return [];
  // A plain kernel netdev at the other end sends no options: requiring them on receive would cut
  // the return path, so then anything from the tunnel is accepted. An external kernel end sends
  // them with tc (lib/plan/external.ts), so they are required from it as from an OVS port.
  const peerIndex = index === 0 ? 1 : 0;
  const peer = t.ends[peerIndex];
  const peerSendsOptions = peer.impl === 'ovs' || endView(t, peerIndex).external;
  if (!send.length && !(peerSendsOptions && accept.length)) return [];
  const locals = lab.guests.filter((g) => g.switch === (end.attach.kind === 'switch' ? end.attach.name : '')).map((g) => g.peerIfname);
  const localPorts = locals.length ? locals : sw?.addresses.length ? ['LOCAL'] : [];
  if (localPorts.length !== 1)
    throw new Error(
      `tunnel "${t.name}" on host "${end.host}": Geneve options need exactly one local port on switch "${bridge}" (a guest, or the switch's own address); found ${localPorts.length}`,
    );
  const subject = `tunnel "${t.name}" on host "${end.host}"`;
  const accepted = peerSendsOptions ? accept : [];
  // Fields after those the switch's own tlv_map binds, so both can live on the bridge.
  const first = Math.max(-1, ...(sw?.program?.tlvMap ?? []).map((e) => e.field)) + 1;
  return [
    addTlvMapArgs(bridge, optionLayout(subject, send, accepted), first),
    ...optionFlows({ bridge, localPort: localPorts[0]!, tunnelPort: end.ifname, send, firstMetadata: first, ...(peerSendsOptions ? { accept } : {}) }).map((f) => ['add-flow', bridge, f]),
    // When the local port is a guest, the bridge's own (addressless) port would still reach the
    // tunnel through the NORMAL flow with its IPv6 router/neighbour solicitations, without options,
    // which the peer then drops and counts: noise in every capture and drop counter.
    ...(localPorts[0] !== 'LOCAL' ? [['add-flow', bridge, 'table=0,priority=98,in_port=LOCAL,actions=drop']] : []),
  ];
}

/**
 * What each end puts on the packets it sends and requires on those it receives
 * (lib/model/tunnel-end.ts): an end's own `options`, else the tunnel's, which describe
 * ends[0] → ends[1]; on the way back only the `ovn:` sugar's port keys swap (seed 004: 00010002
 * one way, 00020001 back). Raw options go on the wire exactly as written in both directions.
 */
export { endOptions };

export { bridgeCommands, portCommands, transaction };

/**
 * What `auto` means on this machine for the lab's OVS hosts that leave the datapath to it: the
 * kernel datapath where the openvswitch module is loaded or loadable, else userspace. Probes
 * (read-only) only when such a host exists. SSH hosts are settled on their own machine at `up`
 * (lib/remote/ovs-service.ts); until then `sshHostsLeftToAuto` names them.
 */
export async function autoDatapathFor(lab: Lab, exec: Executor): Promise<{ autoDatapath: Datapath; sshHostsLeftToAuto: string[] }> {
  const auto = lab.hosts.filter((h) => hostUsesOvs(lab, h.name) && (h.ovs?.datapath ?? 'auto') === 'auto');
  const autoDatapath = auto.length ? chooseDatapath('auto', await probeDatapath(exec)).datapath : 'netdev';
  return { autoDatapath, sshHostsLeftToAuto: auto.filter((h) => h.placement.kind === 'ssh').map((h) => h.name) };
}
