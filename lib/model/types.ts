/**
 * The validated, resolved lab model: what a recipe means once defaults, variables and
 * names are settled. Everything downstream (planner, backends, checks, UI) reads only this.
 * One tagged union per object kind keeps `switch` statements exhaustive.
 */

import type { EndOverrides } from './tunnel-end.js';
import type { OvsProgram } from './ovs-program.js';
import type { LookCheck } from './look-checks.js';
export type { CounterCheck, LogCheck, LookCheck, StateCheck, TransferCheck } from './look-checks.js';
import type { LinkTuning, Router, UnderlayKind } from './topology.js';
import type { Ovn, OvnCheck } from './ovn.js';
import type { TunnelIpsec } from './ipsec.js';

export type Family = 'ipv4' | 'ipv6';
export type TunnelType = 'geneve' | 'vxlan' | 'gre';
export type TunnelImpl = 'kernel' | 'ovs';
export type SwitchKind = 'bridge' | 'ovs';
export type DfMode = 'unset' | 'set' | 'inherit';

/** Where a host's commands run: a namespace on this machine (simulated host) or, later, SSH. */
export type HostPlacement =
  | { kind: 'netns' }
  | { kind: 'ssh'; target: string; port?: number; identity?: string; jump?: string; knownHosts?: string };

/**
 * A link impairment (netem): every packet leaving the link is delayed, dropped or paced.
 * Units are settled: milliseconds, percent, bits per second.
 */
export interface LinkImpairment {
  delayMs?: number;
  /** Delay variation (needs delayMs). */
  jitterMs?: number;
  lossPct?: number;
  /** Bits per second. */
  rate?: number;
}

export interface Network {
  name: string;
  mtu: number;
  /** Namespace holding the bridge that joins the hosts (simulated underlay). */
  ns: string;
  bridge: string;
  /** Applied at `up` to every port of the bridge (each host's side), so every crossing packet gets it once. */
  impair?: LinkImpairment;
}

export interface HostInterface {
  network: string;
  /** Interface name inside the host namespace. */
  ifname: string;
  /** Interface name of the other veth end, inside the network's namespace. */
  peerIfname: string;
  addresses: string[]; // CIDR
  mtu: number;
  /** Fixed MAC of the device that holds the addresses: the NIC, or br-underlay on OVS's userspace datapath. */
  mac?: string;
  /** Applied at `up` to this underlay NIC (egress from the host). */
  impair?: LinkImpairment;
  tuning?: LinkTuning;
}

export interface OvsHostSettings {
  datapath: 'auto' | 'system' | 'netdev';
  /** SSH hosts: the database socket of the machine's running OVS service (default unix:/var/run/openvswitch/db.sock). */
  db?: string;
}

export interface Host {
  name: string;
  ns: string;
  placement: HostPlacement;
  interfaces: HostInterface[];
  ovs?: OvsHostSettings;
  /** Static routes (e.g. a default route via a router on a routed underlay). */
  routes?: Route[];
}

export interface Switch {
  name: string;
  host: string;
  kind: SwitchKind;
  /** Link name of the bridge inside the host namespace. */
  ifname: string;
  addresses: string[];
  mtu?: number;
  /** OVS only: datapath type for the bridge. */
  datapath?: 'system' | 'netdev';
  /** Fixed MAC of the bridge (OVS: its LOCAL port, other_config:hwaddr). */
  mac?: string;
  /** OVS only: the switch's OpenFlow program (lib/model/ovs-program.ts). */
  program?: OvsProgram;
  tuning?: LinkTuning;
}

export interface Route {
  to: string; // CIDR or "default"
  via?: string;
  dev?: string;
}

export interface Guest {
  name: string;
  ns: string;
  switch: string;
  host: string;
  /** Interface name inside the guest namespace. */
  ifname: string;
  /** Name of the veth end on the host side (enslaved to the switch). */
  peerIfname: string;
  addresses: string[];
  mtu?: number;
  offload: { tx?: boolean; tso?: boolean; gso?: boolean; gro?: boolean };
  routes: Route[];
  mac?: string;
  /** Applied at `up` to the guest's NIC (egress from the guest). */
  impair?: LinkImpairment;
  tuning?: LinkTuning;
}

/** Geneve tunables, one field per kernel attribute (geneve-surface.md §1.1/§3). */
export interface GeneveParams {
  vni?: number;
  dstport?: number;
  ttl?: number | 'inherit' | 'auto';
  tos?: number | 'inherit';
  df?: DfMode;
  flowlabel?: number;
  udpcsum?: boolean;
  udp6zerocsumtx?: boolean;
  udp6zerocsumrx?: boolean;
  external?: boolean;
  innerprotoinherit?: boolean;
  srcport?: { low: number; high: number };
}

export interface VxlanParams {
  vni?: number;
  dstport?: number;
  ttl?: number | 'inherit' | 'auto';
  tos?: number | 'inherit';
  df?: DfMode;
  flowlabel?: number;
  udpcsum?: boolean;
  udp6zerocsumtx?: boolean;
  udp6zerocsumrx?: boolean;
  external?: boolean;
  learning?: boolean;
  srcport?: { low: number; high: number };
}

export interface GreParams {
  key?: number;
  ttl?: number | 'inherit' | 'auto';
  tos?: number | 'inherit';
  csum?: boolean;
}

/** A Geneve option (TLV). Data is hex, a multiple of 4 bytes, at most 124. */
export interface GeneveOption {
  class: number;
  type: number; // bit 7 = critical
  data: string; // hex, no 0x; empty = a zero-length option (RFC 8926 allows it)
  /** Made by the `ovn:` sugar: the only kind of option whose port keys swap on the way back. */
  ovn?: true;
}

/** OVS interface options that have no kernel-netdev counterpart. */
export interface OvsTunnelParams {
  key?: number | 'flow';
  inKey?: number | 'flow';
  outKey?: number | 'flow';
  remoteIp?: 'flow';
  localIp?: string | 'flow';
  dfDefault?: boolean;
  csum?: boolean;
  egressPktMark?: number;
}

export interface TunnelEnd {
  /** The switch (L2 tunnel, enslaved) or host (routed tunnel netdev). */
  attach: { kind: 'switch'; name: string } | { kind: 'host'; name: string };
  host: string;
  /** An OVS port when attached to an OVS switch, else a kernel netdev (so OVS↔kernel interop is expressible). */
  impl: TunnelImpl;
  /** Link/port name in the host. */
  ifname: string;
  local: string; // underlay address (no prefix)
  remote: string; // underlay address of the other end
  /** Routed tunnels only: address on the tunnel netdev. */
  address?: string;
  /** Per-end values from the recipe's `ends:` (lib/model/tunnel-end.ts; read through endView). */
  overrides?: EndOverrides;
  /** Routed underlay only: the network this end's underlay address is on (else Tunnel.network). */
  network?: string;
}

export interface Tunnel {
  name: string;
  type: TunnelType;
  family: Family;
  network: string;
  ends: [TunnelEnd, TunnelEnd];
  mtu?: number;
  geneve?: GeneveParams;
  vxlan?: VxlanParams;
  gre?: GreParams;
  options: GeneveOption[];
  ovs?: OvsTunnelParams;
  /** Absent: both hosts on `network`. routed: hosts on different networks joined by routers. overlay: `network` is another tunnel (lib/model/topology.ts). */
  underlay?: UnderlayKind;
  /** Applied to the kernel tunnel devices (not to OVS ports). */
  tuning?: LinkTuning;
  /** ESP between the ends' underlay addresses (`ipsec:`, or OVS's `ovs: { psk }`). */
  ipsec?: TunnelIpsec;
}

export type Expectation = 'reachable' | 'unreachable';

export interface PingCheck {
  kind: 'ping';
  name: string;
  from: string; // guest or host name
  to: string; // guest or host name, or literal address
  family: Family;
  count: number;
  size: number;
  df: boolean;
  intervalMs: number;
  deadlineS: number;
  expect: Expectation;
  maxLossPct: number;
  /** Probe knobs (issue 14.5): ping -Q, -t, -M, -I. */
  tos?: number;
  ttl?: number;
  pmtu?: 'want' | 'do' | 'dont';
  /** Interface name or source address to send from. */
  source?: string;
}

export interface IperfCheck {
  kind: 'iperf';
  name: string;
  from: string;
  to: string;
  family: Family;
  protocol: 'tcp' | 'udp';
  durationS: number;
  parallel: number;
  reverse: boolean;
  bitrate?: string;
  minBps?: number;
  maxLossPct?: number;
  /** Pass only at ≥ this fraction of a baseline measured on the bare underlay in the same run. */
  minRatio?: number;
}

/**
 * How the path must refuse DF packets one byte above the path MTU: `signalled` (default) — an
 * ICMP too-big or the sender's own "message too long", anything else is a PMTU black hole;
 * `icmp` — an ICMP too-big from the path (a router or a tunnel device); `local` — the sender's
 * kernel; `silent` — the black hole itself is what the scenario asserts.
 */
export type MtuRefusal = 'signalled' | 'icmp' | 'local' | 'silent';

export interface MtuCheck {
  kind: 'mtu';
  name: string;
  from: string;
  to: string;
  family: Family;
  expectMtu?: number;
  /** Default `signalled`. */
  refused?: MtuRefusal;
}

export interface CaptureCheck {
  kind: 'capture';
  name: string;
  host: string;
  ifname: string; // resolved interface in the host namespace
  /** The check whose traffic is captured (by name). */
  during: string;
  expect: Record<string, unknown>;
  atLeast: number;
  /** Keys (capture language) selecting the packets `expect` is judged on, e.g. inner.arp.op. */
  match?: Record<string, unknown>;
  /** any: ≥ at_least selected packets match; all: every one does; first: the first one does. */
  packets?: 'any' | 'all' | 'first';
  /** Keys no packet may match all of (e.g. `esp: false`: no tunnel packet outside ESP). */
  forbid?: Record<string, unknown>;
}

/** One link an impairment check step changes: a device in a namespace, on a host. */
export interface ImpairTarget {
  /** For messages: `host "box-2" interface "underlay"`, `guest "left"`. */
  what: string;
  /** Host whose executor runs tc (for a network port: the host on its other end; networks are always local). */
  host?: string;
  ns: string;
  dev: string;
  /** The link's own impairment from the recipe (`impair:` at up): put back instead of clearing. */
  restore?: LinkImpairment;
}

/** Apply an impairment, run the inner checks, always clear it ("add 1% loss, expect iperf ≥ X, clear"). */
export interface ImpairCheck {
  kind: 'impair';
  name: string;
  on: ImpairTarget[];
  impairment: LinkImpairment;
  then: (PingCheck | IperfCheck | MtuCheck)[];
}

export type Check = PingCheck | IperfCheck | MtuCheck | CaptureCheck | ImpairCheck | LookCheck | OvnCheck;

import type { ScenarioStep } from './scenario.js';

export interface Lab {
  name: string;
  /** Prefix of every namespace the lab creates, e.g. "gl-quickstart-". */
  nsPrefix: string;
  /** Alias put on every link and on each namespace's `lo` to mark it as ours. */
  tag: string;
  source?: string;
  description?: string;
  networks: Network[];
  hosts: Host[];
  /** Namespaces forwarding between networks (lib/model/topology.ts); absent = none. */
  routers?: Router[];
  switches: Switch[];
  guests: Guest[];
  tunnels: Tunnel[];
  checks: Check[];
  /** Ordered steps, run after the checks (lib/model/scenario.ts); absent in labs recorded before steps existed. */
  steps?: ScenarioStep[];
  warnings: string[];
  /** OVN as the Geneve control plane (lib/model/ovn.ts). */
  ovn?: Ovn;
}

/** Encapsulation overhead in bytes over the underlay MTU (outer IP + UDP + header + inner Ethernet). */
export function encapOverhead(type: TunnelType, family: Family, options: GeneveOption[] = []): number {
  const ip = family === 'ipv6' ? 40 : 20;
  switch (type) {
    case 'geneve': {
      const opts = options.reduce((n, o) => n + 4 + o.data.length / 2, 0);
      return ip + 8 + 8 + 14 + opts;
    }
    case 'vxlan':
      return ip + 8 + 8 + 14;
    case 'gre':
      return ip + 4 + 14 + 4; // GRE header with key + inner Ethernet
  }
}
