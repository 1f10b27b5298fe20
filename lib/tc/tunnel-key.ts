/**
 * tc rules that turn an external (collect-metadata) Geneve or VXLAN device into a
 * point-to-point tunnel: such a device has no VNI, remote or options of its own, it encapsulates
 * with whatever metadata a packet carries and hands received packets up with their outer
 * header's metadata attached. So, on the device's clsact hooks:
 *
 * - egress:  matchall → `tunnel_key set` (addresses, VNI, port, TTL/TOS, checksum, Geneve
 *            options) for every frame the device sends;
 * - ingress: flower on the tunnel metadata (peer address, VNI, port, options) →
 *            `tunnel_key unset` and pass; anything else is dropped by a lower-priority matchall,
 *            so VNI (and option) isolation holds as it does for a plain device.
 *
 * Pure: argv arrays only (iproute2's tc, kernel docs tc-tunnel_key(8) and tc-flower(8)). Both
 * backends run exactly these commands; see lib/backends/netlink/backend.ts for why not netlink.
 */
import type { GeneveTlv } from '../ovs/tlv.js';

/** Metadata put on every frame the device sends (act_tunnel_key `set`). */
export interface TunnelKeySet {
  /** Outer source / destination address (this end's / the peer's underlay address). */
  src: string;
  dst: string;
  vni: number;
  dstPort: number;
  /** Outer TTL / hop limit. Required: an external device sends the metadata TTL verbatim, 0 included. */
  ttl: number;
  /** Outer TOS / traffic class; omitted = 0. */
  tos?: number;
  /** Outer UDP checksum (tc's default is on). */
  csum: boolean;
  /** Geneve options, in order. */
  options?: GeneveTlv[];
}

/** What a received frame's metadata must be to be accepted (flower `enc_*` keys). */
export interface TunnelKeyMatch {
  /** Outer source (the peer) and destination (this end). */
  src: string;
  dst: string;
  vni: number;
  dstPort: number;
  /** Geneve options the frame must carry, exactly these in this order (full-mask match). */
  options?: GeneveTlv[];
}

/** Filter priorities: the accept rule first, the catch-all drop after it. */
export const TC_PREF = { egress: 10, accept: 10, dropRest: 20 } as const;

/** tc's CLASS:TYPE:DATA notation, hex, comma-separated. */
export function tcGeneveOpts(opts: readonly GeneveTlv[]): string {
  return opts.map((o) => `${o.class.toString(16).padStart(4, '0')}:${o.type.toString(16).padStart(2, '0')}:${o.data.toLowerCase()}`).join(',');
}

/** `action tunnel_key set …` arguments (after `action`). */
export function tunnelKeySetArgs(s: TunnelKeySet): string[] {
  const a = ['tunnel_key', 'set', 'src_ip', s.src, 'dst_ip', s.dst, 'id', String(s.vni), 'dst_port', String(s.dstPort), 'ttl', String(s.ttl)];
  if (s.tos !== undefined) a.push('tos', '0x' + s.tos.toString(16));
  if (s.options?.length) a.push('geneve_opts', tcGeneveOpts(s.options));
  a.push(s.csum ? 'csum' : 'nocsum');
  return a;
}

/** flower `enc_*` match arguments. Options without a mask are matched in full. */
export function tunnelMatchArgs(m: TunnelKeyMatch): string[] {
  const a = ['enc_src_ip', m.src, 'enc_dst_ip', m.dst, 'enc_key_id', String(m.vni), 'enc_dst_port', String(m.dstPort)];
  if (m.options?.length) a.push('geneve_opts', tcGeneveOpts(m.options));
  return a;
}

/**
 * The tc invocations (argv after `tc`) for one external device, in order: the clsact qdisc,
 * the egress set rule, the ingress accept rule, the ingress drop-the-rest rule.
 */
export function tunnelTcArgs(dev: string, egress: TunnelKeySet, ingress: TunnelKeyMatch): string[][] {
  const filter = (hook: 'egress' | 'ingress', pref: number) => ['filter', 'add', 'dev', dev, hook, 'pref', String(pref), 'protocol', 'all'];
  return [
    ['qdisc', 'add', 'dev', dev, 'clsact'],
    [...filter('egress', TC_PREF.egress), 'matchall', 'action', ...tunnelKeySetArgs(egress), 'pass'],
    [...filter('ingress', TC_PREF.accept), 'flower', ...tunnelMatchArgs(ingress), 'action', 'tunnel_key', 'unset', 'pass'],
    [...filter('ingress', TC_PREF.dropRest), 'matchall', 'action', 'drop'],
  ];
}

/**
 * What a failed tc command of an external end means, in words, the same from both backends:
 * tc's own lines (without "Error: " and tc's generic "talking to the kernel" line), then the
 * missing kernel module or tool version when the message points at one.
 */
export function describeTcFailure(stderr: string, exitCode: number): string {
  const said = stderr
    .split('\n')
    .map((l) => l.trim().replace(/^Error: /, '').replace(/\.$/, ''))
    .filter((l) => l && !/talking to the kernel/.test(l))
    .join('; ');
  const hint = tcFailureHint(stderr);
  if (hint) return said ? `${said}: ${hint}` : hint;
  return said || `tc exited with ${exitCode}`;
}

/**
 * A hint for a failed tc command when its message means the kernel lacks a tc module
 * (sch_ingress/clsact, cls_flower, cls_matchall, act_tunnel_key, act_gact), or tc is too old.
 */
export function tcFailureHint(stderr: string): string | undefined {
  if (/Specified qdisc kind is unknown|Unknown qdisc "clsact"/i.test(stderr))
    return 'this kernel has no clsact qdisc (CONFIG_NET_SCH_INGRESS); external tunnel ends need it';
  if (/TC classifier not found|Unknown filter/i.test(stderr))
    return 'this kernel has no flower/matchall classifier (CONFIG_NET_CLS_FLOWER, CONFIG_NET_CLS_MATCHALL; modules cls_flower, cls_matchall); external tunnel ends need them — run the lab where they exist (e.g. the VM tier)';
  if (/Failed to load TC action module|Unknown action/i.test(stderr))
    return 'this kernel has no tunnel_key/gact action (CONFIG_NET_ACT_TUNNEL_KEY, CONFIG_NET_ACT_GACT; modules act_tunnel_key, act_gact); external tunnel ends need them — run the lab where they exist (e.g. the VM tier)';
  if (/Illegal "geneve_opts"|geneve_opts/i.test(stderr) && /Usage|Illegal|unknown/i.test(stderr))
    return 'this tc (iproute2) does not understand geneve_opts; iproute2 ≥ 4.19 is needed';
  return undefined;
}
