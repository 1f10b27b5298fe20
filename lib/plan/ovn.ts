/**
 * The OVN part of a plan (pure). After the hosts, switches and guests exist:
 *   1. the central: NB + SB ovsdb-servers and ovn-northd in the central host's namespace (or a
 *      namespace of its own), undone by stopping them and removing their files;
 *   2. the logical topology, written to the NB with ovn-nbctl (switches and their ports,
 *      routers, ACLs, the recipe's extra commands), one transaction per object;
 *   3. per chassis: its OVS learns who it is (system-id, ovn-remote, ovn-encap-type=geneve,
 *      ovn-encap-ip, ovn-bridge, ovn-bridge-datapath-type) and which guest port is which logical
 *      port (external_ids:iface-id); then ovn-controller starts next to it, undone by stopping it;
 *   4. readiness: every chassis registered, every bound logical port up, every chassis synced.
 * Chassis are undone before the central (reverse order), so each ovn-controller removes its own
 * chassis record and tunnels while the SB is still there.
 *
 * No tunnel appears here: ovn-controller builds the Geneve mesh from the SB's chassis records.
 */
import type { Lab } from '../model/types.js';
import type { Ovn } from '../model/ovn.js';
import { chassisSbRemote } from '../ovn/commands.js';
import type { OvnOp } from '../ovn/ops.js';
import { ovnCentralRunDir, ovnControllerRunDir } from '../ovn/paths.js';
import { bridgeCommands, mapArgs, transaction } from '../ovs/vsctl.js';
import type { AddStep as Add, Op } from './ops.js';
import { ovsRunDir, switchDatapath, type Datapath, type OvsPlanContext } from './ovs.js';


/** The namespace the lab creates for a central that has no host of its own. */
export function ovnNamespaces(lab: Lab): string[] {
  return lab.ovn && lab.ovn.central.host === undefined ? [lab.ovn.central.ns] : [];
}

export function isOvnChassis(lab: Lab, host: string): boolean {
  return lab.ovn?.chassis.some((c) => c.host === host) === true;
}

/** The undo of an OVN operation: daemons stop; everything else goes with the daemons' files. */
export function ovnUndo(op: OvnOp): Op | null {
  switch (op.op) {
    case 'ovn.central.start':
      return { op: 'ovn.central.stop', ns: op.ns, runDir: op.runDir, lab: op.lab };
    case 'ovn.controller.start':
      return { op: 'ovn.controller.stop', ns: op.ns, runDir: op.runDir, lab: op.lab, ovsRunDir: op.ovsRunDir, chassis: op.chassis };
    default:
      return null;
  }
}

/** The datapath each chassis' integration bridge uses (its switch's, else its host's). */
export function chassisDatapath(lab: Lab, ovn: Ovn, name: string, ctx: OvsPlanContext): Datapath {
  const c = ovn.chassis.find((x) => x.name === name)!;
  const host = lab.hosts.find((h) => h.name === c.host)!;
  const sw = c.switch ? lab.switches.find((s) => s.name === c.switch) : undefined;
  return sw ? switchDatapath(sw, host, ctx) : ctx.datapathFor(host);
}

/** The NB transactions that build the logical topology, with a subject each. */
export function nbTransactions(ovn: Ovn): { subject: string; cmds: string[][] }[] {
  const out: { subject: string; cmds: string[][] }[] = [];
  for (const ls of ovn.switches) {
    const cmds: string[][] = [['ls-add', ls.name]];
    for (const p of ls.ports) {
      cmds.push(['lsp-add', ls.name, p.name]);
      if (p.addresses.length) cmds.push(['lsp-set-addresses', p.name, ...p.addresses]);
      if (p.portSecurity.length) cmds.push(['lsp-set-port-security', p.name, ...p.portSecurity]);
    }
    out.push({ subject: `OVN logical switch "${ls.name}"`, cmds });
  }
  for (const lr of ovn.routers) {
    const cmds: string[][] = [['lr-add', lr.name]];
    for (const p of lr.ports) {
      cmds.push(['lrp-add', lr.name, p.name, p.mac, ...p.networks]);
      // The switch side: a port of type router, peered with the router port.
      cmds.push(['lsp-add', p.switch, p.switchPort], ['lsp-set-type', p.switchPort, 'router'], ['lsp-set-addresses', p.switchPort, 'router'], ['lsp-set-options', p.switchPort, `router-port=${p.name}`]);
    }
    out.push({ subject: `OVN logical router "${lr.name}"`, cmds });
  }
  for (const [i, a] of ovn.acls.entries()) out.push({ subject: `OVN ACL #${i + 1} on "${a.switch}" (${a.direction} ${a.priority} ${a.action})`, cmds: [['acl-add', a.switch, a.direction, String(a.priority), a.match, a.action]] });
  for (const [i, c] of ovn.nbctl.entries()) out.push({ subject: `OVN ovn.nbctl[${i}] (${c[0]})`, cmds: [c] });
  return out;
}

export function planOvn(lab: Lab, ctx: OvsPlanContext, add: Add): void {
  const ovn = lab.ovn;
  if (!ovn) return;
  const central = ovn.central;
  const centralRunDir = ovnCentralRunDir(ctx.runRoot, lab.name);
  const dp = new Map(ovn.chassis.map((c) => [c.name, chassisDatapath(lab, ovn, c.name, ctx)]));
  const anyUserspace = [...dp.values()].includes('netdev');

  const cs = central.host ? `OVN central on host "${central.host}"` : 'OVN central';
  if (central.host === undefined) add(cs, { op: 'netns.add', ns: central.ns, tag: lab.tag });
  else if (central.ifname && anyUserspace) {
    // A userspace-datapath chassis does not complete partial checksums: the central's TCP
    // (kernel veth, tx checksum offload on) would reach it with bad checksums and the SB
    // connection would never come up.
    const h = lab.hosts.find((x) => x.name === central.host)!;
    const centralUserspace = isOvnChassis(lab, h.name) ? dp.get(h.name) === 'netdev' : false;
    if (!centralUserspace) add(`${cs} interface "${central.ifname}"`, { op: 'offload.set', ns: central.ns, dev: central.ifname, features: { tx: false } }, central.host);
  }
  add(cs, { op: 'ovn.central.start', ns: central.ns, runDir: centralRunDir, lab: lab.name, ...(central.address ? { listen: central.address } : {}) }, central.host);

  // The NB first: chassis that start afterwards see the whole topology on their first run.
  for (const t of nbTransactions(ovn)) add(t.subject, { op: 'ovn.nbctl', ns: central.ns, runDir: centralRunDir, lab: lab.name, cmds: t.cmds }, central.host);

  const remote = chassisSbRemote(centralRunDir, central.address);
  for (const c of ovn.chassis) {
    const subject = `OVN chassis "${c.name}"`;
    const ovsDir = ovsRunDir(ctx.runRoot, lab.name, c.host);
    const datapath = dp.get(c.name)!;
    const base = { op: 'ovs.cmds' as const, ns: c.ns, runDir: ovsDir, lab: lab.name };
    if (!c.switch) add(`${subject} integration bridge "${c.bridge}"`, { ...base, cmds: [{ tool: 'vsctl', args: transaction(bridgeCommands({ name: c.bridge, datapath, lab: lab.name })) }], awaitLinks: [c.bridge] }, c.host);
    const ids = mapArgs('external_ids', {
      'system-id': c.name,
      hostname: c.name,
      'ovn-remote': remote,
      'ovn-encap-type': 'geneve',
      'ovn-encap-ip': c.encapIp,
      'ovn-bridge': c.bridge,
      'ovn-bridge-datapath-type': datapath,
    });
    const vsctl = transaction([['set', 'Open_vSwitch', '.', ...ids], ...c.bindings.map((b) => ['set', 'Interface', b.iface, ...mapArgs('external_ids', { 'iface-id': b.port })])]);
    add(subject, { ...base, cmds: [{ tool: 'vsctl', args: vsctl }] }, c.host);
    add(subject, { op: 'ovn.controller.start', ns: c.ns, runDir: ovnControllerRunDir(ctx.runRoot, lab.name, c.host), lab: lab.name, ovsRunDir: ovsDir, chassis: c.name }, c.host);
  }

  // On the userspace datapath vswitchd drops a tunnel's first packet while it resolves the remote
  // chassis' MAC (native tunnelling: it learns it from ARP replies the underlay bridge delivers).
  // Readiness makes each such chassis learn every other one first (lib/ovn/runner.ts).
  const neighbours = ovn.chassis
    .filter((c) => dp.get(c.name) === 'netdev')
    .map((c) => ({ chassis: c.name, ns: c.ns, ovsRunDir: ovsRunDir(ctx.runRoot, lab.name, c.host), addresses: ovn.chassis.filter((o) => o !== c).map((o) => o.encapIp) }))
    .filter((n) => n.addresses.length);
  add(
    'OVN control plane',
    {
      op: 'ovn.ready',
      ns: central.ns,
      runDir: centralRunDir,
      lab: lab.name,
      chassis: ovn.chassis.map((c) => c.name),
      ports: ovn.chassis.flatMap((c) => c.bindings.map((b) => b.port)),
      timeoutMs: ovn.readyTimeoutMs,
      mesh: ovn.chassis.map((c) => ({ chassis: c.name, ovsRunDir: ovsRunDir(ctx.runRoot, lab.name, c.host), remotes: ovn.chassis.filter((o) => o !== c).map((o) => o.encapIp) })),
      neighbours,
    },
    central.host,
  );
}
