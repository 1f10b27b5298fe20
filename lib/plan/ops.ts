/**
 * Kernel-level operations: the vocabulary shared by the planner and every backend.
 * A backend executes them (iproute2: argv; netlink: messages; ssh: argv remotely).
 * They are plain data so a plan can be printed, compared, stored in the journal and replayed.
 */
import type { GeneveParams, VxlanParams, GreParams, LinkImpairment } from '../model/types.js';
import type { OvsCommand } from '../ovs/commands.js';
import type { TunnelPortSpec } from '../ovs/tunnel-port.js';
import type { TunnelKeyMatch, TunnelKeySet } from '../tc/tunnel-key.js';
import type { IpsecOp } from '../ipsec/ops.js';

interface LinkBase {
  name: string;
  mtu?: number;
  alias?: string;
  mac?: string;
}

export type LinkSpec =
  | (LinkBase & { kind: 'veth'; peer: { name: string; ns: string; mtu?: number; alias?: string; mac?: string } })
  | (LinkBase & { kind: 'bridge' })
  | (LinkBase & { kind: 'dummy' })
  | (LinkBase & { kind: 'geneve'; geneve: GeneveParams & { remote?: string } })
  | (LinkBase & { kind: 'vxlan'; vxlan: VxlanParams & { remote?: string; local?: string } })
  | (LinkBase & { kind: 'gretap' | 'gre'; gre: GreParams & { remote: string; local: string } });

export type Op =
  /** Create a namespace, bring `lo` up and tag it (lo alias) so gc can recognise it. */
  | { op: 'netns.add'; ns: string; tag: string }
  | { op: 'netns.del'; ns: string }
  | { op: 'link.add'; ns: string; link: LinkSpec }
  | { op: 'link.del'; ns: string; name: string }
  | { op: 'link.set'; ns: string; name: string; up?: boolean; mtu?: number; master?: string | null; alias?: string }
  | { op: 'addr.add'; ns: string; dev: string; address: string; nodad?: boolean }
  | { op: 'addr.del'; ns: string; dev: string; address: string }
  | { op: 'route.add'; ns: string; to: string; via?: string; dev?: string }
  | { op: 'route.del'; ns: string; to: string; via?: string; dev?: string }
  | { op: 'sysctl.set'; ns: string; key: string; value: string }
  /** netem as the root qdisc of a link (delay/jitter/loss/rate), from a recipe's `impair:`. */
  | { op: 'qdisc.netem'; ns: string; dev: string; impairment: LinkImpairment }
  /** ethtool -K: offload features on/off (e.g. tx checksumming for the OVS userspace datapath). */
  | { op: 'offload.set'; ns: string; dev: string; features: Record<string, boolean> }
  /**
   * Make an external (collect-metadata) tunnel device a point-to-point tunnel with tc: clsact,
   * egress `tunnel_key set` (lib/tc/tunnel-key.ts), ingress accept on the metadata, drop the rest.
   * Gone with the device, so it needs no undo of its own.
   */
  | { op: 'tc.tunnel'; ns: string; dev: string; egress: TunnelKeySet; ingress: TunnelKeyMatch }
  /** Start ovsdb-server + ovs-vswitchd inside a host namespace, files under runDir. */
  | { op: 'ovs.start'; ns: string; runDir: string; lab: string }
  /** Stop them (graceful exit, then signals) and remove runDir. */
  | { op: 'ovs.stop'; ns: string; runDir: string; lab: string }
  /** ovs-vsctl transactions / ovs-ofctl / ovs-appctl against that instance. */
  | {
      op: 'ovs.cmds';
      ns: string;
      runDir: string;
      lab: string;
      cmds: OvsCommand[];
      /** Netdevs vswitchd creates for these commands (bridge internal ports): wait until they exist. */
      awaitLinks?: string[];
      /** Set on SSH hosts: the host's running OVS service (its db socket path; runDir is the service's run directory). No daemons of ours. */
      db?: string;
    }
  /** Add a tunnel port, then read Interface.error back so OVS's refusal is not lost. */
  | { op: 'ovs.tunnel'; ns: string; runDir: string; lab: string; port: TunnelPortSpec; db?: string }
  /** IKE daemons, IPsec options of OVS ports, static XFRM SAs (lib/ipsec/ops.ts). */
  | IpsecOp;

export type OpName = Op['op'];

export interface Step {
  /** 1-based position in the plan. */
  id: number;
  /** What the step builds, for humans: `guest "left"`, `tunnel "tun0" on host "box-1"`. */
  subject: string;
  /** Host the step belongs to (for error messages and remote execution). */
  host?: string;
  op: Op;
  /**
   * How to undo it. `null` when nothing needs undoing (e.g. an address on a link that the
   * undo of an earlier step removes) — rollback and teardown then skip it.
   */
  undo: Op | null;
}

export interface Plan {
  lab: string;
  tag: string;
  namespaces: string[];
  steps: Step[];
}

export const isOvsOp = (op: Op): op is Extract<Op, { op: `ovs.${string}` }> => op.op.startsWith('ovs.');

/** The namespace an operation acts in ("" = the caller's/root namespace). */
export function opNamespace(op: Op): string {
  return op.op === 'netns.add' || op.op === 'netns.del' ? '' : op.ns;
}
