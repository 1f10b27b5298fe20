/**
 * JSON Schemas of the `--json` documents (`geneve-lab schema --output VERB`): the common envelope
 * (lib/report/envelope.ts) plus each verb's own fields. A document is either the verb's success
 * shape or the error shape `{ ok: false, error: { code, message, … } }`. Tests validate real
 * output against these with ajv (test/pure/report/output-schemas.test.ts, test/priv/cli/contract.test.ts).
 */
import { schemaId } from './envelope.js';
import type { ErrorCode } from '../errors.js';

type Schema = Record<string, unknown>;

const ERROR_CODES: ErrorCode[] = [
  'check_failed', 'invalid_input', 'invalid_recipe', 'usage_error', 'invalid_ssh_settings', 'invalid_ovs_settings', 'lab_is_up',
  'prerequisite_missing', 'needs_root', 'host_unreachable', 'apply_failed', 'operation_failed', 'teardown_incomplete', 'vm_failed',
  'lab_not_up', 'lab_busy', 'interrupted', 'internal_error',
];

/** Every key a document carries is snake_case (user-named map keys excepted: see `anyKeys`). */
const SNAKE = '^[a-z][a-z0-9_]*$';
const LAB_NAME = '^[a-z][a-z0-9-]*$';

const str: Schema = { type: 'string' };
const int: Schema = { type: 'integer', minimum: 0 };
const num: Schema = { type: 'number' };
const bool: Schema = { type: 'boolean' };
const strings: Schema = { type: 'array', items: str };

/** An object with these fields (the `required` ones must be there), snake_case keys, nothing else. */
function obj(properties: Record<string, Schema>, required: string[] = [], open = false): Schema {
  return { type: 'object', properties, required, propertyNames: { pattern: SNAKE }, additionalProperties: open };
}

/** An object whose own keys are snake_case but whose contents are not described (engine details). */
const anyObj: Schema = { type: 'object', propertyNames: { pattern: SNAKE } };

const failure = obj(
  { subject: str, host: str, ns: str, request: str, errno: str, kernel_message: str, stderr: str, exit_code: { type: 'integer' } },
  ['subject', 'request'],
);

const problem = obj(
  { file: str, line: int, column: int, path: str, message: str, severity: { enum: ['error', 'warning'] } },
  ['file', 'line', 'column', 'path', 'message', 'severity'],
);

const figures: Schema = {
  type: 'object',
  propertyNames: { pattern: SNAKE },
  // Numbers are numbers: a "0.5%" / "13 Gbit/s" / "10ms" string is a `_pct` / `_bps` / `_ms` number instead.
  additionalProperties: { anyOf: [num, bool, { type: 'string', not: { pattern: '^-?[0-9.]+ ?(%|ms|[kMGT]?bit/s)$' } }] },
};

const check: Schema = {
  ...obj(
    {
      name: str,
      kind: str,
      what: str,
      status: { enum: ['passed', 'failed', 'error', 'skipped'] },
      message: str,
      figures,
      duration_ms: num,
      raw: str,
      details: {},
      unsupported: str,
      children: { type: 'array', items: { $ref: '#/definitions/check' } },
    },
    ['name', 'kind', 'what', 'status', 'figures', 'duration_ms'],
  ),
};

const summary = obj({ total: int, passed: int, failed: int, error: int, skipped: int, duration_ms: num }, ['total', 'passed', 'failed', 'error', 'skipped', 'duration_ms']);

const upOutcome = obj(
  { lab: str, changed: bool, applied: int, reason: str, duration_ms: num, notices: { type: 'array', items: obj({ level: { enum: ['info', 'warning'] }, message: str }, ['level', 'message']) } },
  ['lab', 'changed', 'applied', 'reason', 'duration_ms'],
);

const checkResults = { summary, checks: { type: 'array', items: { $ref: '#/definitions/check' } } };

/** The fields each verb adds to the envelope on success, and which of them are always there. */
const PAYLOADS: Record<string, { properties: Record<string, Schema>; required: string[] }> = {
  validate: { properties: { warnings: { type: 'array', items: problem } }, required: ['warnings'] },
  plan: { properties: { tag: str, namespaces: { type: 'array' }, steps: { type: 'array', items: obj({ id: int, subject: str, host: str, op: { ...anyObj, required: ['op'] }, undo: {} }, ['id', 'subject', 'op'], true) } }, required: ['tag', 'steps'] },
  up: { properties: { up: upOutcome, ...checkResults }, required: ['up', 'summary', 'checks'] },
  run: { properties: { up: upOutcome, ...checkResults, torn_down: { const: true } }, required: ['up', 'summary', 'checks', 'torn_down'] },
  check: { properties: checkResults, required: ['summary', 'checks'] },
  down: { properties: { found: bool, undone: int, failures: { type: 'array', items: failure } }, required: ['found', 'undone', 'failures'] },
  status: {
    properties: {
      labs: {
        type: 'array',
        items: obj(
          {
            lab: str,
            phase: str,
            source: str,
            backend: str,
            crashed: bool,
            namespaces: { type: 'array', items: obj({ name: str, present: bool, links: { type: 'array', items: anyObj } }, ['name', 'present', 'links'], true) },
            ovs: { type: 'array', items: anyObj },
          },
          ['lab', 'phase', 'crashed', 'namespaces'],
          true,
        ),
      },
    },
    required: ['labs'],
  },
  capture: {
    properties: {
      node: str,
      ifname: str,
      filter: str,
      count: int,
      ended: str,
      signal: str,
      // One decoded packet each (the capture decoder's fields: outer, geneve/vxlan/gre, inner…).
      packets: { type: 'array', items: anyObj },
    },
    required: ['node', 'ifname', 'count', 'ended', 'packets'],
  },
  gc: {
    properties: {
      labs: strings,
      namespaces: strings,
      checks: strings,
      // SSH connections of dead geneve-lab processes: master stopped, local and remote directories removed.
      connections: { type: 'array', items: obj({ host: str, id: str, processes: int }, ['host', 'id', 'processes']) },
      failures: { type: 'array', items: failure },
    },
    required: ['labs', 'namespaces', 'checks', 'connections', 'failures'],
  },
  doctor: {
    properties: {
      items: { type: 'array', items: obj({ area: str, feature: str, ok: bool, detail: str, fix: str }, ['area', 'feature', 'ok', 'detail']) },
    },
    required: ['items'],
  },
};

export const OUTPUT_SCHEMA_VERBS = Object.keys(PAYLOADS);

function head(verb: string): Record<string, Schema> {
  return {
    schema: { const: schemaId(verb) },
    lab: { anyOf: [{ type: 'string', pattern: LAB_NAME }, { type: 'null' }] },
    verb: { const: verb },
    ok: bool,
    exit_code: { type: 'integer', minimum: 0, maximum: 255 },
  };
}
const HEAD_KEYS = ['schema', 'lab', 'verb', 'ok', 'exit_code'];

/** The error document every verb prints when it fails with --json. */
function errorDocument(verb: string): Schema {
  return {
    ...obj(
      {
        ...head(verb),
        ok: { const: false },
        exit_code: { type: 'integer', minimum: 1, maximum: 255 },
        error: {
          type: 'object',
          properties: {
            code: { enum: ERROR_CODES },
            message: str,
            problems: { type: 'array', items: problem },
            missing: { type: 'array', items: obj({ feature: str, fix: str }, ['feature', 'fix']) },
            failure,
            step: int,
            rollback: obj({ undone: int, failures: { type: 'array', items: failure } }, ['undone', 'failures']),
          },
          required: ['code', 'message'],
          propertyNames: { pattern: SNAKE },
        },
      },
      [...HEAD_KEYS, 'error'],
    ),
  };
}

/** The JSON Schema of `geneve-lab VERB --json`, or undefined for a verb without one. */
export function outputSchema(verb: string): Schema | undefined {
  const p = PAYLOADS[verb];
  if (!p) return undefined;
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `https://geneve-lab.invalid/schemas/${verb}.v1.json`,
    title: `geneve-lab ${verb} --json (${schemaId(verb)})`,
    definitions: { check },
    oneOf: [obj({ ...head(verb), ...p.properties }, [...HEAD_KEYS, ...p.required]), errorDocument(verb)],
  };
}
