import test from 'ava';
import { batchFailures } from '../../../lib/doctor/probes.js';

test('ip -force -batch: each failed line gets the kernel words printed before its "Command failed" line', (t) => {
  const stderr = 'Error: Unknown device type.\nCommand failed -:3\nError: Unknown device type.\nCommand failed -:6\n';
  t.deepEqual([...batchFailures(stderr)], [
    [3, 'Unknown device type.'],
    [6, 'Unknown device type.'],
  ]);
});

test('ip -force -batch: a message over several lines is kept whole; a line with no words still counts as failed', (t) => {
  const stderr = 'RTNETLINK answers: Operation not supported\nsome detail\nCommand failed -:2\nCommand failed -:4\n';
  const f = batchFailures(stderr);
  t.is(f.get(2), 'RTNETLINK answers: Operation not supported some detail');
  t.is(f.get(4), '');
  t.false(f.has(3), 'a line ip did not name succeeded');
});

test('ip -force -batch: no failures, nothing named', (t) => {
  t.is(batchFailures('').size, 0);
});
