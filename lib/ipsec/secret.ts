/**
 * A secret (an IKE pre-shared key, a static ESP key) that flows through the model and the plan
 * without ever being printed. JSON.stringify, util.inspect and string conversion all show
 * `<redacted>`, so the plan printed by `plan`, the `plan` event behind --json and the TUI, the
 * state file and every report carry no secret value, whatever code path serialises them. Only
 * the code that hands the value to its consumer (a 0600 file, the stdin of a process) calls
 * `reveal`. The value never goes into an argv (ps shows argv to every user).
 */
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';

export const REDACTED = '<redacted>';

export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  toJSON(): string {
    return REDACTED;
  }
  toString(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
  /** The value, for the one place that must hand it over (a 0600 file, a process's stdin). */
  reveal(): string {
    return this.#value;
  }
  get length(): number {
    return this.#value.length;
  }
}

export const secret = (value: string): Secret => new Secret(value);

export function isSecret(v: unknown): v is Secret {
  return v instanceof Secret;
}

/** JSON of `v` where each secret is replaced by a salted digest of its value (for plan hashes). */
export function jsonWithSecretDigests(v: unknown, salt: string): string {
  return JSON.stringify(v, function (this: Record<string, unknown>, key: string, value: unknown) {
    const original = key === '' ? value : this[key];
    return isSecret(original) ? `secret:${createHash('sha256').update(salt).update('\0').update(original.reveal()).digest('hex')}` : value;
  });
}
