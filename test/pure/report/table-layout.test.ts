/** Human tables: never cut into a file or pipe (CI logs keep the RTT figures); COLUMNS sets the width. */
import test from 'ava';
import { formatTable, tableLayoutFor } from '../../../lib/report/table.js';
import type { CheckResult } from '../../../lib/checks/result.js';

const long: CheckResult[] = [
  {
    name: 'a-rather-long-check-name-that-goes-on-and-on',
    kind: 'ping',
    what: 'ping left-guest-with-a-long-name → right-guest-with-a-long-name (2001:db8:1234:5678::2), 20 × 1400 B',
    status: 'failed',
    message: 'expected loss ≤ 0%, saw 5% loss: 19/20 replies; the message is long enough to be wrapped at a narrow width for sure',
    figures: { sent: 20, received: 19, loss: '5%', rtt_min_ms: 0.041, rtt_avg_ms: 0.123, rtt_max_ms: 1.234 },
    durationMs: 19_000,
  },
];

test('layout: a terminal clips at its width; a pipe never clips; COLUMNS wins over both', (t) => {
  t.deepEqual(tableLayoutFor({ isTTY: true, columns: 80 }, {}), { width: 80, clip: true });
  t.deepEqual(tableLayoutFor({ isTTY: false }, {}), { clip: false });
  t.deepEqual(tableLayoutFor({ isTTY: false }, { COLUMNS: '60' }), { width: 60, clip: false });
  t.deepEqual(tableLayoutFor({ isTTY: true, columns: 200 }, { COLUMNS: '70' }), { width: 70, clip: true });
  t.deepEqual(tableLayoutFor({ isTTY: false }, { COLUMNS: 'wide' }), { clip: false });
});

test('not clipped: every cell in full, whatever the width; the message wraps at COLUMNS', (t) => {
  const out = formatTable(long, { ...tableLayoutFor({ isTTY: false }, { COLUMNS: '60' }) });
  t.false(out.includes('…'), out);
  for (const part of [long[0]!.name, long[0]!.what, 'rtt_min_ms=0.041 rtt_avg_ms=0.123 rtt_max_ms=1.234']) t.true(out.includes(part), part);
  const messageLines = out.split('\n').filter((l) => /^ +\S/.test(l));
  t.true(messageLines.length >= 2, out);
  for (const l of messageLines) t.true([...l].length <= 60, l);
});

test('clipped on a terminal: rows fit the width', (t) => {
  const out = formatTable(long, tableLayoutFor({ isTTY: true, columns: 80 }, {}));
  t.true(out.includes('…'));
  for (const l of out.trimEnd().split('\n').slice(0, -1)) t.true([...l].length <= 80, l);
});
