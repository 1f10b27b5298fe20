/**
 * Secrets out of what OVS and the kernel print: an Interface's options:psk (`ovs-vsctl show`, the
 * status view) and the keys in `ip xfrm state`. For every text the lab prints or keeps as an
 * artifact that could carry one.
 */
import { REDACTED } from './secret.js';

/** OVS options with psk's value replaced. */
export function redactOvsOptions(options: Record<string, string>): Record<string, string> {
  return 'psk' in options ? { ...options, psk: REDACTED } : options;
}

/** `psk=…` / `psk="…"` (ovs-vsctl's map syntax) and `PSK "…"` (ipsec.secrets syntax) in any text. */
export function redactPskText(text: string): string {
  return text.replace(/\bpsk=("(?:[^"\\]|\\.)*"|[^,\s}]+)/g, `psk=${REDACTED}`).replace(/\bPSK "[^"\n]*"/g, `PSK "${REDACTED}"`);
}

/** `ip xfrm state` with every key (aead/enc/auth) replaced. */
export function redactXfrmKeys(text: string): string {
  return text.replace(/^(\s*(?:aead|enc|auth|auth-trunc|comp) \S+ )0x[0-9a-f]+/gim, `$1${REDACTED}`);
}
