/** lib/ui/format.ts: the lists' windows. */
import test from 'ava';

test('an overflowing list gives one line to saying what it hides', async (t) => {
  const { overflowWindow } = await import('../../../lib/ui/format.js');
  t.deepEqual(overflowWindow(5, 0, 5), { start: 0, end: 5 });
  t.deepEqual(overflowWindow(10, 0, 5), { start: 0, end: 4, note: '… 6 below (↑/↓)' });
  t.deepEqual(overflowWindow(10, 9, 5), { start: 6, end: 10, note: '… 6 above (↑/↓)' });
  t.deepEqual(overflowWindow(20, 10, 5), { start: 8, end: 12, note: '… 8 above, 8 below (↑/↓)' });
  // Two lines an item: 9 lines hold 4 items and the note.
  t.deepEqual(overflowWindow(6, 0, 9, 2), { start: 0, end: 4, note: '… 2 below (↑/↓)' });
});
