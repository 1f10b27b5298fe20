import test from 'ava';
import { Writable } from 'node:stream';
import { attachPlainReporter } from '../../../cli/plain-reporter.js';
import { EventBus } from '../../../lib/engine/events.js';
import type { Step } from '../../../lib/plan/ops.js';

function capture() {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, out };
}

const step: Step = { id: 3, subject: 'guest "left"', op: { op: 'netns.add', ns: 'gl-x-left', tag: 'geneve-lab:x' }, undo: { op: 'netns.del', ns: 'gl-x-left' } };

function run(verbose: boolean) {
  const bus = new EventBus();
  const { lines, out } = capture();
  let clock = 1000;
  attachPlainReporter(bus, { verbose, out, now: () => clock });
  bus.emit({ type: 'phase', phase: 'up', state: 'start', lab: 'x' });
  clock += 2500;
  bus.emit({ type: 'step-done', step, durationMs: 12.4 });
  bus.emit({ type: 'check-start', check: { name: 'reach', kind: 'ping' } as never });
  clock += 61_000;
  bus.emit({ type: 'check-done', result: { name: 'reach', kind: 'ping', what: 'ping', status: 'failed', figures: {}, durationMs: 61_000 } });
  bus.emit({ type: 'inner-check-start', parent: 'reach', check: { name: 'under', kind: 'ping' } as never });
  bus.emit({ type: 'inner-check-done', parent: 'reach', result: { name: 'under', kind: 'ping', what: 'ping', status: 'passed', figures: {}, durationMs: 900 } });
  bus.emit({ type: 'undo-done', step, durationMs: 3 });
  bus.emit({ type: 'phase', phase: 'up', state: 'done', lab: 'x' });
  return lines;
}

test('plain: one line per phase start, nothing per step or check', (t) => {
  t.deepEqual(run(false), ['up x…']);
});

test('verbose: every step, check and undo with its duration, each stamped with the seconds since the start', (t) => {
  t.deepEqual(run(true), [
    '[   0.0 s] up x: start',
    '[   2.5 s]   ✓ [3] guest "left": netns.add (12 ms)',
    '[   2.5 s]   … check reach (ping)',
    '[  63.5 s]   ✗ check reach: failed (61000 ms)',
    '[  63.5 s]     … check reach › under (ping)',
    '[  63.5 s]     ✓ check reach › under: passed (900 ms)',
    '[  63.5 s]   ✓ undo [3] guest "left": netns.del (3 ms)',
    '[  63.5 s] up x: done',
  ]);
});
