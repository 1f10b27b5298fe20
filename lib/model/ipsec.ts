/**
 * IPsec on a tunnel, once the recipe is resolved: the underlay packets between the two ends'
 * addresses are carried in transport-mode ESP. Either IKEv2 negotiates the SAs from a pre-shared
 * key (strongSwan; on OVS ports through ovs-monitor-ipsec, on kernel netdevs through the lab's own
 * connections), or static SAs are installed with `ip xfrm` (`keys`). Secrets are `Secret`s: they
 * serialise as `<redacted>` everywhere (lib/ipsec/secret.ts).
 */
import type { Secret } from '../ipsec/secret.js';

/** One direction's static SA. */
export interface StaticSa {
  spi: number;
  /** Encryption key (AEAD: key + 4-byte salt), hex without 0x. */
  key: Secret;
  /** Authentication key for CBC+HMAC algorithms, hex without 0x. */
  authKey?: Secret;
}

export interface TunnelIpsec {
  /** IKEv2 pre-shared key. */
  psk?: Secret;
  /** ESP algorithm (lib/ipsec/algorithms.ts), e.g. aes256gcm16 or aes128-sha256. */
  esp: string;
  /** Static SAs instead of IKE: [ends[0] → ends[1], ends[1] → ends[0]]. */
  keys?: [StaticSa, StaticSa];
  /** Set when the recipe spelled it `ovs: { psk }` (OVS's own option name; reported in its words). */
  fromOvsPsk?: boolean;
}
