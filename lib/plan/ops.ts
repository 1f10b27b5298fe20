/**
 * Kernel-level operations: the vocabulary shared by the planner and every backend.
 * A backend executes them (iproute2: argv; netlink: messages; ssh: argv remotely).
 * They are plain data so a plan can be printed, compared, stored in the journal and replayed.
 */
import type { GeneveParams, VxlanParams, GreParams, LinkImpairment } from '../model/types.js';
import type { OvsCommand } from '../ovs/commands.js';
import type { TunnelPortSpec } from '../ovs/tunnel-port.js';
import type { TunnelKeyMatch, TunnelKeySet } from '../tc/tunnel-key.js';
import type { NftChain } from './nft.js';
import type { OvnOp } from '../ovn/ops.js';
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

/** How a planner appends a step: what it is for (the subject), the operation, the host it runs on. */
export type AddStep = (subject: string, op: Op, host?: string) => void;

export type Op =
  /** Create a namespace, bring `lo` up and tag it (lo alias) so gc can recognise it. */
  | { op: 'netns.add'; ns: string; tag: string }
  | { op: 'netns.del'; ns: string }
  | { op: 'link.add'; ns: string; link: LinkSpec }
  | { op: 'link.del'; ns: string; name: string }
  | { op: 'link.set'; ns: string; name: string; up?: boolean; mtu?: number; master?: string | null; alias?: string; gsoMaxSize?: number; groMaxSize?: number }
  /** Change a tunnel netdev's settings in place (the kernel's changelink: geneve/vxlan ttl, tos, df); scenario `set` steps. */
  | {
      op: 'link.change';
      ns: string;
      name: string;
      kind: 'geneve' | 'vxlan';
      change: TunnelInPlaceChange;
      /** Settings that stay as they are but must be named (iproute2 insists on a geneve device's `id`; the kernel accepts it unchanged). */
      keep?: { id?: number };
    }
  | { op: 'addr.add'; ns: string; dev: string; address: string; nodad?: boolean }
  | { op: 'addr.del'; ns: string; dev: string; address: string }
  | { op: 'route.add'; ns: string; to: string; via?: string; dev?: string }
  | { op: 'route.del'; ns: string; to: string; via?: string; dev?: string }
  /** `ifPresent`: skipped when this kernel lacks the key's subsystem (net/ipv6 when booted with ipv6.disable=1). */
  | { op: 'sysctl.set'; ns: string; key: string; value: string; ifPresent?: boolean }
  /** netem as the root qdisc of a link (delay/jitter/loss/rate), from a recipe's `impair:`. */
  | { op: 'qdisc.netem'; ns: string; dev: string; impairment: LinkImpairment }
  /** ethtool -K: offload features on/off (e.g. tx checksumming for the OVS userspace datapath). */
  | { op: 'offload.set'; ns: string; dev: string; features: Record<string, boolean> }
  /**
   * nftables rules in one chain of an inet table the lab creates in `ns` (never the root namespace),
   * e.g. a router that drops its ICMP too-big errors (lib/plan/routers.ts). Gone with the namespace.
   */
  | { op: 'nft.rules'; ns: string; table: string; chain: { name: string; hook: 'input' | 'output' | 'forward'; priority: number }; rules: string[][] }
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
  /** nftables counter rules of counter checks, in a table of ours (lib/plan/nft.ts). */
  | { op: 'nft.counters'; ns: string; table: string; tag: string; chains: NftChain[] }
  | { op: 'nft.delete'; ns: string; table: string }
  /** OVN daemons, NB transactions and readiness (lib/ovn/ops.ts), run by the OVS runner too. */
  | OvnOp
  /** IKE daemons, IPsec options of OVS ports, static XFRM SAs (lib/ipsec/ops.ts). */
  | IpsecOp;

/** What a geneve/vxlan netdev lets change while it exists (its changelink refuses VNI, port, external, checksums). */
export interface TunnelInPlaceChange {
  ttl?: number | 'inherit' | 'auto';
  tos?: number | 'inherit';
  df?: 'unset' | 'set' | 'inherit';
}

/** `ip link set` arguments of a link.change (shared by the iproute2 and netlink backends). */
export function linkChangeArgs(op: Extract<Op, { op: 'link.change' }>): string[] {
  const c = op.change;
  const k = op.keep ?? {};
  return ['link', 'set', 'dev', op.name, 'type', op.kind, ...(k.id !== undefined ? ['id', String(k.id)] : []), ...(c.ttl !== undefined ? ['ttl', String(c.ttl)] : []), ...(c.tos !== undefined ? ['tos', c.tos === 'inherit' ? 'inherit' : '0x' + c.tos.toString(16)] : []), ...(c.df !== undefined ? ['df', c.df] : [])];
}

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

/** Operations the OVS runner executes: OVS's own and OVN's (daemons and tools, no kernel backend). */
export const isOvsOp = (op: Op): op is Extract<Op, { op: `ovs.${string}` | `ovn.${string}` }> => op.op.startsWith('ovs.') || op.op.startsWith('ovn.');

/** The namespace an operation acts in ("" = the caller's/root namespace). */
export function opNamespace(op: Op): string {
  return op.op === 'netns.add' || op.op === 'netns.del' ? '' : op.ns;
}
