/** The detail view's text: every part of a result, nested checks indented; long lines wrapped. */
import test from 'ava';
import { checkDetailText, wrapLines } from '../../../lib/ui/detail.js';
import { iperfFailed, pingPassed } from './fixtures/lab.js';

test('a result in full, inner checks indented under their parent', (t) => {
  const lines = checkDetailText({ name: 'imp', kind: 'impair', state: 'failed', result: { ...iperfFailed, name: 'imp', kind: 'impair', raw: 'a\nb', children: [pingPassed] } });
  t.is(lines[0], 'imp (impair): FAILED in 3100 ms');
  t.true(lines.includes('  saw 212.4 Mbit/s (retransmits 14)'));
  t.true(lines.includes('    bps = 212400000'));
  t.true(lines.some((l) => l.startsWith(`  ${pingPassed.name} (ping): PASSED`)));
  t.deepEqual(lines.slice(-3), ['  raw output:', '    a', '    b']);
  t.regex(checkDetailText({ name: 'x', kind: 'ping', state: 'pending' }).join('\n'), /not run yet/);
});

test('wrapLines breaks long lines and keeps short ones', (t) => {
  t.deepEqual(wrapLines(['short', 'abcdefghijklmnopqrstuvwxyz'], 10), ['short', 'abcdefghij', '  klmnopqr', '  stuvwxyz']);
});
