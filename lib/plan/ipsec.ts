/**
 * The IPsec part of a plan (pure). Per simulated host with a pre-shared-key tunnel end: strongSwan
 * (and ovs-monitor-ipsec when the host has OVS ports with a PSK) right after its OVS daemons.
 * Per tunnel end: static SAs, or the lab's own IKE connections for a kernel netdev, BEFORE the
 * netdev exists (so no packet ever leaves unencrypted); an OVS port's PSK right after the port.
 * Per tunnel, after all of them: wait until the SAs are up.
 *
 * Not used: OVS's ipsec_skb_mark guard (egress_pkt_mark on the port, a drop policy for marked
 * packets without an SA). With strongSwan it made the first packet of a new datapath flow from
 * an IPsec port fail the SA lookup now and then (XfrmOutNoStates; seen in the VM tier), i.e. lost
 * pings; without it an OVS port may send in clear only between its creation and
 * ovs-monitor-ipsec's configuration of it, during `up` — OVS's own default behaviour.
 */
import { createHash } from 'node:crypto';
import type { Host, Lab, Tunnel } from '../model/types.js';
import { PrerequisiteError } from '../errors.js';
import { DEFAULT_ESP, espProposal } from '../ipsec/algorithms.js';
import type { AwaitSpec, IpsecOp, XfrmPolicySpec, XfrmSelector, XfrmStateSpec } from '../ipsec/ops.js';
import { connsFile, ipsecDir } from '../ipsec/paths.js';
import { ikeConnsFor } from '../ipsec/strongswan.js';
import { ovsPaths } from '../ovs/paths.js';
import type { AddStep as Add, Op } from './ops.js';
import { ovsRunDir, ovsTarget, switchDatapath, type OvsPlanContext } from './ovs.js';


/**
 * How long `up` waits for a tunnel's SAs at most. A modp2048 exchange takes seconds under TCG on
 * a busy machine (34 s were seen in the VM tier); a PSK mismatch ends the wait early (await.ts).
 */
export const AWAIT_TIMEOUT_MS = 120_000;

const usesPsk = (t: Tunnel) => t.ipsec?.psk !== undefined;

function hostOf(lab: Lab, name: string): Host {
  const h = lab.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`internal: unknown host ${name}`);
  return h;
}

/** The tunnel's outer packets: GRE, or UDP to the tunnel's port. */
export function tunnelTraffic(t: Tunnel): Omit<XfrmSelector, 'src' | 'dst'> {
  if (t.type === 'gre') return { proto: 'gre' };
  return { proto: 'udp', dport: t.type === 'geneve' ? (t.geneve?.dstport ?? 6081) : (t.vxlan?.dstport ?? 4789) };
}

/**
 * Refuse, before anything is built, what cannot be encrypted here: an OVS end on the userspace
 * datapath (vswitchd sends its tunnel packets itself, past the kernel's IPsec). Never build such a
 * tunnel unencrypted and call it IPsec.
 */
export function assertIpsecPlannable(lab: Lab, ctx: OvsPlanContext): void {
  const problems: { feature: string; fix: string }[] = [];
  for (const t of lab.tunnels) {
    if (!t.ipsec) continue;
    for (const end of t.ends) {
      if (end.impl !== 'ovs') continue;
      const h = hostOf(lab, end.host);
      const sw = lab.switches.find((s) => end.attach.kind === 'switch' && s.name === end.attach.name);
      if (!sw || switchDatapath(sw, h, ctx) !== 'netdev') continue;
      problems.push({
        feature: `tunnel "${t.name}" on host "${h.name}": ${t.ipsec.fromOvsPsk ? `${t.type.toUpperCase()} over IPsec (ovs.psk)` : 'IPsec'} on an OVS port`,
        fix:
          'unsupported here: the OVS userspace (netdev) datapath cannot encrypt tunnels (vswitchd sends the tunnel packets itself, bypassing the kernel\'s IPsec). ' +
          'What works: the kernel datapath (hosts[].ovs.datapath: system; where this kernel has no openvswitch module, `geneve-lab vm -- up RECIPE`), ' +
          'or a kernel tunnel netdev at this end (a switch with kind: bridge) with ipsec: { psk } or { keys }',
      });
    }
  }
  if (problems.length) throw new PrerequisiteError(problems);
}

/** After a simulated host's OVS daemons (or its underlay, without OVS): its IKE daemon, when it needs one. */
export function planIpsecHost(ctx: OvsPlanContext, lab: Lab, h: Host, add: Add): void {
  if (h.placement.kind !== 'netns') return; // SSH hosts: the machine's own IKE service
  const ends = lab.tunnels.filter(usesPsk).flatMap((t) => t.ends.filter((e) => e.host === h.name));
  if (!ends.length) return;
  const ovs = ends.some((e) => e.impl === 'ovs');
  const runDir = ovsRunDir(ctx.runRoot, lab.name, h.name);
  add(`IKE daemon on host "${h.name}"`, { op: 'ipsec.start', ns: h.ns, dir: ipsecDir(ctx.runRoot, lab.name, h.name), lab: lab.name, ...(ovs ? { ovsDb: ovsPaths(runDir).dbSocket } : {}) }, h.name);
}

/** A reqid the lab's static SAs and their policies share; high, away from strongSwan's 1, 2, … */
function reqidFor(lab: Lab, t: Tunnel): number {
  return 0x40000000 | (createHash('sha1').update(`${lab.tag}/${t.name}`).digest().readUInt32BE(0) & 0x3fffffff);
}

function staticOps(lab: Lab, t: Tunnel, index: 0 | 1, ns: string): Extract<IpsecOp, { op: 'xfrm.add' }> {
  const end = t.ends[index];
  const keys = t.ipsec!.keys!;
  const reqid = reqidFor(lab, t);
  const traffic = tunnelTraffic(t);
  const sa = (k: (typeof keys)[0], src: string, dst: string, inbound: boolean): XfrmStateSpec => ({ src, dst, spi: k.spi, reqid, esp: t.ipsec!.esp, key: k.key, ...(k.authKey ? { authKey: k.authKey } : {}), inbound });
  const states = [sa(keys[index], end.local, end.remote, false), sa(keys[index === 0 ? 1 : 0], end.remote, end.local, true)];
  const policies: XfrmPolicySpec[] = [
    { sel: { src: end.local, dst: end.remote, ...traffic }, dir: 'out', reqid },
    { sel: { src: end.remote, dst: end.local, ...traffic }, dir: 'in', reqid },
  ];
  return { op: 'xfrm.add', ns, states, policies };
}

/** Before a tunnel end's netdev or port exists: its static SAs, or (kernel netdev with a PSK) its IKE connections. */
export function planIpsecEndBefore(ctx: OvsPlanContext, lab: Lab, t: Tunnel, index: 0 | 1, h: Host, add: Add): void {
  if (!t.ipsec) return;
  const end = t.ends[index];
  const subject = `tunnel "${t.name}" on host "${h.name}" IPsec`;
  if (t.ipsec.keys) {
    add(subject, staticOps(lab, t, index, h.ns), h.name);
    return;
  }
  if (end.impl !== 'kernel' || !t.ipsec.psk) return;
  const traffic = tunnelTraffic(t);
  add(
    subject,
    { op: 'ipsec.conns', ns: h.ns, dir: ipsecDir(ctx.runRoot, lab.name, h.name), lab: lab.name, file: connsFile(t.name), conns: ikeConnsFor(t.name, t.type, end.local, end.remote, traffic.dport), psk: t.ipsec.psk, esp: t.ipsec.esp },
    h.name,
  );
}

/** After an OVS port exists: its PSK (and ESP algorithm) for ovs-monitor-ipsec. */
export function planIpsecEndAfter(ctx: OvsPlanContext, lab: Lab, t: Tunnel, index: 0 | 1, h: Host, add: Add): void {
  const end = t.ends[index];
  if (!t.ipsec?.psk || end.impl !== 'ovs') return;
  const target = ovsTarget(ctx, lab, h);
  const db = target.db ?? ovsPaths(target.runDir).dbSocket;
  add(
    `tunnel "${t.name}" on host "${h.name}" IPsec`,
    {
      op: 'ipsec.psk',
      ns: h.ns,
      db,
      port: end.ifname,
      psk: t.ipsec.psk,
      ...(t.ipsec.esp !== DEFAULT_ESP ? { esp: espProposal(t.ipsec.esp) } : {}),
      ...(h.placement.kind === 'netns' ? { ipsecDir: ipsecDir(ctx.runRoot, lab.name, h.name) } : {}),
    },
    h.name,
  );
}

/** How long `up` waits for a host's ovs-monitor-ipsec to take in its ports (each refresh takes seconds under TCG). */
export const MONITOR_TIMEOUT_MS = 60_000;

/**
 * After every tunnel: wait until each host's ovs-monitor-ipsec has configured all of the host's
 * PSK ports (its refreshes tear the host's SAs down: lib/ipsec/monitor.ts), then bring each PSK
 * tunnel's SAs up from its first end and wait for them.
 */
export function planIpsecAwait(ctx: OvsPlanContext, lab: Lab, add: Add): void {
  for (const h of lab.hosts) {
    const ports = lab.tunnels.filter(usesPsk).flatMap((t) => t.ends.filter((e) => e.host === h.name && e.impl === 'ovs').map((e) => e.ifname));
    if (!ports.length) continue;
    add(`ovs-monitor-ipsec on host "${h.name}"`, { op: 'ipsec.monitor', ns: h.ns, ...(h.placement.kind === 'netns' ? { ipsecDir: ipsecDir(ctx.runRoot, lab.name, h.name) } : {}), ports, timeoutMs: MONITOR_TIMEOUT_MS }, h.name);
  }
  for (const t of lab.tunnels.filter(usesPsk)) {
    const end = t.ends[0];
    const h = hostOf(lab, end.host);
    const traffic = tunnelTraffic(t);
    const spec: AwaitSpec = {
      tunnel: t.name,
      local: end.local,
      remote: end.remote,
      sel: traffic,
      conns: end.impl === 'ovs' ? { ovsPort: end.ifname } : { names: ikeConnsFor(t.name, t.type, end.local, end.remote, traffic.dport).map((c) => c.name) },
      timeoutMs: AWAIT_TIMEOUT_MS,
    };
    add(`tunnel "${t.name}" IPsec SAs`, { op: 'ipsec.await', ns: h.ns, ...(h.placement.kind === 'netns' ? { ipsecDir: ipsecDir(ctx.runRoot, lab.name, h.name) } : {}), spec }, h.name);
  }
}

/** The undo of an IPsec operation: daemons stop, static SAs and policies go (exactly those). */
export function ipsecUndo(op: Op): Op | null {
  switch (op.op) {
    case 'ipsec.start':
      return { op: 'ipsec.stop', ns: op.ns, dir: op.dir, lab: op.lab };
    case 'xfrm.add':
      return { op: 'xfrm.del', ns: op.ns, states: op.states.map((s) => ({ src: s.src, dst: s.dst, spi: s.spi })), policies: op.policies.map((p) => ({ sel: p.sel, dir: p.dir })) };
    default:
      return null;
  }
}
