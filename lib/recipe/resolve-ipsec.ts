/** A tunnel's `ipsec:` (or OVS's `ovs: { psk }`) → the model's TunnelIpsec, secrets wrapped. */
import type { StaticSa, TunnelIpsec } from '../model/ipsec.js';
import { DEFAULT_ESP } from '../ipsec/algorithms.js';
import { secret } from '../ipsec/secret.js';
import type { RawTunnel } from './schema.js';

const hex = (h: string) => h.replace(/^0x/i, '').toLowerCase();

export function resolveIpsec(t: RawTunnel): TunnelIpsec | undefined {
  if (t.ipsec) {
    const out: TunnelIpsec = { esp: t.ipsec.esp ?? DEFAULT_ESP };
    if (t.ipsec.psk !== undefined) out.psk = secret(t.ipsec.psk);
    if (t.ipsec.keys)
      out.keys = t.ipsec.keys.map((k): StaticSa => ({ spi: k.spi, key: secret(hex(k.key)), ...(k.auth_key !== undefined ? { authKey: secret(hex(k.auth_key)) } : {}) })) as [StaticSa, StaticSa];
    return out;
  }
  if (t.ovs?.psk !== undefined) return { psk: secret(t.ovs.psk), esp: DEFAULT_ESP, fromOvsPsk: true };
  return undefined;
}
