/**
 * External (collect-metadata) kernel tunnel ends. The device itself only gets what the kernel
 * accepts on such a device (port, source-port range, IPv6 zero-checksum receive, L3 mode); the
 * per-packet key — addresses, VNI, TTL/TOS, checksum, Geneve options — becomes tc rules on it
 * (lib/tc/tunnel-key.ts), one `tc.tunnel` op per external end. Pure, like the rest of the planner.
 */
import type { GeneveParams, Tunnel, TunnelEnd, VxlanParams } from '../model/types.js';
import type { Op } from './ops.js';
import { endView } from '../model/tunnel-end.js';

/** The outer TTL when the recipe gives none (or `auto`): an external device has no route fallback. */
export const EXTERNAL_DEFAULT_TTL = 64;

/** A kernel netdev end of a tunnel whose recipe says `external: true` (OVS ends are flow-based anyway). */
export function isExternalEnd(t: Tunnel, end: TunnelEnd): boolean {
  const index = t.ends.indexOf(end);
  return index >= 0 && endView(t, index as 0 | 1).external;
}

/**
 * The device parameters of an external end: the kernel refuses a key (VNI, remote, TTL, TOS,
 * label, checksum flag) on a collect-metadata device ("Device is externally controlled"), so
 * those move to tc; DF would be silently ignored, so semantic.ts refuses it.
 */
export function externalLinkParams<P extends GeneveParams | VxlanParams>(p: P): P {
  const { vni: _vni, ttl: _ttl, tos: _tos, df: _df, flowlabel: _label, udpcsum: _csum, udp6zerocsumtx: _zero6tx, ...kept } = p;
  return kept as P;
}

/** The tc rules that make external end `index` a point-to-point tunnel to the other end. */
export function externalTunnelOp(t: Tunnel, index: 0 | 1, ns: string): Extract<Op, { op: 'tc.tunnel' }> | undefined {
  const v = endView(t, index);
  const end = v.end;
  if (!v.external) return undefined;
  // This end's own values (ends: …) over the tunnel-wide ones.
  const p: GeneveParams | VxlanParams = (t.type === 'geneve' ? v.geneve : v.vxlan) ?? {};
  const vni = p.vni ?? 0;
  const dstPort = p.dstport ?? (t.type === 'geneve' ? 6081 : 4789);
  // Geneve options per direction (OVN's port keys swap on the way back); the peer — an OVS port
  // or another external end — sends them, so they are required on receive as well.
  const { send, accept } = t.type === 'geneve' ? { send: v.options, accept: v.accept } : { send: [], accept: [] };
  // Same checksum defaults as a plain device: off over IPv4 unless udpcsum, on over IPv6 unless udp6zerocsumtx.
  const csum = t.family === 'ipv6' ? p.udp6zerocsumtx !== true : p.udpcsum === true;
  return {
    op: 'tc.tunnel',
    ns,
    dev: end.ifname,
    egress: {
      src: end.local,
      dst: v.remote,
      vni,
      dstPort,
      ttl: typeof p.ttl === 'number' ? p.ttl : EXTERNAL_DEFAULT_TTL,
      ...(typeof p.tos === 'number' ? { tos: p.tos } : {}),
      csum,
      ...(send.length ? { options: send } : {}),
    },
    // This end accepts its own VNI (a peer sending another one is dropped, as between plain devices).
    ingress: { src: v.remote, dst: end.local, vni, dstPort, ...(accept.length ? { options: accept } : {}) },
  };
}

