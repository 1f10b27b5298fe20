/** cli/interrupt.ts: the first Ctrl-C aborts the work; during undoing one more explains, the next abandons. */
import test from 'ava';
import { Writable } from 'node:stream';
import { Interrupts } from '../../../cli/interrupt.js';
import { EventBus } from '../../../lib/engine/events.js';

function setup(abortable: boolean) {
  const bus = new EventBus();
  const lines: string[] = [];
  const exits: number[] = [];
  const out = new Writable({ write: (c, _e, cb) => (lines.push(String(c).trim()), cb()) });
  const i = new Interrupts(bus, { abortable, out, exit: (c) => exits.push(c) });
  return { bus, lines, exits, i };
}

test('up: Ctrl-C aborts; during the rollback a second explains, a third abandons with 130', (t) => {
  const { bus, lines, exits, i } = setup(true);
  t.teardown(() => i.dispose());
  i.press('SIGINT');
  t.true(i.signal.aborted);
  t.is(i.signal.reason, 'SIGINT');
  bus.emit({ type: 'phase', phase: 'rollback', state: 'start', lab: 'x' });
  i.press('SIGINT');
  t.regex(lines.at(-1)!, /rolling back, press again to abandon \(gc will finish\)/);
  t.deepEqual(exits, []);
  i.press('SIGINT');
  t.deepEqual(exits, [130]);
  t.regex(lines.at(-1)!, /abandoned: run `geneve-lab gc`/);
});

test('SIGTERM means 143', (t) => {
  const { i, exits } = setup(true);
  t.teardown(() => i.dispose());
  i.press('SIGTERM');
  t.is(i.exitCode, 143);
  i.press('SIGTERM');
  i.press('SIGTERM');
  t.deepEqual(exits, [143]);
});

test('down: already undoing, so the first press explains and the second abandons', (t) => {
  const { i, lines, exits } = setup(false);
  t.teardown(() => i.dispose());
  i.press('SIGINT');
  t.false(i.signal.aborted, 'a teardown is never aborted half-way');
  t.regex(lines.at(-1)!, /rolling back, press again to abandon/);
  i.press('SIGINT');
  t.deepEqual(exits, [130]);
});
