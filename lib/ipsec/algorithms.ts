/**
 * The ESP algorithms a lab can ask for, by the names strongSwan proposals use (`esp=aes128-sha256`),
 * with what the kernel calls them (`ip xfrm state … aead 'rfc4106(gcm(aes))' …`) and the key sizes
 * static keys must have. One table for the IKE configuration, the static `ip xfrm` argv, the
 * recipe validation and the docs. The decoder (lib/wire/esp.ts) knows the kernel names on its own.
 */

export interface EspAlgorithm {
  name: string;
  /** AEAD (AES-GCM, RFC 4106): one key = AES key + 4-byte salt; no separate authentication key. */
  aead?: { kernel: string; keyBytes: number; icvBits: number };
  /** Cipher + HMAC (AES-CBC with HMAC-SHA1-96 / HMAC-SHA-256-128). */
  enc?: { kernel: string; keyBytes: number };
  auth?: { kernel: string; keyBytes: number; icvBits: number };
  describe: string;
}

export const ESP_ALGORITHMS: Record<string, EspAlgorithm> = {
  aes128gcm16: { name: 'aes128gcm16', aead: { kernel: 'rfc4106(gcm(aes))', keyBytes: 20, icvBits: 128 }, describe: 'AES-128-GCM, 16-byte ICV (RFC 4106); a static key is 20 bytes: 16 of key + 4 of salt' },
  aes256gcm16: { name: 'aes256gcm16', aead: { kernel: 'rfc4106(gcm(aes))', keyBytes: 36, icvBits: 128 }, describe: 'AES-256-GCM, 16-byte ICV (RFC 4106), what OVS negotiates by default; a static key is 36 bytes: 32 of key + 4 of salt' },
  'aes128-sha1': { name: 'aes128-sha1', enc: { kernel: 'cbc(aes)', keyBytes: 16 }, auth: { kernel: 'hmac(sha1)', keyBytes: 20, icvBits: 96 }, describe: 'AES-128-CBC with HMAC-SHA1-96; static keys: 16-byte key, 20-byte auth_key' },
  'aes256-sha1': { name: 'aes256-sha1', enc: { kernel: 'cbc(aes)', keyBytes: 32 }, auth: { kernel: 'hmac(sha1)', keyBytes: 20, icvBits: 96 }, describe: 'AES-256-CBC with HMAC-SHA1-96; static keys: 32-byte key, 20-byte auth_key' },
  'aes128-sha256': { name: 'aes128-sha256', enc: { kernel: 'cbc(aes)', keyBytes: 16 }, auth: { kernel: 'hmac(sha256)', keyBytes: 32, icvBits: 128 }, describe: 'AES-128-CBC with HMAC-SHA-256-128; static keys: 16-byte key, 32-byte auth_key' },
  'aes256-sha256': { name: 'aes256-sha256', enc: { kernel: 'cbc(aes)', keyBytes: 32 }, auth: { kernel: 'hmac(sha256)', keyBytes: 32, icvBits: 128 }, describe: 'AES-256-CBC with HMAC-SHA-256-128; static keys: 32-byte key, 32-byte auth_key' },
};

export const ESP_ALGORITHM_NAMES = Object.keys(ESP_ALGORITHMS) as [string, ...string[]];

/** What OVS's ovs-monitor-ipsec proposes (ipsec.conf `esp=aes256gcm16-modp2048`), and so the lab's default. */
export const DEFAULT_ESP = 'aes256gcm16';

/** IKEv2 proposal of the lab's own connections: the same as ovs-monitor-ipsec's, so OVS and kernel ends agree. */
export const IKE_PROPOSAL = 'aes256gcm16-sha256-modp2048';

/** The ESP proposal for strongSwan: the algorithm plus the DH group OVS uses for rekeying (PFS). */
export function espProposal(alg: string): string {
  return `${alg}-modp2048`;
}

export function espAlgorithm(name: string): EspAlgorithm {
  const a = ESP_ALGORITHMS[name];
  if (!a) throw new Error(`internal: unknown ESP algorithm ${name}`);
  return a;
}

/**
 * Bytes transport-mode ESP adds to a packet at most: SPI and sequence number (8), the IV (8 for
 * GCM, 16 for CBC), padding to the cipher's block (GCM 4, CBC 16) plus pad length and next header
 * (2), and the ICV. What a guest MTU must leave room for on top of the tunnel's own headers.
 */
export function espOverhead(a: EspAlgorithm): number {
  if (a.aead) return 8 + 8 + (3 + 2) + a.aead.icvBits / 8;
  return 8 + 16 + (15 + 2) + a.auth!.icvBits / 8;
}

/** ESP overhead of a tunnel with IPsec, 0 without. */
export function ipsecOverhead(t: { ipsec?: { esp: string } }): number {
  return t.ipsec ? espOverhead(espAlgorithm(t.ipsec.esp)) : 0;
}
