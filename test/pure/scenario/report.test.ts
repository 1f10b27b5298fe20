/** `skipped` (a scenario step not run) in the table, JSON, JUnit and the TUI: never a pass. */
import test from 'ava';
import type { CheckResult } from '../../../lib/checks/result.js';
import { formatJunit } from '../../../lib/report/junit.js';
import { toJsonReport } from '../../../lib/report/json.js';
import { formatTable } from '../../../lib/report/table.js';
import { initialUiState, uiReducer } from '../../../lib/ui/state.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';

const results: CheckResult[] = [
  { name: 'cut', kind: 'ovs', what: 'ovs-ofctl add-flow …', status: 'passed', figures: { exit: 0 }, durationMs: 12 },
  { name: 'traffic-stops', kind: 'ping', what: 'ping left → right', status: 'failed', message: 'expected unreachable, saw 0% loss', figures: {}, durationMs: 500 },
  { name: 'restore', kind: 'ovs', what: 'ovs-ofctl del-flows …', status: 'skipped', message: 'not run: step "traffic-stops" failed', figures: {}, durationMs: 0 },
];

test('table: SKIP rows with the reason; the summary counts them apart', (t) => {
  const out = formatTable(results, { width: 120 });
  t.regex(out, /^SKIP {4}restore .*\n {8}not run: step "traffic-stops" failed$/m);
  t.regex(out, /3 checks: 1 passed, 1 failed, 0 errors, 1 not run/);
});

test('JUnit: <skipped message=…/> and the skipped count; not a failure or error', (t) => {
  const x = formatJunit('lab', results);
  t.regex(x, /<testsuite name="lab" tests="3" failures="1" errors="0" skipped="1"/);
  t.regex(x, /<testcase classname="lab.ovs" name="restore" time="0.000">\n {6}<skipped message="not run: step &quot;traffic-stops&quot; failed"\/>/);
  t.is((x.match(/<failure/g) ?? []).length, 1);
});

test('JSON: skipped in the summary, ok false', (t) => {
  const j = toJsonReport('lab', results);
  t.like(j.summary, { total: 3, passed: 1, failed: 1, error: 0, skipped: 1 });
  t.false(j.ok);
});

test('TUI: steps listed pending after the checks; action-start runs; skipped shown as such', (t) => {
  const { lab } = loadRecipeText(`lab: ui
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24 }], ovs: { log: { gate: false } } }   # the log gate has its own tests
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24 }], ovs: { log: { gate: false } } }
switches:
  - { name: sw1, host: box-1, kind: ovs }
  - { name: sw2, host: box-2, kind: ovs }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24] }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - { name: tun0, between: [sw1, sw2] }
checks:
  - { name: base, ping: { from: left, to: right } }
steps:
  - { name: cut, ovs: { on: sw1, ofctl: [add-flow, "in_port=left,actions=drop"] } }
  - checks: [{ name: a, ping: { from: left, to: right } }, { name: b, ping: { from: right, to: left } }]
`, 'ui.yaml');
  let s = initialUiState(lab);
  t.deepEqual(s.checks.map((c) => [c.name, c.kind, c.state]), [['base', 'ping', 'pending'], ['cut', 'ovs', 'pending'], ['a', 'ping', 'pending'], ['b', 'ping', 'pending']]);
  const step = lab.steps![0]!;
  if (step.kind !== 'ovs') throw new Error('expected the ovs step');
  s = uiReducer(s, { type: 'action-start', step }, 1000);
  t.like(s.checks[1], { name: 'cut', state: 'running', startedAt: 1000 });
  s = uiReducer(s, { type: 'check-done', result: { ...results[2]!, name: 'a', kind: 'ping' } });
  t.like(s.checks[2], { name: 'a', state: 'skipped' });
});
