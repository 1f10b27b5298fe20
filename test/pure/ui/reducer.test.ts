import test from 'ava';
import { initialUiState, objectKeyOfSubject, uiReducer, type UiState } from '../../../lib/ui/state.js';
import type { LabEvent } from '../../../lib/engine/events.js';
import { iperfFailed, pingPassed, sampleLab, samplePlan } from './fixtures/lab.js';

const lab = sampleLab();
const plan = samplePlan();
const st = (id: number) => plan.steps[id - 1]!;
const run = (events: LabEvent[], from: UiState = initialUiState(lab)) => events.reduce((s, e, i) => uiReducer(s, e, 1000 + i), from);
const state = (s: UiState, key: string) => s.objects.find((o) => o.key === key)?.state;

test('subjects map to objects', (t) => {
  t.is(objectKeyOfSubject('tunnel "tun0" on host "box-1"'), 'tunnel:tun0');
  t.is(objectKeyOfSubject('guest "left"'), 'guest:left');
  t.is(objectKeyOfSubject('something else'), undefined);
});

test('initial state: every object planned, every check pending', (t) => {
  const s = initialUiState(lab);
  t.deepEqual(s.objects.map((o) => `${o.key}=${o.state}`), [
    'network:underlay=planned', 'host:box-1=planned', 'host:box-2=planned', 'switch:br1=planned', 'switch:br2=planned',
    'guest:left=planned', 'guest:right=planned', 'tunnel:tun0=planned',
  ]);
  t.deepEqual(s.checks.map((c) => c.state), ['pending', 'pending']);
  t.false(s.labUp);
});

test('up: objects go planned → creating → up as their steps complete', (t) => {
  let s = run([{ type: 'plan', lab: 'quick', plan }, { type: 'phase', phase: 'up', state: 'start', lab: 'quick' }, { type: 'step-start', step: st(8) }]);
  t.is(state(s, 'tunnel:tun0'), 'creating');
  t.is(s.steps[0]!.state, 'running');
  t.is(s.steps[0]!.startedAt, 1002);
  s = run([{ type: 'step-done', step: st(8), durationMs: 12 }], s);
  t.is(state(s, 'tunnel:tun0'), 'creating', 'one of two tunnel steps done');
  t.is(s.steps.length, 1, 'done replaces the running entry');
  t.is(s.steps[0]!.durationMs, 12);
  s = run([{ type: 'step-start', step: st(9) }, { type: 'step-done', step: st(9), durationMs: 5 }], s);
  t.is(state(s, 'tunnel:tun0'), 'up');
  t.is(state(s, 'guest:left'), 'planned');
  s = run([{ type: 'phase', phase: 'up', state: 'done', lab: 'quick' }], s);
  t.true(s.labUp);
  t.true(s.objects.every((o) => o.state === 'up'));
});

test('failure: the object is failed, the failure names step and error, rollback is recorded', (t) => {
  const failure = { subject: 'tunnel "tun0" on host "box-1"', ns: 'gl-quick-box-1', request: 'ip link add gnv0 type geneve id 99999999', errno: 'ERANGE', kernelMessage: 'Geneve ID must be lower than 16777216' };
  let s = run([
    { type: 'plan', lab: 'quick', plan },
    { type: 'phase', phase: 'up', state: 'start', lab: 'quick' },
    { type: 'step-start', step: st(6) },
    { type: 'step-done', step: st(6), durationMs: 3 },
    { type: 'step-start', step: st(8) },
    { type: 'step-failed', step: st(8), failure, durationMs: 4 },
  ]);
  t.is(state(s, 'tunnel:tun0'), 'failed');
  t.is(s.failure!.stepId, 8);
  t.regex(s.failure!.message, /Geneve ID must be lower than 16777216 \(ERANGE\)/);
  t.is(s.failure!.rollback, 'pending');
  s = run([
    { type: 'phase', phase: 'up', state: 'failed', lab: 'quick' },
    { type: 'phase', phase: 'rollback', state: 'start', lab: 'quick' },
    { type: 'undo-start', step: st(6) },
    { type: 'undo-done', step: st(6), durationMs: 2 },
    { type: 'phase', phase: 'rollback', state: 'done', lab: 'quick' },
  ], s);
  t.is(s.failure!.rollback, 'done');
  t.is(s.failure!.undone, 1);
  t.is(state(s, 'guest:left'), 'removed');
  t.is(state(s, 'tunnel:tun0'), 'failed');
  t.is(state(s, 'host:box-1'), 'planned', 'never started');
  t.false(s.labUp);
  t.deepEqual(s.steps.map((x) => `${x.key}:${x.state}:${x.phase}`), ['do:6:done:up', 'do:8:failed:up', 'undo:6:done:rollback']);
});

test('an undo that fails during rollback makes the rollback incomplete', (t) => {
  const f = { subject: 'guest "left"', request: 'ip netns del gl-quick-left', stderr: 'Device or resource busy' };
  const s = run([
    { type: 'step-failed', step: st(8), failure: { subject: 'tunnel "tun0"', request: 'x', kernelMessage: 'boom' }, durationMs: 1 },
    { type: 'phase', phase: 'rollback', state: 'start', lab: 'quick' },
    { type: 'undo-failed', step: st(6), failure: f },
    { type: 'phase', phase: 'rollback', state: 'failed', lab: 'quick' },
  ]);
  t.is(s.failure!.rollback, 'incomplete');
  t.is(s.failure!.undoFailures.length, 1);
  t.regex(s.failure!.undoFailures[0]!, /Device or resource busy/);
});

test('down: removing then removed, lab no longer up', (t) => {
  let s = run([{ type: 'plan', lab: 'quick', plan }, { type: 'phase', phase: 'up', state: 'start', lab: 'quick' }, { type: 'phase', phase: 'up', state: 'done', lab: 'quick' }]);
  s = run([{ type: 'phase', phase: 'down', state: 'start', lab: 'quick' }, { type: 'undo-start', step: st(8) }], s);
  t.is(state(s, 'tunnel:tun0'), 'removing');
  t.is(s.steps[0]!.direction, 'undo');
  s = run([{ type: 'undo-done', step: st(8), durationMs: 1 }, { type: 'phase', phase: 'down', state: 'done', lab: 'quick' }], s);
  t.true(s.objects.every((o) => o.state === 'removed'));
  t.false(s.labUp);
  t.is(s.failure, undefined);
});

test('checks: running, passed with figures, failed with the result kept; unknown checks are added', (t) => {
  const s = run([
    { type: 'check-start', check: lab.checks[0]! },
    { type: 'check-done', result: pingPassed },
    { type: 'check-start', check: lab.checks[1]! },
  ]);
  t.is(s.checks[0]!.state, 'passed');
  t.is(s.checks[0]!.result!.figures.loss, '0%');
  t.is(s.checks[1]!.state, 'running');
  const s2 = run([{ type: 'check-done', result: iperfFailed }, { type: 'check-done', result: { ...pingPassed, name: 'extra' } }], s);
  t.is(s2.checks[1]!.state, 'failed');
  t.regex(s2.checks[1]!.result!.message!, /expected at least/);
  t.is(s2.checks[2]!.name, 'extra');
});

test('notices are kept (bounded), warnings from the model are shown first', (t) => {
  let s = initialUiState({ ...lab, warnings: ['w1'] });
  for (let i = 0; i < 30; i++) s = uiReducer(s, { type: 'notice', level: 'info', message: `n${i}` });
  t.is(s.notices.length, 20);
  t.is(s.notices.at(-1)!.message, 'n29');
});

test('a new up clears the previous failure and progress', (t) => {
  const s = run([
    { type: 'step-failed', step: st(8), failure: { subject: 'x', request: 'y' }, durationMs: 1 },
    { type: 'phase', phase: 'up', state: 'start', lab: 'quick' },
  ]);
  t.is(s.failure, undefined);
  t.deepEqual(s.steps, []);
  t.is(state(s, 'tunnel:tun0'), 'planned');
});
