/**
 * Plumbing for the userspace (netdev) datapath's native tunnelling
 * (OVS Documentation/howto/userspace-tunneling.rst, environment.md §2):
 * - br-phy holds the underlay port and owns the underlay address, so the kernel stack
 *   resolves routes and ARP for the tunnel's outer packets;
 * - guest veths get `ethtool -K tx off` (the userspace datapath does not complete partial
 *   checksums: ICMP passes, TCP silently dies) and the overlay MTU.
 */
import type { CommandPlan, OvsCommand } from './commands.js';
import { bridgeCommands, delBridgeCommand, delPortCommand, portCommands, transaction } from './vsctl.js';

export interface UnderlayBridgeSpec {
  lab: string;
  /** Namespace of the (simulated) host. */
  ns?: string;
  /** Bridge that takes over the underlay port, usually br-phy. */
  bridge: string;
  /** The underlay interface (veth end / NIC). */
  port: string;
  /** Addresses (CIDR) moved from the port to the bridge. */
  addresses: string[];
  /** Extra tunnel routes for OVS's own routing table (`ovs/route/add PREFIX BRIDGE [GW]`); normally learnt from the kernel. */
  routes?: { prefix: string; gateway?: string }[];
  mtu?: number;
}

export function underlayBridgePlan(s: UnderlayBridgeSpec): CommandPlan {
  const ip = (...a: string[]): OvsCommand => ({ tool: 'exec', ...(s.ns ? { ns: s.ns } : {}), argv: ['ip', ...a] });
  const apply: OvsCommand[] = [
    { tool: 'vsctl', args: transaction([...bridgeCommands({ name: s.bridge, datapath: 'netdev', lab: s.lab }), ...portCommands({ bridge: s.bridge, name: s.port, lab: s.lab })]) },
    ...s.addresses.map((a) => ip('addr', 'del', a, 'dev', s.port)),
    ...(s.mtu ? [ip('link', 'set', 'dev', s.bridge, 'mtu', String(s.mtu))] : []),
    ...s.addresses.map((a) => ip('addr', 'add', a, 'dev', s.bridge)),
    ip('link', 'set', 'dev', s.port, 'up'),
    ip('link', 'set', 'dev', s.bridge, 'up'),
    ...(s.routes ?? []).map((r): OvsCommand => ({ tool: 'appctl', args: ['ovs/route/add', r.prefix, s.bridge, ...(r.gateway ? [r.gateway] : [])] })),
  ];
  const undo: OvsCommand[] = [
    ...(s.routes ?? []).map((r): OvsCommand => ({ tool: 'appctl', args: ['ovs/route/del', r.prefix] })),
    { tool: 'vsctl', args: transaction([delBridgeCommand(s.bridge)]) },
    // Give the address back to the port, as it was before.
    ...s.addresses.map((a) => ip('addr', 'add', a, 'dev', s.port)),
  ];
  return { apply, undo };
}

export interface GuestPortSpec {
  lab: string;
  bridge: string;
  /** Host namespace (where the switch-side veth end lives). */
  hostNs?: string;
  /** Switch-side veth end, added to the bridge. */
  hostIf: string;
  guestNs: string;
  guestIf: string;
  /** Overlay MTU for both veth ends; see overlayMtu(). */
  mtu?: number;
  /** Turn tx checksum offload off on the guest end (default true: needed on the netdev datapath). */
  txChecksumOff?: boolean;
  ofport?: number;
}

export function guestPortPlan(g: GuestPortSpec): CommandPlan {
  const hostExec = (argv: string[]): OvsCommand => ({ tool: 'exec', ...(g.hostNs ? { ns: g.hostNs } : {}), argv });
  const guestExec = (argv: string[]): OvsCommand => ({ tool: 'exec', ns: g.guestNs, argv });
  const mtu = g.mtu !== undefined ? ['mtu', String(g.mtu)] : [];
  return {
    apply: [
      { tool: 'vsctl', args: transaction(portCommands({ bridge: g.bridge, name: g.hostIf, lab: g.lab, ...(g.ofport !== undefined ? { ofport: g.ofport } : {}) })) },
      hostExec(['ip', 'link', 'set', 'dev', g.hostIf, ...mtu, 'up']),
      ...(mtu.length ? [guestExec(['ip', 'link', 'set', 'dev', g.guestIf, ...mtu])] : []),
      ...(g.txChecksumOff === false ? [] : [guestExec(['ethtool', '-K', g.guestIf, 'tx', 'off'])]),
    ],
    undo: [{ tool: 'vsctl', args: transaction([delPortCommand(g.hostIf, g.bridge)]) }],
  };
}
