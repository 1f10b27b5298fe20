/**
 * OVS tunnel ports (geneve, vxlan, gre, ipsec_gre): a typed spec, its validation, and the
 * exact ovs-vsctl commands. Option semantics follow vswitchd's set_tunnel_config
 * (geneve-surface.md §4.1); anything OVS would only log as "unknown argument" is caught here.
 */
import { isIP } from 'node:net';
import { OvsSpecError } from './errors.js';
import { mapArgs, ownerTag, type VsctlCommand } from './vsctl.js';

export type OvsTunnelType = 'geneve' | 'vxlan' | 'gre' | 'ipsec_gre';

export interface TunnelPortSpec {
  bridge: string;
  /** Port and interface name. */
  name: string;
  type: OvsTunnelType;
  lab: string;
  /** Peer underlay address, or `flow` (flows set tun_dst / tun_ipv6_dst). */
  remoteIp: string;
  /** Own underlay address, or `flow` (only together with remoteIp=flow). */
  localIp?: string;
  /** VNI / GRE key for both directions, or `flow` (tun_id). */
  key?: number | 'flow';
  inKey?: number | 'flow';
  outKey?: number | 'flow';
  dstPort?: number;
  tos?: number | 'inherit';
  ttl?: number | 'inherit';
  dfDefault?: boolean;
  csum?: boolean;
  egressPktMark?: number;
  /** ipsec_gre only: pre-shared key read by ovs-monitor-ipsec. */
  psk?: string;
  /** Fixed OpenFlow port number, so flows can name it before it exists. */
  ofport?: number;
}

const DEFAULT_DST_PORT: Partial<Record<OvsTunnelType, number>> = { geneve: 6081, vxlan: 4789 };

function family(ip: string): 4 | 6 | 0 {
  return isIP(ip) as 4 | 6 | 0;
}

function isMulticast(ip: string): boolean {
  if (family(ip) === 4) {
    const first = Number(ip.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  return /^ff/i.test(ip);
}

/** Throws OvsSpecError naming the port and field; returns nothing when the spec is sound. */
export function validateTunnelPort(s: TunnelPortSpec): void {
  const subject = `tunnel port "${s.name}" on bridge "${s.bridge}"`;
  const bad = (field: string, problem: string): never => {
    throw new OvsSpecError(subject, field, problem);
  };
  if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(s.name)) bad('name', `"${s.name}" must be 1–15 characters of letters, digits, _ . : -`);
  if (!['geneve', 'vxlan', 'gre', 'ipsec_gre'].includes(s.type)) bad('type', `"${s.type}" is not one of geneve, vxlan, gre, ipsec_gre`);

  if (s.remoteIp !== 'flow') {
    if (!family(s.remoteIp)) bad('remote_ip', `"${s.remoteIp}" is not an IPv4/IPv6 address or "flow"`);
    if (isMulticast(s.remoteIp)) bad('remote_ip', `${s.remoteIp} is multicast; OVS needs a unicast peer address`);
  }
  if (s.localIp !== undefined) {
    if (s.localIp === 'flow') {
      if (s.remoteIp !== 'flow') bad('local_ip', '"flow" is only valid when remote_ip is also "flow"');
    } else {
      if (!family(s.localIp)) bad('local_ip', `"${s.localIp}" is not an IPv4/IPv6 address or "flow"`);
      if (s.remoteIp !== 'flow' && family(s.localIp) !== family(s.remoteIp))
        bad('local_ip', `${s.localIp} and remote_ip ${s.remoteIp} are different address families`);
    }
  }

  const keyMax = s.type === 'geneve' || s.type === 'vxlan' ? 0xffffff : 0xffffffff;
  const keyWhat = s.type === 'geneve' || s.type === 'vxlan' ? `a ${s.type} VNI is 0..${keyMax}` : `a GRE key is 0..${keyMax}`;
  for (const [field, v] of [['key', s.key], ['in_key', s.inKey], ['out_key', s.outKey]] as const) {
    if (v === undefined || v === 'flow') continue;
    if (!Number.isInteger(v) || v < 0 || v > keyMax) bad(field, `${v} is out of range; ${keyWhat}, or "flow"`);
  }
  if (s.key !== undefined && (s.inKey !== undefined || s.outKey !== undefined))
    bad('key', 'set either key (both directions) or in_key/out_key, not both');

  if (s.dstPort !== undefined) {
    if (s.type === 'gre' || s.type === 'ipsec_gre') bad('dst_port', 'GRE has no UDP port; remove dst_port');
    if (!Number.isInteger(s.dstPort) || s.dstPort < 1 || s.dstPort > 65535) bad('dst_port', `${s.dstPort} is not a UDP port (1..65535)`);
  }
  if (s.tos !== undefined && s.tos !== 'inherit') {
    if (!Number.isInteger(s.tos) || s.tos < 0 || s.tos > 255) bad('tos', `${s.tos} is not 0..255 or "inherit"`);
    if ((s.tos & 3) !== 0) bad('tos', `${s.tos} has ECN bits set (OVS: "invalid TOS"); use a multiple of 4, e.g. ${s.tos & 0xfc}`);
  }
  if (s.ttl !== undefined && s.ttl !== 'inherit' && (!Number.isInteger(s.ttl) || s.ttl < 1 || s.ttl > 255))
    bad('ttl', `${s.ttl} is not 1..255 or "inherit"`);
  if (s.egressPktMark !== undefined && (!Number.isInteger(s.egressPktMark) || s.egressPktMark < 0 || s.egressPktMark > 0xffffffff))
    bad('egress_pkt_mark', `${s.egressPktMark} is not a 32-bit unsigned mark`);
  if (s.type === 'ipsec_gre' && !s.psk) bad('psk', 'ipsec_gre needs a pre-shared key (psk)');
  if (s.type !== 'ipsec_gre' && s.psk !== undefined) bad('psk', `only ipsec_gre uses psk; this port is ${s.type}`);
  if (s.ofport !== undefined && (!Number.isInteger(s.ofport) || s.ofport < 1 || s.ofport > 0xfeff)) bad('ofport', `${s.ofport} is not 1..65279`);
}

/** The Interface `options` map for a spec (only what is set; OVS defaults stay defaults). */
export function tunnelOptions(s: TunnelPortSpec): Record<string, string> {
  const o: Record<string, string | undefined> = {
    remote_ip: s.remoteIp,
    local_ip: s.localIp,
    key: s.key?.toString(),
    in_key: s.inKey?.toString(),
    out_key: s.outKey?.toString(),
    dst_port: s.dstPort?.toString(),
    tos: s.tos?.toString(),
    ttl: s.ttl?.toString(),
    df_default: s.dfDefault?.toString(),
    csum: s.csum?.toString(),
    egress_pkt_mark: s.egressPktMark?.toString(),
    psk: s.psk,
  };
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

/**
 * The ovs-vsctl commands (one transaction) that create or update the port. Existing option
 * keys that the spec no longer sets are cleared first, so re-applying a changed spec (e.g. VNI 0
 * → key=5000 → no key) yields exactly the spec, not a merge.
 */
export function tunnelPortCommands(s: TunnelPortSpec): VsctlCommand[] {
  validateTunnelPort(s);
  return [
    ['--may-exist', 'add-port', s.bridge, s.name, ...mapArgs('external_ids', ownerTag(s.lab))],
    ['clear', 'Interface', s.name, 'options'],
    [
      'set',
      'Interface',
      s.name,
      `type=${s.type}`,
      ...(s.ofport !== undefined ? [`ofport_request=${s.ofport}`] : []),
      ...mapArgs('options', tunnelOptions(s)),
    ],
  ];
}

/** UDP destination port the tunnel's packets use on the wire (undefined for GRE). */
export function wirePort(s: Pick<TunnelPortSpec, 'type' | 'dstPort'>): number | undefined {
  return s.dstPort ?? DEFAULT_DST_PORT[s.type];
}
