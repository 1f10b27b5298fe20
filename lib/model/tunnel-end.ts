/**
 * Per-end tunnel parameters. A tunnel's settings are tunnel-wide by default; `ends:` in a recipe
 * overrides any of them for one end (`TunnelEnd.overrides`). `endView(tunnel, index)` is the
 * tunnel as that end sees it — the overrides merged over the tunnel-wide values — and is what
 * every planner and port builder reads, so a tunable is per end everywhere at once.
 *
 * Geneve options are directional: an end's `options` are what it SENDS; what it accepts from the
 * tunnel is what the other end sends. Tunnel-wide options describe ends[0] → ends[1]; ends[1]
 * sends them unchanged, except options made by the `ovn:` sugar, whose ingress/egress port keys
 * swap on the way back (a reply goes from the egress port back to the ingress port). Raw
 * `options:` go on the wire exactly as written in both directions, whatever their class.
 */
import type { DfMode, GeneveOption, GeneveParams, GreParams, OvsTunnelParams, Tunnel, TunnelEnd, VxlanParams } from './types.js';

/** What `ends: { <name>: {...} }` sets for one end. Unset fields take the tunnel-wide value. */
export interface EndOverrides {
  /** Geneve/VXLAN VNI this end sends and accepts. */
  vni?: number;
  /** GRE key, or the key of an OVS port in both directions (`flow` = from the flow's tun_id). */
  key?: number | 'flow';
  /** OVS ports: the key accepted / sent (`flow` = tun_id). */
  inKey?: number | 'flow';
  outKey?: number | 'flow';
  dstport?: number;
  /** This end's own underlay address (or `flow` on an OVS port whose remote is `flow`). */
  localIp?: string | 'flow';
  /** Where this end sends: an address, or `flow` (OVS: the flows set tun_dst / tun_ipv6_dst). */
  remote?: string | 'flow';
  /** Kernel ends: a collect-metadata device keyed by tc. */
  external?: boolean;
  udpcsum?: boolean;
  udp6zerocsumtx?: boolean;
  udp6zerocsumrx?: boolean;
  tos?: number | 'inherit';
  ttl?: number | 'inherit' | 'auto';
  df?: DfMode;
  /** Geneve options this end sends (replaces the tunnel-wide list for this end). */
  options?: GeneveOption[];
  /** Kernel L2 tunnel device: its MAC address. */
  mac?: string;
  /**
   * OVS: the tunnel port this end uses, when several tunnels share one flow-based port on the
   * same switch (the port's name; TunnelEnd.ifname is set to it by the resolver).
   */
  port?: string;
}

/** The tunnel as end `index` sees it: same shape as Tunnel, with that end's values. */
export interface TunnelEndView extends Tunnel {
  index: 0 | 1;
  end: TunnelEnd;
  peer: TunnelEnd;
  /** Where this end sends: the peer's address, an override, or `flow`. */
  remote: string;
  /** What this end sends (tunnel-wide options, or the end's own). */
  options: GeneveOption[];
  /** What this end requires from the tunnel: what the peer sends. */
  accept: GeneveOption[];
  external: boolean;
  mac?: string;
}

const pickDefined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/** Options as ends[1] sends the tunnel-wide list: OVN sugar swapped, raw options unchanged. */
function backward(opts: readonly GeneveOption[]): GeneveOption[] {
  return opts.map((o) => (o.ovn ? swapOvnPorts(o) : o));
}

/** OVN's port-key option with ingress and egress exchanged (multicast egress keys stay as they are). */
export function swapOvnPorts(o: GeneveOption): GeneveOption {
  if (o.data.length !== 8) return o;
  const ingress = parseInt(o.data.slice(0, 4), 16) & 0x7fff;
  const egress = parseInt(o.data.slice(4), 16);
  if (egress > 0x7fff) return o;
  return { ...o, data: egress.toString(16).padStart(4, '0') + ingress.toString(16).padStart(4, '0') };
}

/** The options end `index` sends. */
export function sentOptions(t: Tunnel, index: 0 | 1): GeneveOption[] {
  const own = t.ends[index].overrides?.options;
  // Plain class/type/data from here on: where an option came from matters only for the swap.
  const plain = (o: GeneveOption): GeneveOption => ({ class: o.class, type: o.type, data: o.data });
  if (own) return own.map(plain);
  return (index === 0 ? t.options : backward(t.options)).map(plain);
}

/** What each end puts on the packets it sends and requires on those it receives. */
export function endOptions(t: Tunnel, index: 0 | 1): { send: GeneveOption[]; accept: GeneveOption[] } {
  return { send: sentOptions(t, index), accept: sentOptions(t, index === 0 ? 1 : 0) };
}

/** The tunnel as seen from end `index`: overrides merged over the tunnel-wide values. */
export function endView(t: Tunnel, index: 0 | 1): TunnelEndView {
  const end = t.ends[index];
  const peer = t.ends[index === 0 ? 1 : 0];
  const o = end.overrides ?? {};
  const udp = pickDefined({
    vni: o.vni ?? (typeof o.key === 'number' ? o.key : undefined),
    dstport: o.dstport,
    ttl: o.ttl,
    tos: o.tos,
    df: o.df,
    udpcsum: o.udpcsum,
    udp6zerocsumtx: o.udp6zerocsumtx,
    udp6zerocsumrx: o.udp6zerocsumrx,
    external: o.external,
  });
  const view: TunnelEndView = {
    ...t,
    index,
    end,
    peer,
    remote: o.remote ?? end.remote,
    options: sentOptions(t, index),
    accept: sentOptions(t, index === 0 ? 1 : 0),
    external: false,
  };
  if (t.type === 'geneve') view.geneve = { ...(t.geneve ?? {}), ...(udp as Partial<GeneveParams>) };
  if (t.type === 'vxlan') view.vxlan = { ...(t.vxlan ?? {}), ...(udp as Partial<VxlanParams>) };
  if (t.type === 'gre') {
    const gre: GreParams = { ...(t.gre ?? {}), ...pickDefined({ key: typeof o.key === 'number' ? o.key : undefined, ttl: o.ttl === 'auto' ? undefined : o.ttl, tos: o.tos }) } as GreParams;
    view.gre = gre;
  }
  // OVS port options: per-end values win over the tunnel's `ovs:` block.
  const ovs: OvsTunnelParams = { ...(t.ovs ?? {}) };
  if (o.key !== undefined) {
    ovs.key = o.key;
    delete ovs.inKey;
    delete ovs.outKey;
  } else if (o.vni !== undefined && (ovs.key !== undefined || ovs.inKey !== undefined || ovs.outKey !== undefined)) {
    // A per-end VNI replaces a tunnel-wide OVS key setting for this end.
    ovs.key = o.vni;
    delete ovs.inKey;
    delete ovs.outKey;
  }
  if (o.inKey !== undefined || o.outKey !== undefined) {
    delete ovs.key;
    if (o.inKey !== undefined) ovs.inKey = o.inKey;
    if (o.outKey !== undefined) ovs.outKey = o.outKey;
  }
  // The end's own df / checksum settings win over the tunnel's OVS spellings of them.
  if ((o.df === 'set' || o.df === 'unset') && ovs.dfDefault !== undefined) ovs.dfDefault = o.df === 'set';
  if (o.udpcsum !== undefined && ovs.csum !== undefined) ovs.csum = o.udpcsum;
  if (o.localIp !== undefined) ovs.localIp = o.localIp;
  if (o.remote === 'flow') ovs.remoteIp = 'flow';
  if (Object.keys(ovs).length || t.ovs) view.ovs = ovs;
  view.external = end.impl === 'kernel' && (t.type === 'geneve' ? view.geneve?.external === true : t.type === 'vxlan' ? view.vxlan?.external === true : false);
  if (o.mac !== undefined) view.mac = o.mac;
  return view;
}

/** The larger of the two ends' option bytes (each end may send a different list). */
export function worstOptions(t: Tunnel): GeneveOption[] {
  const a = sentOptions(t, 0);
  const b = sentOptions(t, 1);
  const size = (x: GeneveOption[]) => x.reduce((n, o) => n + 4 + o.data.length / 2, 0);
  return size(b) > size(a) ? b : a;
}
