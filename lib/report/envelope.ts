/**
 * The one shape of every `--json` document (the machine contract, docs in README "JSON output"):
 *
 *   { "schema": "geneve-lab/<verb>/v1", "lab", "verb", "ok", "exit_code", …the verb's own fields }
 *
 * with snake_case keys all the way down, numbers as numbers, and errors as
 * `{ "error": { "code": "<stable code>", "message", … } }` — never a JavaScript class name.
 * Every verb goes through `envelope()` (cli/output.ts), so a new verb gets the contract for free.
 */
import { LabError, ExitCode, type ErrorCode } from '../errors.js';

export const SCHEMA_VERSION = 'v1';
export const schemaId = (verb: string) => `geneve-lab/${verb}/${SCHEMA_VERSION}`;

export interface Envelope {
  schema: string;
  lab: string | null;
  verb: string;
  ok: boolean;
  exit_code: number;
  [field: string]: unknown;
}

/** Keys written by code in camelCase (`durationMs`) → snake_case (`duration_ms`). */
export function snakeKey(key: string): string {
  // Only plain identifiers with an upper-case letter are code-made camelCase; anything else
  // (ethtool feature names, "tx-udp_tnl-segmentation", user-chosen keys) is left alone.
  if (!/^[a-z][A-Za-z0-9]*$/.test(key) || !/[A-Z]/.test(key)) return key;
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toLowerCase();
}

/** A deep copy with every object key snake_cased (and class instances reduced to their JSON form). */
export function snakeKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const v = value as { toJSON?: () => unknown };
  if (typeof v.toJSON === 'function' && !(value instanceof LabError)) return snakeKeys(v.toJSON());
  if (Array.isArray(value)) return value.map(snakeKeys);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(value)) if (x !== undefined) out[snakeKey(k)] = snakeKeys(x);
  return out;
}

export interface EnvelopeHead {
  verb: string;
  lab?: string | null | undefined;
  exitCode?: number;
  ok?: boolean;
}

/** Wrap a verb's payload (an object; an array goes under `items`) in the common head. */
export function envelope(head: EnvelopeHead, payload: unknown = {}): Envelope {
  const exitCode = head.exitCode ?? 0;
  const body = (Array.isArray(payload) ? { items: payload } : (payload ?? {})) as Record<string, unknown>;
  const { schema: _s, verb: _v, ok: _o, exit_code: _e, exitCode: _e2, lab: bodyLab, ...rest } = snakeKeys(body) as Record<string, unknown>;
  return {
    schema: schemaId(head.verb),
    lab: head.lab ?? (typeof bodyLab === 'string' ? bodyLab : null),
    verb: head.verb,
    ok: head.ok ?? exitCode === 0,
    exit_code: exitCode,
    ...rest,
  };
}

export interface JsonError {
  code: ErrorCode;
  message: string;
  [detail: string]: unknown;
}

/** An error as the contract carries it: a stable code, the message, and the error's own details. */
export function errorBody(e: unknown): { error: JsonError; exitCode: number; lab?: string } {
  if (e instanceof LabError) {
    const { error: _name, code, message, exitCode, lab, ...details } = e.toJSON() as Record<string, unknown>;
    return {
      error: { code: code as ErrorCode, message: message as string, ...(snakeKeys(details) as Record<string, unknown>) },
      exitCode: exitCode as number,
      ...(typeof lab === 'string' ? { lab } : {}),
    };
  }
  const msg = (e as Error)?.message ?? String(e);
  return { error: { code: 'internal_error', message: msg }, exitCode: ExitCode.internal };
}

/** The document a verb prints when it fails with `--json`. */
export function errorEnvelope(verb: string, lab: string | null | undefined, e: unknown): Envelope {
  const b = errorBody(e);
  return envelope({ verb, lab: b.lab ?? lab ?? null, exitCode: b.exitCode, ok: false }, { error: b.error });
}
