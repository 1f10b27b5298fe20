/**
 * Recipe schema pieces for routed topologies (issue 14, items 6 and 8): `routers:`, `routes:` on
 * hosts, and the link tuning every interface the lab makes accepts (`offloads:`, `gso_max_size`,
 * `gro_max_size`).
 *
 * schema.ts owns the shared field builders (names, CIDRs, MTUs, strict maps) and calls
 * `topologySchemas` once they exist: this module is imported by schema.ts, so it cannot read
 * schema.ts's constants at its own top level (an import cycle would see them uninitialised).
 */
import { z } from 'zod';
import { suggest } from './locate.js';

/** The schema.ts builders this module needs (passed in; see the module comment). */
export interface SchemaBase {
  obj: <T extends z.core.$ZodLooseShape>(shape: T, description?: string) => z.ZodObject<T>;
  nameSchema: z.ZodType<string>;
  cidr: (family?: 'ipv4' | 'ipv6') => z.ZodType<string>;
  ifname: z.ZodType<string>;
  mtu: z.ZodType<number>;
  intIn: (min: number, max: number, what: string, hexLimits?: boolean) => z.ZodType<number>;
  show: (v: unknown) => string;
  routeSchema: z.ZodType<{ to: string; via?: string | undefined; dev?: string | undefined }>;
}

/**
 * Feature names `ethtool -K` accepts: its short names, the names `ethtool -k` prints (old display
 * names and the kernel's feature strings), as of ethtool 6.1 / Linux 6.18. A name outside the list
 * is refused at validation (with the nearest name), so a typo never waits for `up`.
 */
export const ETHTOOL_SHORT_NAMES = ['rx', 'tx', 'sg', 'tso', 'ufo', 'gso', 'gro', 'lro', 'rxvlan', 'txvlan', 'ntuple', 'rxhash'] as const;
export const ETHTOOL_FEATURES: readonly string[] = [
  ...ETHTOOL_SHORT_NAMES,
  // ethtool's display names of the classic features
  'rx-checksumming', 'tx-checksumming', 'scatter-gather', 'tcp-segmentation-offload', 'udp-fragmentation-offload',
  'generic-segmentation-offload', 'generic-receive-offload', 'large-receive-offload', 'rx-vlan-offload',
  'tx-vlan-offload', 'ntuple-filters', 'receive-hashing',
  // the kernel's netdev feature strings (net/ethtool/common.c)
  'tx-scatter-gather', 'tx-checksum-ipv4', 'tx-checksum-ip-generic', 'tx-checksum-ipv6', 'highdma',
  'tx-scatter-gather-fraglist', 'tx-vlan-hw-insert', 'rx-vlan-hw-parse', 'rx-vlan-filter', 'vlan-challenged',
  'tx-generic-segmentation', 'rx-gro', 'rx-lro', 'tx-tcp-segmentation', 'tx-gso-robust', 'tx-tcp-ecn-segmentation',
  'tx-tcp-mangleid-segmentation', 'tx-tcp6-segmentation', 'tx-tcp-accecn-segmentation', 'tx-fcoe-segmentation',
  'tx-gre-segmentation', 'tx-gre-csum-segmentation', 'tx-ipxip4-segmentation', 'tx-ipxip6-segmentation',
  'tx-udp_tnl-segmentation', 'tx-udp_tnl-csum-segmentation', 'tx-gso-partial', 'tx-tunnel-remcsum-segmentation',
  'tx-sctp-segmentation', 'tx-esp-segmentation', 'tx-udp-segmentation', 'tx-gso-list', 'tx-checksum-fcoe-crc',
  'tx-checksum-sctp', 'fcoe-mtu', 'rx-ntuple-filter', 'rx-hashing', 'rx-checksum', 'tx-nocache-copy', 'loopback',
  'rx-fcs', 'rx-all', 'tx-vlan-stag-hw-insert', 'rx-vlan-stag-hw-parse', 'rx-vlan-stag-filter', 'l2-fwd-offload',
  'hw-tc-offload', 'esp-hw-offload', 'esp-tx-csum-hw-offload', 'rx-udp_tunnel-port-offload', 'tls-hw-tx-offload',
  'tls-hw-rx-offload', 'rx-gro-hw', 'tls-hw-record', 'rx-gro-list', 'macsec-hw-offload', 'rx-udp-gro-forwarding',
  'hsr-tag-ins-offload', 'hsr-tag-rm-offload', 'hsr-fwd-offload', 'hsr-dup-offload',
];

/** Largest GSO/GRO size the kernel has (GSO_MAX_SIZE with BIG TCP); a device may allow less (tso_max_size). */
export const GSO_GRO_MAX = 524288;

export function topologySchemas(b: SchemaBase) {
  const onOff = z
    .union([z.boolean(), z.enum(['on', 'off'])], { error: (iss) => `${b.show(iss.input)} is not valid for an offload; use on/off (or true/false)` })
    .transform((v) => v === true || v === 'on');
  const offloads = z
    .record(z.string(), onOff)
    .superRefine((m, ctx) => {
      for (const k of Object.keys(m))
        if (!ETHTOOL_FEATURES.includes(k))
          ctx.addIssue({ code: 'custom', path: [k], message: `"${k}" is not an ethtool feature name${suggest(k, ETHTOOL_FEATURES)}; use a name \`ethtool -k\` lists (e.g. tso, gro, tx-udp_tnl-segmentation) or a short name (${ETHTOOL_SHORT_NAMES.join(', ')})` });
    })
    .meta({ description: 'ethtool -K features: { tso: off, tx-udp_tnl-segmentation: on, … } (names as `ethtool -k` lists them, or ethtool\'s short names)' });
  const size = (what: string) => b.intIn(1, GSO_GRO_MAX, what).meta({ description: `${what} in bytes (ip link set … ${what.split(' ')[0]}); the device may allow less` });

  /** Spread into every interface the lab makes: host NICs, guests, switches, router interfaces, tunnels. */
  const linkTuningFields = {
    offloads: offloads.optional(),
    gso_max_size: size('gso_max_size').optional(),
    gro_max_size: size('gro_max_size').optional(),
  };

  const routerInterfaceSchema = b.obj({
    network: b.nameSchema.optional().meta({ description: 'Network name; default: the only network' }),
    ipv4: b.cidr('ipv4').optional(),
    ipv6: b.cidr('ipv6').optional(),
    mtu: b.mtu.optional().meta({ description: 'MTU of this interface (both ends of its veth); default: the network\'s MTU' }),
    ifname: b.ifname.optional().meta({ description: 'Interface name in the router; default: the network name' }),
    ...linkTuningFields,
  });

  const routerSchema = b.obj(
    {
      name: b.nameSchema,
      interfaces: z.array(routerInterfaceSchema, { error: (iss) => `${b.show(iss.input)} is not valid; expected a list of interfaces` }).min(1, { error: 'a router needs at least one interface (usually two: one per network it joins)' }),
      routes: z.array(b.routeSchema).optional().meta({ description: 'Static routes, e.g. { to: 198.51.100.0/24, via: 203.0.113.2 }' }),
      icmp_too_big: z
        .enum(['send', 'drop'], { error: (iss) => `${b.show(iss.input)} is not valid for icmp_too_big; use send or drop` })
        .optional()
        .meta({ description: 'send (default): answer too-big packets with ICMP "fragmentation needed"/"packet too big"; drop: an nftables rule in the router drops those errors (a PMTU black hole)' }),
    },
    'A router: a namespace with IPv4 and IPv6 forwarding on, an interface on each network it joins, static routes',
  );

  return { linkTuningFields, routerSchema, routerInterfaceSchema };
}
