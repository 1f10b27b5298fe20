/** Engine.applyRuntime (lib/engine/runtime.ts): recorded like up's steps — appended, journaled, marked. */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StepFailed, type Backend, type ExecuteHooks } from '../../../lib/backends/backend.js';
import { EventBus } from '../../../lib/engine/events.js';
import { applyRuntime, markMutated } from '../../../lib/engine/runtime.js';
import { StateStore, type LabState } from '../../../lib/engine/state.js';
import { LabError, OpError } from '../../../lib/errors.js';
import type { Step } from '../../../lib/plan/ops.js';

function store(t: import('ava').ExecutionContext): StateStore {
  const dir = mkdtempSync(join(tmpdir(), 'gl-rt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const s = new StateStore(dir);
  const steps: Step[] = [1, 2, 3].map((id) => ({ id, subject: `s${id}`, op: { op: 'netns.add', ns: `n${id}`, tag: 'x' }, undo: { op: 'netns.del', ns: `n${id}` } }));
  const state: LabState = { version: 1, lab: 'x', tag: 'x', model: {} as LabState['model'], planHash: 'h', backend: 'fake', steps, phase: 'up', pid: process.pid, updatedAt: '' };
  s.write(state);
  s.startJournal('x');
  return s;
}

class FakeBackend implements Backend {
  readonly name = 'fake';
  ran: number[] = [];
  constructor(private failAt?: number) {}
  async execute(steps: readonly Step[], hooks: ExecuteHooks): Promise<void> {
    await hooks.intent(steps);
    for (const s of steps) {
      if (s.id === this.failAt) throw new StepFailed(s, new OpError({ subject: s.subject, request: s.op.op, kernelMessage: 'Operation not supported', errno: 'EOPNOTSUPP' }));
      this.ran.push(s.id);
      await hooks.done(s, 1);
    }
  }
  async run(): Promise<void> {}
  async close(): Promise<void> {}
}

const drafts = [
  { subject: 'step "x": guest "left"', host: 'h', op: { op: 'link.set' as const, ns: 'n1', name: 'eth0', mtu: 1400 }, undo: null },
  { subject: 'step "x": host "h"', host: 'h', op: { op: 'link.set' as const, ns: '', name: 'eth1', mtu: 1400 }, undo: { op: 'link.set' as const, ns: '', name: 'eth1', mtu: 1500 } },
];

test('appended after the plan\'s steps with their undo, journaled intent then done, lab marked mutated', async (t) => {
  const s = store(t);
  const backend = new FakeBackend();
  const bus = new EventBus();
  const seen: string[] = [];
  bus.on((e) => (e.type === 'step-start' || e.type === 'step-done') && seen.push(`${e.type} ${e.step.id}`));
  const steps = await applyRuntime({ store: s, backend, bus }, 'x', drafts);
  t.deepEqual(steps.map((x) => x.id), [4, 5]);
  const st = s.read('x')!;
  t.deepEqual(st.steps.map((x) => x.id), [1, 2, 3, 4, 5]);
  t.deepEqual(st.steps[4]!.undo, drafts[1]!.undo);
  t.is(st.mutated, 'step "x": guest "left"');
  t.is(st.phase, 'up');
  const j = s.readJournal('x');
  t.deepEqual([...j.done].sort(), [4, 5]);
  t.deepEqual(readFileSync(join(s.dir, 'labs', 'x.journal'), 'utf8').trim().split('\n'), ['{"intent":[4,5]}', '{"done":4}', '{"done":5}']);
  t.deepEqual(seen, ['step-start 4', 'step-start 5', 'step-done 4', 'step-done 5']);
  // A second batch continues the numbering; the first reason for "mutated" is kept.
  await applyRuntime({ store: s, backend, bus }, 'x', [{ ...drafts[0]!, subject: 'later' }]);
  t.deepEqual(s.read('x')!.steps.map((x) => x.id), [1, 2, 3, 4, 5, 6]);
  t.is(s.read('x')!.mutated, 'step "x": guest "left"');
});

test('a failing operation: the OpError of the backend; what ran stays journaled as done (teardown undoes it)', async (t) => {
  const s = store(t);
  const err = await t.throwsAsync(applyRuntime({ store: s, backend: new FakeBackend(5), bus: new EventBus() }, 'x', drafts));
  t.true(err instanceof OpError);
  t.regex(err!.message, /Operation not supported \(EOPNOTSUPP\)/);
  const j = s.readJournal('x');
  t.deepEqual([...j.done], [4]);
  t.true(j.intent.has(5));
  t.deepEqual(s.read('x')!.steps.map((x) => x.id), [1, 2, 3, 4, 5]);
});

test('run override: each step journaled around the caller\'s function', async (t) => {
  const s = store(t);
  const ran: number[] = [];
  await applyRuntime({ store: s, backend: new FakeBackend(), bus: new EventBus() }, 'x', drafts, { run: async (st) => void ran.push(st.id) });
  t.deepEqual(ran, [4, 5]);
  t.deepEqual(readFileSync(join(s.dir, 'labs', 'x.journal'), 'utf8').trim().split('\n'), ['{"intent":[4]}', '{"done":4}', '{"intent":[5]}', '{"done":5}']);
});

test('only a running lab can be changed; markMutated keeps the first reason', async (t) => {
  const s = store(t);
  await t.throwsAsync(applyRuntime({ store: s, backend: new FakeBackend(), bus: new EventBus() }, 'nope', drafts), { instanceOf: LabError, message: /lab "nope" is not up: a scenario step can only change a running lab/ });
  markMutated(s, 'x', 'first');
  markMutated(s, 'x', 'second');
  t.is(s.read('x')!.mutated, 'first');
});
