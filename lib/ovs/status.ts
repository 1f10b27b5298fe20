/**
 * What `status` shows per OVS instance: bridges → ports → interfaces with type, options,
 * ofport and error (from ovs-vsctl JSON), and the tunnel ports vswitchd listens on
 * (`ovs-appctl tnl/ports/show`). Parsing is pure; collection lives on OvsInstance.
 */
import { redactOvsOptions } from '../ipsec/redact.js';
import { asList, asMap, asOptional, parseOvsdbTable } from './ovsdb-json.js';
import { OWNER_KEY } from './vsctl.js';

export interface InterfaceStatus {
  name: string;
  type: string;
  options: Record<string, string>;
  ofport?: number;
  mtu?: number;
  error?: string;
  /** e.g. tunnel_egress_iface, tunnel_egress_iface_carrier. */
  status: Record<string, string>;
}

export interface PortStatus {
  name: string;
  /** Lab that owns it (external_ids:geneve-lab), if any. */
  lab?: string;
  interfaces: InterfaceStatus[];
}

export interface BridgeStatus {
  name: string;
  datapathType: string;
  lab?: string;
  ports: PortStatus[];
}

export interface TunnelListener {
  /** e.g. genev_sys_6081 or vxlan_sys_4789. */
  name: string;
  /** UDP port it listens on (from the name; undefined for GRE). */
  udpPort?: number;
  /** Datapath port number. */
  dpPort: number;
  refCount: number;
}

export interface OvsStatus {
  bridges: BridgeStatus[];
  tunnels: TunnelListener[];
}

/** Combine the three `list` outputs (Bridge, Port, Interface; JSON) into a tree. */
export function buildStatus(bridgeJson: string, portJson: string, ifaceJson: string, tnlPortsShow = ''): OvsStatus {
  const ifaces = new Map<string, InterfaceStatus>();
  for (const r of parseOvsdbTable(ifaceJson)) {
    const ofport = asOptional<number>(r.ofport);
    const mtu = asOptional<number>(r.mtu);
    const error = asOptional<string>(r.error);
    ifaces.set(String(r._uuid), {
      name: String(r.name),
      type: asOptional<string>(r.type) || 'system',
      options: redactOvsOptions(asMap(r.options)), // an IPsec port's psk never reaches `status`
      ...(ofport !== undefined ? { ofport } : {}),
      ...(mtu !== undefined ? { mtu } : {}),
      ...(error !== undefined ? { error } : {}),
      status: asMap(r.status),
    });
  }
  const ports = new Map<string, PortStatus>();
  for (const r of parseOvsdbTable(portJson)) {
    const lab = asMap(r.external_ids)[OWNER_KEY];
    ports.set(String(r._uuid), {
      name: String(r.name),
      ...(lab ? { lab } : {}),
      interfaces: asList(r.interfaces).flatMap((u) => ifaces.get(String(u)) ?? []).sort(byName),
    });
  }
  const bridges = parseOvsdbTable(bridgeJson).map((r): BridgeStatus => {
    const lab = asMap(r.external_ids)[OWNER_KEY];
    return {
      name: String(r.name),
      datapathType: asOptional<string>(r.datapath_type) || 'system',
      ...(lab ? { lab } : {}),
      ports: asList(r.ports).flatMap((u) => ports.get(String(u)) ?? []).sort(byName),
    };
  });
  return { bridges: bridges.sort(byName), tunnels: parseTnlPortsShow(tnlPortsShow) };
}

function byName<T extends { name: string }>(a: T, b: T): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** `ovs-appctl tnl/ports/show`: "Listening ports:" then lines like `genev_sys_6081 (2) ref_cnt=1` (name, datapath port, references). */
export function parseTnlPortsShow(text: string): TunnelListener[] {
  const out: TunnelListener[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\S+)\s+\((\d+)\)\s+ref_cnt=(\d+)/.exec(line);
    if (!m) continue;
    const udp = /_(\d+)$/.exec(m[1]!);
    out.push({ name: m[1]!, ...(udp ? { udpPort: Number(udp[1]) } : {}), dpPort: Number(m[2]), refCount: Number(m[3]) });
  }
  return out;
}

/** Interfaces that carry an error, as "port: message" lines (for reports). */
export function interfaceErrors(s: OvsStatus): { bridge: string; port: string; iface: string; error: string }[] {
  return s.bridges.flatMap((b) =>
    b.ports.flatMap((p) => p.interfaces.filter((i) => i.error).map((i) => ({ bridge: b.name, port: p.name, iface: i.name, error: i.error! }))),
  );
}

/** `ovs-vsctl show`-like text for humans. */
export function formatStatus(s: OvsStatus): string {
  const lines: string[] = [];
  for (const b of s.bridges) {
    lines.push(`Bridge ${b.name} (datapath ${b.datapathType}${b.lab ? `, lab ${b.lab}` : ''})`);
    for (const p of b.ports) {
      lines.push(`  Port ${p.name}`);
      for (const i of p.interfaces) {
        const opts = Object.entries(i.options).map(([k, v]) => `${k}=${v}`).join(', ');
        lines.push(`    Interface ${i.name}${i.type !== 'system' ? ` type: ${i.type}` : ''}${i.ofport !== undefined ? ` ofport ${i.ofport}` : ''}`);
        if (opts) lines.push(`      options: {${opts}}`);
        if (i.error) lines.push(`      error: "${i.error}"`);
      }
    }
  }
  if (s.tunnels.length) {
    lines.push('Tunnel listeners:');
    for (const t of s.tunnels) lines.push(`  ${t.name}${t.udpPort !== undefined ? ` udp ${t.udpPort}` : ''} (dp port ${t.dpPort}) ref_cnt=${t.refCount}`);
  }
  return lines.join('\n');
}
