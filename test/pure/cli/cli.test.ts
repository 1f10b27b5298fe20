import test from 'ava';
import { cli } from '../../support/cli.js';

const noStack = (s: string) => !/\n\s+at .+:\d+:\d+\)?/.test(s);

test('validate: a recipe with five mistakes gets five precise messages and exit code 2', (t) => {
  const r = cli(['validate', 'test/fixtures/recipes/five-mistakes.yaml']);
  t.is(r.code, 2);
  const lines = r.stderr.split('\n').filter((l) => /five-mistakes\.yaml:\d+:\d+: error: /.test(l));
  t.is(lines.length, 5, r.stderr);
  for (const field of ['guests[1].switch', 'tunnels[0].vni', 'tunnels[0].tos', 'tunnels[0].flowlabel', 'tunnels[0].dstport'])
    t.true(lines.some((l) => l.includes(`error: ${field}: `)), `a message for ${field}`);
  t.true(noStack(r.stderr));
});

test('validate --json lists the problems with file, line, column and path', (t) => {
  const r = cli(['validate', '--json', 'test/fixtures/recipes/five-mistakes.yaml']);
  t.is(r.code, 2);
  const out = JSON.parse(r.stdout);
  t.like(out, { schema: 'geneve-lab/validate/v1', lab: 'five-mistakes', verb: 'validate', ok: false, exit_code: 2, error: { code: 'invalid_recipe' } });
  t.is(out.error.problems.filter((p: any) => p.severity === 'error').length, 5);
  for (const p of out.error.problems) t.true(p.line > 0 && p.column > 0 && typeof p.path === 'string');
});

for (const [what, file] of [
  ['a missing file', 'test/fixtures/recipes/does-not-exist.yaml'],
  ['a directory', 'test/fixtures/recipes'],
  ['an empty file', 'test/fixtures/recipes/empty.yaml'],
  ['binary garbage', 'test/fixtures/recipes/nul-bytes.yaml'],
  ['malformed YAML', 'test/fixtures/recipes/malformed.yaml'],
  ['invalid UTF-8', 'test/fixtures/recipes/invalid-utf8.yaml'],
] as const) {
  test(`validate: ${what} is one clear error, exit 2, no stack trace`, (t) => {
    const r = cli(['validate', file]);
    t.is(r.code, 2);
    t.regex(r.stderr, /^geneve-lab: 1 problem in recipe:\n  .+: error: .+/);
    t.true(noStack(r.stderr), r.stderr);
  });
}

test('validate accepts every example recipe', (t) => {
  for (const f of ['quickstart', 'kernel-geneve', 'kernel-geneve-ipv6', 'routed-vxlan']) {
    const r = cli(['validate', `recipes/${f}.yaml`]);
    t.is(r.code, 0, `${f}: ${r.stderr}`);
    t.regex(r.stdout, /: ok — lab "/);
  }
  // Counts agree with their nouns: the quickstart has one tunnel.
  t.regex(cli(['validate', 'recipes/quickstart.yaml']).stdout, /: ok — lab "quickstart": \d+ hosts?, \d+ switch(es)?, \d+ guests?, 1 tunnel, \d+ checks?\n$/);
});

test('plan --format sh prints the exact ip commands; --format json the operations; nothing is touched', (t) => {
  const sh = cli(['plan', '--format', 'sh', 'recipes/quickstart.yaml']);
  t.is(sh.code, 0, sh.stderr);
  t.true(sh.stdout.startsWith('#!/bin/sh\n'));
  t.regex(sh.stdout, /^ip netns add gl-quickstart-box-1$/m);
  // The quickstart's tunnel is an OVS geneve port (one ovs-vsctl transaction per end).
  t.regex(sh.stdout, /^ovs-vsctl --db=unix:\S+\/ovs-box-1\/db\.sock \S+ --may-exist add-port sw1 tun0 external_ids:geneve-lab=quickstart -- clear Interface tun0 options -- set Interface tun0 type=geneve options:remote_ip=192\.0\.2\.12 options:key=123$/m);
  const json = cli(['plan', '--format', 'json', 'recipes/quickstart.yaml']);
  const plan = JSON.parse(json.stdout);
  t.is(plan.lab, 'quickstart');
  t.true(plan.steps.length > 10);
  t.deepEqual(plan.steps[0].op, { op: 'netns.add', ns: 'gl-quickstart--underlay', tag: 'geneve-lab:quickstart' });
  t.is(cli(['plan', '--format', 'yaml', 'recipes/quickstart.yaml']).code, 2);
});

test('schema prints a JSON Schema for editors', (t) => {
  const r = cli(['schema']);
  t.is(r.code, 0);
  const s = JSON.parse(r.stdout);
  t.truthy(s.$schema);
  t.truthy(s.properties?.tunnels);
});

test('usage errors exit 2; --help and --version exit 0', (t) => {
  t.is(cli(['no-such-command']).code, 2);
  t.is(cli(['up']).code, 2);
  t.is(cli(['--help']).code, 0);
  t.regex(cli(['--version']).stdout, /^\d+\.\d+\.\d+/);
});
