/**
 * The resolved `ovn:` section of a recipe: OVN as the lab's Geneve control plane. The central
 * (NB + SB databases, ovn-northd) runs in one host namespace; each chassis runs ovn-controller
 * next to its own OVS, with its integration bridge being the OVS switch its guests are on.
 * Logical switches, routers and ACLs are written to the NB; OVN builds the tunnels itself.
 */

export interface OvnCentral {
  /** The recipe host it runs on; undefined = a namespace of its own (`ns`), reached by unix socket only. */
  host?: string;
  ns: string;
  /** Underlay address the NB/SB listen on for the chassis (TCP 6641/6642); undefined = unix socket. */
  address?: string;
  /** The central host's interface on the OVN network (its tx checksum offload matters, see lib/plan/ovn.ts). */
  ifname?: string;
}

export interface OvnBinding {
  guest: string;
  /** Logical switch port bound to the guest (external_ids:iface-id on the guest's OVS port). */
  port: string;
  /** The guest's port on the integration bridge (its veth end on the host). */
  iface: string;
}

export interface OvnChassis {
  /** Chassis name (system-id): the host's name. */
  name: string;
  host: string;
  ns: string;
  /** ovn-encap-ip: the host's underlay address on the OVN network. */
  encapIp: string;
  /** The integration bridge (ovn-bridge): a recipe OVS switch's ifname, or one the lab adds. */
  bridge: string;
  /** The switch behind `bridge`, or undefined when the lab adds a bare `br-int` for this chassis. */
  switch?: string;
  bindings: OvnBinding[];
}

export interface OvnSwitchPort {
  name: string;
  guest?: string;
  /** lsp-set-addresses values, e.g. "40:44:00:00:00:01 192.168.0.11", "unknown", "dynamic". */
  addresses: string[];
  /** lsp-set-port-security values (empty: none). */
  portSecurity: string[];
}

export interface OvnLogicalSwitch {
  name: string;
  ports: OvnSwitchPort[];
}

export interface OvnRouterPort {
  name: string;
  /** The logical switch it attaches to, through a switch port of type router named `switchPort`. */
  switch: string;
  switchPort: string;
  mac: string;
  networks: string[];
}

export interface OvnLogicalRouter {
  name: string;
  ports: OvnRouterPort[];
}

export type OvnAclAction = 'allow' | 'allow-related' | 'allow-stateless' | 'drop' | 'reject' | 'pass';

export interface OvnAcl {
  switch: string;
  direction: 'from-lport' | 'to-lport';
  priority: number;
  match: string;
  action: OvnAclAction;
}

export interface Ovn {
  central: OvnCentral;
  /** Underlay network the chassis encapsulate over (and reach the central on). */
  network?: string;
  chassis: OvnChassis[];
  switches: OvnLogicalSwitch[];
  routers: OvnLogicalRouter[];
  acls: OvnAcl[];
  /** Extra ovn-nbctl commands (argv each), applied after the rest, one transaction each. */
  nbctl: string[][];
  /** How long `up` waits for the control plane to converge. */
  readyTimeoutMs: number;
}

/**
 * A read-only query of the lab's OVN (a check kind): an ovn-nbctl/ovn-sbctl command or an
 * ovn-trace, asserted with lib/checks/expect.ts; or `tunnels: mesh`, which asserts that every
 * chassis has exactly one Geneve tunnel port to each other chassis.
 */
export type OvnQuery = { tool: 'nbctl' | 'sbctl' | 'trace'; args: string[] } | { tool: 'mesh' };

export interface OvnCheck {
  kind: 'ovn';
  name: string;
  query: OvnQuery;
  /**
   * For `list`/`find`: a map of JSON path → matcher over `{ rows: [...], count }`; for every
   * other command: one matcher over the trimmed text output; absent for `tunnels: mesh`.
   */
  expect?: unknown;
}

/** A capture expectation in names, resolved to SB tunnel keys at check time. */
export interface OvnWireNames {
  datapath?: string;
  ingress?: string;
  egress?: string;
}

/** The extra Geneve bytes OVN adds to each packet: its one 8-byte option (0x0102/0x80). */
export const OVN_OPTION_BYTES = 8;

/** The tunnel key layout from ovn-architecture(7): 15-bit ingress, 16-bit egress port keys. */
export const OVN_MAX_INGRESS_KEY = 0x7fff;
