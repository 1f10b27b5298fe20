/**
 * Naming rules shared by the recipe layer and the planner: object names users write, and the
 * kernel's 15-byte limit on interface names (IFNAMSIZ 16 including the NUL).
 */
import { createHash } from 'node:crypto';

/** Object names: lower-case, start with a letter, no "--" (reserved as the network-namespace separator). */
export const NAME_RE = /^[a-z][a-z0-9-]*$/;
export const LAB_NAME_MAX = 20;
export const IFNAME_MAX_BYTES = 15;

/** Why `name` is not a valid object name, or undefined when it is. */
export function nameProblem(name: string): string | undefined {
  if (!NAME_RE.test(name)) return `"${name}" is not a valid name; use lower-case letters, digits and "-", starting with a letter`;
  if (name.includes('--')) return `"${name}" contains "--", which is reserved; use a single "-"`;
  if (name.endsWith('-')) return `"${name}" ends with "-"; end with a letter or digit`;
  return undefined;
}

/** True when the kernel accepts `name` as a link name. */
export function isValidIfname(name: string): boolean {
  return (
    name.length > 0 &&
    Buffer.byteLength(name) <= IFNAME_MAX_BYTES &&
    name !== '.' &&
    name !== '..' &&
    !/[\s/:]/.test(name)
  );
}

/**
 * An interface name that fits in 15 bytes: `name` itself when it fits, else its first 10
 * characters, "-" and 4 hex digits of its SHA-1 (stable across runs, so teardown finds it again).
 */
export function safeIfname(name: string): string {
  if (Buffer.byteLength(name) <= IFNAME_MAX_BYTES) return name;
  const hash = createHash('sha1').update(name).digest('hex').slice(0, 4);
  return `${name.slice(0, 10)}-${hash}`;
}

export function hostNs(lab: string, name: string): string {
  return `gl-${lab}-${name}`;
}
export function networkNs(lab: string, network: string): string {
  return `gl-${lab}--${network}`;
}
export function nsPrefix(lab: string): string {
  return `gl-${lab}-`;
}
export function labTag(lab: string): string {
  return `geneve-lab:${lab}`;
}
