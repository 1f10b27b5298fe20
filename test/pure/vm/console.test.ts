import test from 'ava';
import { ConsoleWatcher, type ConsoleEvent } from '../../../lib/vm/console.js';

test('markers are recognised across arbitrary chunk boundaries and kept out of the tail', (t) => {
  const events: ConsoleEvent[] = [];
  const w = new ConsoleWatcher((e) => events.push(e));
  const text = 'SeaBIOS\r\nBooting from ROM..\r\nGENEVE-LAB-VM:IN' + 'IT\r\n[ 1.0] noise\nGENEVE-LAB-VM:READY\nGENEVE-LAB-VM:EXIT 42\n';
  for (const ch of text) w.feed(ch);
  t.deepEqual(events, [{ kind: 'init' }, { kind: 'ready' }, { kind: 'exit', code: 42 }]);
  t.deepEqual(w.lastLines(), ['SeaBIOS', 'Booting from ROM..', '[ 1.0] noise']);
});

test('a panic and a setup failure are reported with their lines', (t) => {
  const w = new ConsoleWatcher();
  w.feed('[    2.1] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100\n');
  w.feed('GENEVE-LAB-VM:FAIL mounting the host filesystem (9p tag hostroot)\n');
  t.deepEqual(w.events, [
    { kind: 'panic', line: '[    2.1] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100' },
    { kind: 'fail', what: 'mounting the host filesystem (9p tag hostroot)' },
  ]);
  t.true(w.lastLines()[0]!.includes('Kernel panic'));
});

test('only the last lines are kept, including an unterminated one', (t) => {
  const w = new ConsoleWatcher(undefined, 3);
  w.feed('a\nb\nc\nd\ne');
  t.deepEqual(w.lastLines(), ['c', 'd', 'e'].slice(-3));
  t.is(w.lastLines().length, 3);
  t.is(w.lastLines().at(-1), 'e');
});

test('escape sequences from the firmware are stripped', (t) => {
  const w = new ConsoleWatcher();
  w.feed('\x1b[2J\x1b[01;01HGENEVE-LAB-VM:INIT\n');
  t.deepEqual(w.events, [{ kind: 'init' }]);
});
