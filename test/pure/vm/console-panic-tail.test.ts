import test from 'ava';
import { ConsoleWatcher } from '../../../lib/vm/console.js';

test('the panic headline stays in the console tail even when a long call trace follows it', (t) => {
  const w = new ConsoleWatcher(() => {}, 10);
  w.feed('booting\nKernel panic - not syncing: sysrq triggered crash\n');
  for (let i = 0; i < 50; i++) w.feed(`[    4.2] frame_${i}+0x1/0x2\n`);
  const tail = w.lastLines();
  t.is(tail.length, 10);
  t.is(tail[0], 'Kernel panic - not syncing: sysrq triggered crash');
  t.is(tail.at(-1), '[    4.2] frame_49+0x1/0x2');
});

test('without a panic the tail is just the last lines', (t) => {
  const w = new ConsoleWatcher(() => {}, 3);
  w.feed('a\nb\nc\nd\n');
  t.deepEqual(w.lastLines(), ['b', 'c', 'd']);
});
