/**
 * Cross-field rules of a tunnel's IPsec (`ipsec:` or OVS's `ovs: { psk }`), in the recipe's words.
 * What only the running machine can decide (the OVS datapath `auto`) is the planner's
 * (lib/plan/ipsec.ts), which refuses before anything is built.
 */
import type { TunnelImpl } from '../model/types.js';
import { DEFAULT_ESP, espAlgorithm } from '../ipsec/algorithms.js';
import type { Path } from './locate.js';
import type { RawTunnel } from './schema.js';

export interface IpsecTunnelFacts {
  type: 'geneve' | 'vxlan' | 'gre';
  impls: [TunnelImpl, TunnelImpl];
  hosts: [string, string];
  /** Whether a host is reached over SSH (the machine's own services). */
  onSsh(host: string): boolean;
}

/** The UDP ports ovs-monitor-ipsec writes into its strongSwan connections (it knows no others). */
export const OVS_IPSEC_PORTS: Record<string, number> = { geneve: 6081, vxlan: 4789 };

const hexBytes = (h: string) => h.replace(/^0x/i, '').length / 2;

export function ipsecRules(t: RawTunnel, f: IpsecTunnelFacts, e: (k: string | Path, msg: string) => void): void {
  const ovsPsk = t.ovs?.psk;
  const ip = t.ipsec;
  if (ovsPsk === undefined && ip === undefined) return;
  if (ovsPsk !== undefined && ip !== undefined) {
    e(['ovs', 'psk'], 'ovs.psk and ipsec both configure IPsec; keep one (ipsec: { psk } works for OVS ports and kernel netdevs alike)');
    return;
  }
  const psk = ip?.psk ?? ovsPsk;
  const where = ip ? 'ipsec' : ['ovs', 'psk'];
  if (ip && (ip.psk === undefined) === (ip.keys === undefined)) {
    e('ipsec', ip.psk === undefined ? 'ipsec needs psk (IKEv2 negotiates the SAs) or keys (two static SAs); add one of them' : 'ipsec has both psk and keys; use psk (IKEv2) or keys (static SAs), not both');
    return;
  }
  const alg = espAlgorithm(ip?.esp ?? DEFAULT_ESP);
  if (ip?.keys) {
    ip.keys.forEach((k, i) => {
      const at = (x: string): Path => ['ipsec', 'keys', i, x];
      const wantKey = alg.aead?.keyBytes ?? alg.enc!.keyBytes;
      if (hexBytes(k.key) !== wantKey) e(at('key'), `${alg.name} needs a ${wantKey}-byte key (${wantKey * 2} hex digits${alg.aead ? ': 16 or 32 bytes of AES key + 4 bytes of salt' : ''}), got ${hexBytes(k.key)} bytes`);
      if (alg.aead && k.auth_key !== undefined) e(at('auth_key'), `${alg.name} is an AEAD algorithm (GCM authenticates with its own key); remove auth_key`);
      if (alg.auth && k.auth_key === undefined) e(at('key'), `${alg.name} also needs auth_key: a ${alg.auth.keyBytes}-byte HMAC key (${alg.auth.keyBytes * 2} hex digits)`);
      else if (alg.auth && k.auth_key !== undefined && hexBytes(k.auth_key) !== alg.auth.keyBytes) e(at('auth_key'), `${alg.name} needs a ${alg.auth.keyBytes}-byte auth_key (${alg.auth.keyBytes * 2} hex digits), got ${hexBytes(k.auth_key)} bytes`);
    });
    if (ip.keys[0]!.spi === ip.keys[1]!.spi) e(['ipsec', 'keys', 1, 'spi'], `both directions use SPI 0x${ip.keys[0]!.spi.toString(16)}; give each direction its own SPI`);
  }
  if (psk !== undefined) {
    // A kernel netdev end needs the lab's own IKE connections; on a real machine that would mean
    // rewriting the owner's strongSwan configuration, which the lab never does.
    const sshKernel = f.hosts.filter((h, i) => f.impls[i] === 'kernel' && f.onSsh(h));
    if (sshKernel.length)
      e(where, `a pre-shared key on a kernel netdev end needs geneve-lab's own IKE daemon, and host${sshKernel.length > 1 ? 's' : ''} ${sshKernel.map((h) => `"${h}"`).join(', ')} ${sshKernel.length > 1 ? 'are SSH hosts' : 'is an SSH host'} (the machine's strongSwan is never reconfigured); use static keys (ipsec: { keys: [...] }) or an OVS port there (its openvswitch-ipsec service does the IKE)`);
    // ovs-monitor-ipsec protects only the default UDP port (its strongSwan connections name it).
    const std = OVS_IPSEC_PORTS[f.type];
    if (std !== undefined && t.dstport !== undefined && t.dstport !== std && f.impls.includes('ovs'))
      e('dstport', `ovs-monitor-ipsec protects ${f.type} only on UDP port ${std}; with dstport ${t.dstport} the OVS end's packets would not be encrypted. Remove dstport, or use static keys (ipsec: { keys: [...] })`);
  }
}
