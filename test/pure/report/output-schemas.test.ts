/**
 * The machine contract: every verb's --json document is the common envelope, snake_case, numbers
 * as numbers, errors as stable codes — and conforms to the schema `schema --output VERB` publishes.
 * validate/plan/doctor and the error documents are real CLI output; the root-only verbs' documents
 * are built by the same functions the verbs use (test/priv/cli/contract.test.ts runs them for real).
 */
import test from 'ava';
import { cli } from '../../support/cli.js';
import { schemaValidator, nonSnakeKeys } from '../../support/ajv.js';
import { envelope, errorEnvelope, snakeKey } from '../../../lib/report/envelope.js';
import { outputSchema, OUTPUT_SCHEMA_VERBS } from '../../../lib/report/output-schemas.js';
import { toJsonReport, machineFigures } from '../../../lib/report/json.js';
import { ApplyError, LabNotUpError, PrerequisiteError } from '../../../lib/errors.js';
import type { CheckResult } from '../../../lib/checks/result.js';

const conforms = (verb: string, doc: unknown) => schemaValidator(outputSchema(verb)!)(doc);

const results: CheckResult[] = [
  { name: 'ping', kind: 'ping', what: 'ping left → right', status: 'passed', figures: { sent: 3, received: 3, loss: '0%', rtt_avg_ms: 0.05 }, durationMs: 2012, raw: 'PING …' },
  { name: 'tcp', kind: 'iperf', what: 'iperf3 left → right', status: 'failed', message: 'too slow', figures: { throughput: '13.3 Gbit/s', bps: 13_300_000_000, loss: '0.5%' }, durationMs: 2300, details: { sumSent: { bitsPerSecond: 1 } } },
  {
    name: 'lossy', kind: 'impair', what: 'netem on h', status: 'passed', figures: { delay: '10ms', rate: '500 Mbit/s', checks: '1/1 passed' }, durationMs: 10,
    children: [{ name: 'lossy › a', kind: 'ping', what: 'ping', status: 'skipped', message: 'not run', figures: {}, durationMs: 0 }],
  },
];
const checks = (lab: string) => {
  const { summary, checks: cs } = toJsonReport(lab, results, { includeRaw: true, includeDetails: true });
  return { summary, checks: cs };
};
const upOutcome = { lab: 'ct-a', changed: true, applied: 12, reason: 'created', durationMs: 850, notices: [{ level: 'info' as const, message: 'x' }] };

test('a schema is published for every verb with --json, and `schema` alone still prints the recipe schema', (t) => {
  for (const verb of ['validate', 'plan', 'up', 'run', 'check', 'down', 'status', 'gc', 'doctor']) t.true(OUTPUT_SCHEMA_VERBS.includes(verb), verb);
  const r = cli(['schema', '--output', 'check']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), outputSchema('check'));
  t.truthy(JSON.parse(cli(['schema']).stdout).properties?.tunnels);
  const bad = cli(['schema', '--output', 'nope']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /no such verb.*check/);
});

test('camelCase keys become snake_case; other keys are left alone', (t) => {
  t.is(snakeKey('durationMs'), 'duration_ms');
  t.is(snakeKey('exitCode'), 'exit_code');
  t.is(snakeKey('kernelMessage'), 'kernel_message');
  t.is(snakeKey('tx-udp_tnl-segmentation'), 'tx-udp_tnl-segmentation');
  t.is(snakeKey('rtt_avg_ms'), 'rtt_avg_ms');
});

test('figures: percentages, bit rates and durations are numbers under a key naming the unit', (t) => {
  t.deepEqual(machineFigures({ sent: 3, loss: '0%' }), { sent: 3, loss_pct: 0 });
  t.deepEqual(machineFigures({ throughput: '13.3 Gbit/s', bps: 13_312_000_000 }), { bps: 13_312_000_000 });
  t.deepEqual(machineFigures({ rate: '500 Mbit/s', delay: '10ms', checks: '1/2 passed' }), { rate_bps: 500_000_000, delay_ms: 10, checks: '1/2 passed' });
});

test('up/run/check/down/status/gc documents conform to their schemas', (t) => {
  const docs: [string, unknown][] = [
    ['up', envelope({ verb: 'up', lab: 'ct-a', exitCode: 1 }, { up: upOutcome, ...checks('ct-a') })],
    ['run', envelope({ verb: 'run', lab: 'ct-a', exitCode: 1 }, { up: upOutcome, ...checks('ct-a'), tornDown: true })],
    ['check', envelope({ verb: 'check', lab: 'ct-a', exitCode: 1 }, checks('ct-a'))],
    ['down', envelope({ verb: 'down', lab: 'ct-a' }, { found: true, undone: 12, failures: [] })],
    ['status', envelope({ verb: 'status', lab: null }, { labs: [{ lab: 'ct-a', phase: 'up', crashed: false, namespaces: [{ name: 'gl-ct-a-h', present: true, links: [{ ifname: 'eth0', kind: 'veth', state: 'UP', offloads: { 'tx-udp_tnl-segmentation': 'on' } }] }] }] })],
    ['gc', envelope({ verb: 'gc' }, { labs: [], namespaces: ['gl-ct-x-h'], checks: [], connections: [{ host: 'box-1', id: 'gl-ssh-Ab12Cd', processes: 1 }], failures: [{ subject: 'netns gl-ct-x-h', request: 'ip netns del', errno: 'EBUSY', kernelMessage: 'busy' }] })],
  ];
  for (const [verb, doc] of docs) {
    t.is(conforms(verb, doc), undefined, `${verb}: ${JSON.stringify(doc)}`);
    t.deepEqual(nonSnakeKeys(doc), [], verb);
    t.like(doc, { schema: `geneve-lab/${verb}/v1`, verb });
  }
  const up = docs[0]![1] as any;
  t.like(up, { lab: 'ct-a', ok: false, exit_code: 1, up: { duration_ms: 850 }, summary: { total: 3, failed: 1, duration_ms: 4322 } });
  t.deepEqual(up.checks[0].figures, { sent: 3, received: 3, loss_pct: 0, rtt_avg_ms: 0.05 });
  t.deepEqual(up.checks[1].details, { sum_sent: { bits_per_second: 1 } });
});

test('the schemas refuse what the contract forbids: camelCase, "0%" strings, class names, a missing head', (t) => {
  const good = envelope({ verb: 'check', lab: 'ct-a' }, checks('ct-a')) as any;
  t.is(conforms('check', good), undefined);
  const camel = structuredClone(good);
  camel.checks[0].durationMs = 1;
  t.truthy(conforms('check', camel));
  const pct = structuredClone(good);
  pct.checks[0].figures.loss = '0%';
  t.truthy(conforms('check', pct));
  const { exit_code: _e, ...headless } = good;
  t.truthy(conforms('check', headless));
  t.truthy(conforms('check', { ...good, schema: 'geneve-lab/up/v1' }));
  const err = errorEnvelope('check', 'ct-a', new LabNotUpError('ct-a', 'x')) as any;
  t.is(conforms('check', err), undefined);
  t.truthy(conforms('check', { ...err, error: { ...err.error, code: 'LabNotUpError' } }));
});

test('errors are stable codes with their details, never JavaScript class names', (t) => {
  const failure = { subject: 'link "x"', request: 'RTM_NEWLINK', errno: 'EEXIST', kernelMessage: 'File exists' };
  const apply = errorEnvelope('up', 'ct-a', new ApplyError(7, failure, { undone: 6, failures: [] })) as any;
  t.like(apply, { schema: 'geneve-lab/up/v1', lab: 'ct-a', ok: false, exit_code: 4, error: { code: 'apply_failed', step: 7, failure: { kernel_message: 'File exists' }, rollback: { undone: 6 } } });
  t.is(conforms('up', apply), undefined);
  t.false(JSON.stringify(apply).includes('ApplyError'));
  const pre = errorEnvelope('run', 'ct-a', new PrerequisiteError([{ feature: 'geneve', fix: 'modprobe geneve' }])) as any;
  t.like(pre, { exit_code: 3, error: { code: 'prerequisite_missing', missing: [{ feature: 'geneve', fix: 'modprobe geneve' }] } });
  t.is(conforms('run', pre), undefined);
  const internal = errorEnvelope('down', null, new TypeError('boom')) as any;
  t.like(internal, { exit_code: 70, error: { code: 'internal_error', message: 'boom' } });
  t.is(conforms('down', internal), undefined);
});

test('real CLI output: validate, plan, doctor and error documents conform', (t) => {
  const runs: [string, string[], number][] = [
    ['validate', ['validate', '--json', 'recipes/quickstart.yaml'], 0],
    ['validate', ['validate', '--json', 'test/fixtures/recipes/five-mistakes.yaml'], 2],
    ['plan', ['plan', '--format', 'json', 'recipes/quickstart.yaml'], 0],
    ['doctor', ['doctor', '--json'], 0],
    ['up', ['up', '--json', 'test/fixtures/recipes/does-not-exist.yaml'], 2],
  ];
  for (const [verb, args, code] of runs) {
    const r = cli(args);
    t.is(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    const doc = JSON.parse(r.stdout);
    t.is(conforms(verb, doc), undefined, `${args.join(' ')}: ${r.stdout.slice(0, 2000)}`);
    t.deepEqual(nonSnakeKeys(doc), [], args.join(' '));
    t.like(doc, { schema: `geneve-lab/${verb}/v1`, verb, exit_code: code, ok: code === 0 });
  }
});
