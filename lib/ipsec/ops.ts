/**
 * The plan operations of IPsec, part of the planner's Op union (lib/plan/ops.ts). Executed by the
 * IPsec runner (runner.ts). Secrets travel as `Secret`s, which print as `<redacted>`.
 */
import type { Secret } from './secret.js';

/** One strongSwan connection of the lab's own (kernel netdev ends): what ipsec.conf says of it. */
export interface IkeConn {
  name: string;
  local: string;
  remote: string;
  /** ipsec.conf leftprotoport / rightprotoport, e.g. "gre", "udp/6081", "udp". */
  localProto: string;
  remoteProto: string;
}

/** Traffic an SA or policy is about: the tunnel's outer packets between the two underlay addresses. */
export interface XfrmSelector {
  src: string;
  dst: string;
  /** "gre", or "udp" with the tunnel's destination port. */
  proto: 'gre' | 'udp';
  dport?: number;
}

/** A static SA (one direction) as installed with `ip xfrm state add`. */
export interface XfrmStateSpec {
  src: string;
  dst: string;
  spi: number;
  reqid: number;
  /** Algorithm name from lib/ipsec/algorithms.ts. */
  esp: string;
  key: Secret;
  authKey?: Secret;
  /** Inbound states get an anti-replay window. */
  inbound: boolean;
}

export interface XfrmPolicySpec {
  sel: XfrmSelector;
  dir: 'in' | 'out';
  reqid: number;
}

/** What identifies a state and a policy for deletion: exactly the lab's, never a look-alike of someone else's. */
export type XfrmStateId = Pick<XfrmStateSpec, 'src' | 'dst' | 'spi'>;
export type XfrmPolicyId = Pick<XfrmPolicySpec, 'sel' | 'dir'>;

/** How `up` makes and then recognises a tunnel's SAs on its first end's host (IKE only). */
export interface AwaitSpec {
  tunnel: string;
  local: string;
  remote: string;
  /** The outer packets the SAs must cover. */
  sel: Omit<XfrmSelector, 'src' | 'dst'>;
  /** Which strongSwan connections to bring up: an OVS port's (named by ovs-monitor-ipsec after the port) or the lab's own. */
  conns: { ovsPort: string } | { names: string[] };
  timeoutMs: number;
}

export type IpsecOp =
  /**
   * Start strongSwan (starter + charon) for one simulated host, inside its namespace, with its own
   * configuration and a private /run under `dir`; with `ovsDb`, also ovs-monitor-ipsec for the
   * host's OVS instance (its database socket).
   */
  | { op: 'ipsec.start'; ns: string; dir: string; lab: string; ovsDb?: string }
  /** Stop them (monitor, then starter and charon) and remove `dir`. */
  | { op: 'ipsec.stop'; ns: string; dir: string; lab: string }
  /** The lab's IKE connections for one kernel netdev end: a .conf and a 0600 .secrets under dir/lab.d, then reload. */
  | { op: 'ipsec.conns'; ns: string; dir: string; lab: string; file: string; conns: IkeConn[]; psk: Secret; esp: string }
  /**
   * An OVS port's IPsec options: options:psk (through the database's JSON-RPC on stdin, never an
   * argv) and, when the recipe chose one, options:ipsec_esp. `db` is the database socket path.
   */
  | { op: 'ipsec.psk'; ns: string; db: string; port: string; psk: Secret; esp?: string; ipsecDir?: string }
  /**
   * Wait until the host's ovs-monitor-ipsec has configured these ports (monitor.ts: its refreshes
   * tear down the host's SAs, so none is brought up before the last one). Never fails the lab.
   */
  | { op: 'ipsec.monitor'; ns: string; ipsecDir?: string; ports: string[]; timeoutMs: number }
  /** Bring the tunnel's SAs up from this end and wait for them; reports how long negotiation took. */
  | { op: 'ipsec.await'; ns: string; ipsecDir?: string; spec: AwaitSpec }
  /** Static SAs and the policies that require them, through `ip -batch` on stdin (keys never in an argv). */
  | { op: 'xfrm.add'; ns: string; states: XfrmStateSpec[]; policies: XfrmPolicySpec[] }
  /** Remove exactly those states and policies (by SPI / selector), nothing else. */
  | { op: 'xfrm.del'; ns: string; states: XfrmStateId[]; policies: XfrmPolicyId[] };

export const isIpsecOp = (op: { op: string }): op is IpsecOp => op.op.startsWith('ipsec.') || op.op.startsWith('xfrm.');
