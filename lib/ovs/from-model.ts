/**
 * Bridge from the resolved lab model (lib/model/types.ts) to this layer's specs, so the
 * planner maps a Tunnel end with impl "ovs" to exactly one TunnelPortSpec.
 */
import type { Tunnel } from '../model/types.js';
import type { TunnelPortSpec } from './tunnel-port.js';
import { endView } from '../model/tunnel-end.js';

/**
 * The OVS port for `tunnel.ends[end]`. `bridge` is the OVS bridge (the switch's ifname).
 * OVS-only settings (tunnel.ovs) win over the kernel-style parameters they overlap with.
 */
export function tunnelPortFromModel(t: Tunnel, end: 0 | 1, bridge: string, lab: string): TunnelPortSpec {
  // This end's view: its own `ends:` values over the tunnel-wide ones (lib/model/tunnel-end.ts).
  const tunnel = endView(t, end);
  const e = tunnel.end;
  const p = tunnel.type === 'geneve' ? tunnel.geneve : tunnel.type === 'vxlan' ? tunnel.vxlan : undefined;
  const g = tunnel.type === 'gre' ? tunnel.gre : undefined;
  const o = tunnel.ovs ?? {};
  const baseKey = p?.vni ?? g?.key;
  const ttl = p?.ttl ?? g?.ttl;
  const tos = p?.tos ?? g?.tos;
  const df = p?.df;
  // OVS sends Geneve/VXLAN over IPv6 with a zero UDP checksum unless csum=true, and a Linux
  // tunnel device drops those unless it was made with udp6zerocsumrx: so towards a kernel end
  // over IPv6 the port sends checksums unless the recipe says otherwise.
  const kernelPeer = tunnel.peer.impl === 'kernel';
  // What the kernel peer accepts is its own setting, not this end's.
  const peerP = kernelPeer ? (tunnel.type === 'geneve' ? endView(t, end === 0 ? 1 : 0).geneve : tunnel.type === 'vxlan' ? endView(t, end === 0 ? 1 : 0).vxlan : undefined) : undefined;
  const v6Default = p && tunnel.family === 'ipv6' && kernelPeer && !peerP?.udp6zerocsumrx ? true : undefined;
  const csum = o.csum ?? p?.udpcsum ?? g?.csum ?? v6Default;
  const key = o.key ?? (o.inKey === undefined && o.outKey === undefined ? baseKey : undefined);
  const spec: TunnelPortSpec = {
    bridge,
    name: e.ifname,
    // IPsec (tunnel.ipsec) is not a port type since OVS 2.11: the PSK goes into options:psk
    // separately (lib/ipsec, never on a command line), ovs-monitor-ipsec does the rest.
    type: tunnel.type,
    lab,
    remoteIp: o.remoteIp ?? tunnel.remote,
    ...(o.localIp !== undefined ? { localIp: o.localIp } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(o.inKey !== undefined ? { inKey: o.inKey } : {}),
    ...(o.outKey !== undefined ? { outKey: o.outKey } : {}),
    ...(p?.dstport !== undefined ? { dstPort: p.dstport } : {}),
    ...(ttl !== undefined && ttl !== 'auto' ? { ttl } : {}),
    ...(tos !== undefined ? { tos } : {}),
    ...(o.dfDefault !== undefined ? { dfDefault: o.dfDefault } : df === 'set' ? { dfDefault: true } : df === 'unset' ? { dfDefault: false } : {}),
    ...(csum !== undefined ? { csum } : {}),
    ...(o.egressPktMark !== undefined ? { egressPktMark: o.egressPktMark } : {}),
  };
  return spec;
}
