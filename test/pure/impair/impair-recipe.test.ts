/**
 * Impairments in recipes: `impair:` on a network, a host interface, a guest (applied at `up`)
 * and the `impair` check step. Schema/semantic errors are located (file:line:col), the model
 * carries settled units, the plan has qdisc.netem steps, and the iproute2 backend renders tc.
 */
import test from 'ava';
import { formatProblem } from '../../../lib/errors.js';
import { planLab } from '../../../lib/plan/plan.js';
import { commandArgv, renderOp, renderShell } from '../../../lib/backends/iproute2/render.js';
import { recipeJsonSchema } from '../../../lib/recipe/schema.js';
import { requirements } from '../../../lib/doctor/doctor.js';
import { baseRecipe, errorsOf, tryLoad } from '../recipe/helpers.js';

const withGuestImpair = (impair: string) => baseRecipe().replace('{ name: left, switch: sw1, addresses: [203.0.113.1/24] }', `{ name: left, switch: sw1, addresses: [203.0.113.1/24], impair: ${impair} }`);
const step = (body: string, then = '\n    then:\n      - iperf: { from: left, to: right, min: 20Mbit }') => baseRecipe({ checks: `  - name: lossy\n    impair: ${body}${then}` });

/** [title, recipe, path, message, line] — each must produce exactly this one error. */
const cases: [string, string, string, RegExp, number][] = [
  ['bad delay unit', withGuestImpair('{ delay: 20 parsecs }'), 'guests[0].impair.delay', /"20 parsecs" is not a valid delay; use e\.g\. 20ms, 0\.5ms, 1s/, 13],
  ['loss above 100%', withGuestImpair('{ loss: 120% }'), 'guests[0].impair.loss', /"120%" is not a valid loss; use a percentage 0\.\.100/, 13],
  ['rate of zero', withGuestImpair('{ rate: 0mbit }'), 'guests[0].impair.rate', /"0mbit" is not a valid rate; use a bit rate above 0/, 13],
  ['jitter without delay', withGuestImpair('{ jitter: 5ms, loss: 1% }'), 'guests[0].impair.jitter', /jitter needs a delay .*add delay/, 13],
  ['jitter above delay', withGuestImpair('{ delay: 2ms, jitter: 5ms }'), 'guests[0].impair.jitter', /jitter 5ms is larger than delay 2ms/, 13],
  ['empty impairment', withGuestImpair('{}'), 'guests[0].impair', /needs at least one of delay, loss, rate/, 13],
  ['host interface: bad unit', baseRecipe().replace('[{ ipv4: 192.0.2.12/24, ipv6: "2001:db8::12/64" }]', '[{ ipv4: 192.0.2.12/24, impair: { delay: 10 m } }]'), 'hosts[1].interfaces[0].impair.delay', /"10 m" is not a valid delay/, 7],
  ['step: unknown interface', step('{ on: { host: box-2, interface: undrelay }, loss: 1% }'), 'checks[0].impair.on.interface', /host "box-2" has no interface "undrelay" \(did you mean "underlay"\?\); its interfaces: underlay/, 22],
  ['step: unknown guest', step('{ on: { guest: lfet }, loss: 1% }'), 'checks[0].impair.on.guest', /unknown guest "lfet" \(did you mean "left"\?\)/, 22],
  ['step: two targets', step('{ on: { guest: left, network: underlay }, loss: 1% }'), 'checks[0].impair.on', /"on" names one link; found guest and network/, 22],
  ['step: no then', step('{ on: { guest: left }, loss: 1% }', ''), 'checks[0].impair', /an impair step needs "then"/, 22],
  ['step: then on a ping', baseRecipe({ checks: '  - ping: { from: left, to: right }\n    then: [{ ping: { from: left, to: right } }]' }), 'checks[0].then', /"then" belongs to an impair step; this is a ping check/, 22],
  ['step: loss > 100%', step('{ on: { guest: left }, loss: 101 }'), 'checks[0].impair.loss', /101 is not a valid loss/, 22],
  ['step: inner check unknown endpoint', step('{ on: { guest: left }, loss: 1% }', '\n    then:\n      - iperf: { from: left, to: rihgt }'), 'checks[0].then[0].iperf.to', /unknown guest, host or switch "rihgt" \(did you mean "right"\?\)/, 24],
];

for (const [title, text, path, message, line] of cases) {
  test(`error: ${title}`, (t) => {
    const errs = errorsOf(tryLoad(text));
    t.is(errs.length, 1, errs.map(formatProblem).join('\n'));
    t.is(errs[0]!.path, path);
    t.regex(errs[0]!.message, message);
    t.is(errs[0]!.line, line, formatProblem(errs[0]!));
    t.true(errs[0]!.column > 0);
    t.regex(formatProblem(errs[0]!), new RegExp(`/recipe\\.yaml:${line}:\\d+: error: `));
  });
}

test('unknown keys: in an impairment, and a capture under "then"', (t) => {
  const a = errorsOf(tryLoad(withGuestImpair('{ latency: 5ms }')));
  t.true(a.some((p) => p.path === 'guests[0].impair.latency' && /unknown key "latency"; allowed here: delay, jitter, loss, rate/.test(p.message) && p.line === 13), a.map(formatProblem).join('\n'));
  const b = errorsOf(tryLoad(step('{ on: { guest: left }, loss: 1% }', '\n    then:\n      - capture: { host: box-1, interface: underlay, during: x }')));
  t.true(b.some((p) => p.path === 'checks[0].then[0].capture' && /unknown key "capture"; allowed here: name, ping, iperf, mtu/.test(p.message) && p.line === 24), b.map(formatProblem).join('\n'));
});

const full = `lab: imp
networks: [{ name: underlay, impair: { loss: 0.5% } }]
hosts:
  - name: box-1
    interfaces: [{ ipv4: 192.0.2.11/24, impair: { delay: 20ms, jitter: 5ms, loss: 1%, rate: 100mbit } }]
  - name: box-2
    interfaces: [{ ipv4: 192.0.2.12/24 }]
switches: [{ name: sw1, host: box-1 }, { name: sw2, host: box-2 }]
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24], impair: { delay: 1s } }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels: [{ name: tun0, between: [sw1, sw2] }]
defaults:
  iperf: { duration: 2 }
checks:
  - name: lossy
    impair: { on: { host: box-2, interface: underlay }, loss: 30%, delay: 10ms }
    then:
      - iperf: { from: left, to: right, min: 20Mbit }
      - { name: still-there, ping: { from: left, to: right } }
  - name: net
    impair: { on: { network: underlay }, rate: 1G }
    then: [{ ping: { from: left, to: right } }]
  - name: clean
    ping: { from: left, to: right }
`;

test('the model carries impairments in settled units', (t) => {
  const { lab } = tryLoad(full).ok!;
  t.deepEqual(lab.hosts[0]!.interfaces[0]!.impair, { delayMs: 20, jitterMs: 5, lossPct: 1, rate: 100e6 });
  t.is(lab.hosts[1]!.interfaces[0]!.impair, undefined);
  t.deepEqual(lab.guests[0]!.impair, { delayMs: 1000 });
  t.deepEqual(lab.networks[0]!.impair, { lossPct: 0.5 });
  t.deepEqual(lab.checks.map((c) => c.name), ['lossy', 'net', 'clean']);
  const lossy = lab.checks[0]!;
  if (lossy.kind !== 'impair') return t.fail('not an impair step');
  t.deepEqual(lossy.on, [{ what: 'host "box-2" interface "underlay"', host: 'box-2', ns: 'gl-imp-box-2', dev: 'underlay' }]);
  t.deepEqual(lossy.impairment, { delayMs: 10, lossPct: 30 });
  t.deepEqual(lossy.then.map((c) => [c.kind, c.name]), [['iperf', 'lossy › iperf left→right'], ['ping', 'lossy › still-there']]);
  // defaults reach the checks inside "then"
  t.is(lossy.then[0]!.kind === 'iperf' && lossy.then[0]!.durationS, 2);
  t.is(lossy.then[0]!.kind === 'iperf' && lossy.then[0]!.minBps, 20e6);
  const net = lab.checks[1]!;
  t.deepEqual(net.kind === 'impair' && net.on.map((x) => x.restore), [{ lossPct: 0.5 }, { lossPct: 0.5 }], 'the network\'s own impairment is restored after the step');
  t.deepEqual(net.kind === 'impair' && net.on.map((x) => [x.ns, x.dev]), [['gl-imp--underlay', 'box-1'], ['gl-imp--underlay', 'box-2']]);
});

test('the plan ends with one qdisc.netem step per impaired link, and tc renders it', (t) => {
  const { lab } = tryLoad(full).ok!;
  const plan = planLab(lab);
  const netem = plan.steps.filter((s) => s.op.op === 'qdisc.netem');
  t.deepEqual(
    netem.map((s) => [s.subject, s.op]),
    [
      ['network "underlay" impairment', { op: 'qdisc.netem', ns: 'gl-imp--underlay', dev: 'box-1', impairment: { lossPct: 0.5 } }],
      ['network "underlay" impairment', { op: 'qdisc.netem', ns: 'gl-imp--underlay', dev: 'box-2', impairment: { lossPct: 0.5 } }],
      ['host "box-1" interface "underlay" impairment', { op: 'qdisc.netem', ns: 'gl-imp-box-1', dev: 'underlay', impairment: { delayMs: 20, jitterMs: 5, lossPct: 1, rate: 100e6 } }],
      ['guest "left" impairment', { op: 'qdisc.netem', ns: 'gl-imp-left', dev: 'eth0', impairment: { delayMs: 1000 } }],
    ],
  );
  // After every other step (the links exist and are up), nothing to undo (owned namespaces).
  t.deepEqual(plan.steps.slice(-4).map((s) => s.op.op), ['qdisc.netem', 'qdisc.netem', 'qdisc.netem', 'qdisc.netem']);
  t.true(netem.every((s) => s.undo === null));
  t.deepEqual(renderOp(netem[2]!.op).map(commandArgv), [
    ['ip', 'netns', 'exec', 'gl-imp-box-1', 'tc', 'qdisc', 'replace', 'dev', 'underlay', 'root', 'netem', 'delay', '20ms', '5ms', 'loss', '1%', 'rate', '100000000bit'],
  ]);
  t.regex(renderShell(plan.steps), /# guest "left" impairment\nip netns exec gl-imp-left tc qdisc replace dev eth0 root netem delay 1000ms\n/);
});

test('an impairment set at up needs netem; an impair step only needs tc', (t) => {
  const { lab } = tryLoad(full).ok!;
  t.true(requirements(lab).features.includes('netem'));
  t.true(requirements(lab).tools.includes('tc'));
  const stepOnly = tryLoad(step('{ on: { guest: left }, loss: 1% }')).ok!.lab;
  t.false(requirements(stepOnly).features.includes('netem'));
  t.true(requirements(stepOnly).tools.includes('tc'));
  t.true(requirements(stepOnly).tools.includes('iperf3'), 'tools of the inner checks count');
});

test('an SSH host\'s real NIC cannot be impaired', (t) => {
  const text = baseRecipe().replace('name: box-2\n    interfaces: [{ ipv4: 192.0.2.12/24, ipv6: "2001:db8::12/64" }]', 'name: box-2\n    ssh: root@198.51.100.7\n    interfaces: [{ ipv4: 192.0.2.12/24, impair: { delay: 5ms } }]').replace('name: box-1\n    interfaces: [{ ipv4: 192.0.2.11/24, ipv6: "2001:db8::11/64" }]', 'name: box-1\n    ssh: root@198.51.100.6\n    interfaces: [{ ipv4: 192.0.2.11/24 }]');
  const errs = errorsOf(tryLoad(text));
  t.is(errs.length, 1, errs.map(formatProblem).join('\n'));
  t.is(errs[0]!.path, 'hosts[1].interfaces[0].impair');
  t.regex(errs[0]!.message, /SSH host and this interface is its real NIC.*impair a guest instead/);
});

test('the JSON schema describes impair on guests and the impair check step', (t) => {
  const s = JSON.stringify(recipeJsonSchema());
  t.regex(s, /Link impairment \(netem\): delay, jitter, loss, rate/);
  t.regex(s, /Apply netem to a link, run the checks under \\"then\\", always clear it/);
  t.regex(s, /Packet loss, e\.g\. 1% \(0\.\.100\)/);
});
