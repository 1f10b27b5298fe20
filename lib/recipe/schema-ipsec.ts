/**
 * The `ipsec:` block of a tunnel (what users write). Cross-field rules (one of psk/keys, key sizes
 * per algorithm, where a PSK can be used) live in semantic-ipsec.ts.
 */
import { z } from 'zod';
import { ESP_ALGORITHM_NAMES, ESP_ALGORITHMS } from '../ipsec/algorithms.js';
import { show, UNKNOWN_KEYS } from './schema.js';

function strict<T extends z.core.$ZodLooseShape>(shape: T) {
  const keys = Object.keys(shape);
  return z.strictObject(shape, { error: (iss) => (iss.code === 'unrecognized_keys' ? UNKNOWN_KEYS + keys.join(',') : undefined) });
}

/** Printable ASCII without `"` and `\`: what strongSwan's ipsec.secrets takes inside PSK "…". */
export const PSK_PATTERN = /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/;

export const pskSchema = z
  .string({ error: (iss) => `${show(iss.input)} is not a valid pre-shared key; write it as a string, e.g. psk: test123` })
  .regex(PSK_PATTERN, { error: 'a pre-shared key is printable ASCII without " and \\ (strongSwan reads it from a quoted string)' })
  .meta({ description: 'IKEv2 pre-shared key (never printed: plans, state, --json and logs show <redacted>)' });

const hexKey = (what: string) =>
  z
    .string({ error: (iss) => `${show(iss.input)} is not valid for ${what}; write the key as hex in quotes, e.g. "0x00112233…"` })
    .regex(/^(0x)?([0-9a-fA-F]{2})+$/, { error: `${what} must be hex digits (an even number of them), optionally with 0x, in quotes` })
    .meta({ description: `${what}: hex bytes in quotes, e.g. "0x0011…"` });

const spi = z
  .preprocess(
    (v) => (typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : v),
    z.int({ error: (iss) => `${show(iss.input)} is not a valid SPI; use 0x100..0xffffffff (1..255 are reserved)` }).min(0x100, { error: 'SPIs 0..255 are reserved (RFC 4303); use 0x100..0xffffffff' }).max(0xffffffff, { error: 'an SPI is 32 bits; use 0x100..0xffffffff' }),
  )
  .meta({ description: 'Security Parameter Index of this direction, 0x100..0xffffffff' });

export const staticSaSchema = strict({
  spi,
  key: hexKey('key'),
  auth_key: hexKey('auth_key').optional(),
});

export const tunnelIpsecSchema = strict({
  psk: pskSchema.optional(),
  esp: z
    .enum(ESP_ALGORITHM_NAMES, { error: (iss) => `${show(iss.input)} is not a supported ESP algorithm; use one of: ${ESP_ALGORITHM_NAMES.join(', ')}` })
    .optional()
    .meta({ description: `ESP algorithm: ${Object.values(ESP_ALGORITHMS).map((a) => `${a.name} (${a.describe})`).join('; ')}. Default aes256gcm16` }),
  keys: z
    .array(staticSaSchema, { error: (iss) => `${show(iss.input)} is not valid; keys is a list of two SAs, one per direction` })
    .length(2, { error: (iss) => `keys needs exactly two SAs (the first for traffic from the first end of "between" to the second, then the way back), got ${Array.isArray(iss.input) ? iss.input.length : show(iss.input)}` })
    .optional()
    .meta({ description: 'Static SAs instead of IKE, one per direction (between[0] → between[1], then back): { spi, key, auth_key }' }),
}).meta({ description: 'Transport-mode ESP between the tunnel ends\' underlay addresses: psk (IKEv2 via strongSwan) or keys (static SAs with ip xfrm)' });

export type RawTunnelIpsec = z.output<typeof tunnelIpsecSchema>;
