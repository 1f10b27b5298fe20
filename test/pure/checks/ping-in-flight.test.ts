/**
 * Probes in flight when ping stops at its count-th reply are not losses (settleInFlight): the
 * kernel tier saw "expected reachable, saw 16.7% loss: 5/6 replies" on a healthy path behind
 * 100 ms of netem delay, because `ping -c 5 -w 5` had sent a 6th probe before the 5th reply came.
 * Real losses — before the last answered probe, or at the deadline — still count.
 */
import test from 'ava';
import { describePing, parsePing, pingFigures, pingVerdict, settleInFlight } from '../../../lib/checks/ping.js';

/** ping's report for `transmitted` probes of which `answered` (icmp_seq) came back. */
function report(transmitted: number, answered: number[]): string {
  const lines = ['PING 203.0.113.2 (203.0.113.2) 56(84) bytes of data.'];
  for (const seq of answered) lines.push(`64 bytes from 203.0.113.2: icmp_seq=${seq} ttl=64 time=101 ms`);
  const loss = (100 * (transmitted - answered.length)) / transmitted;
  lines.push('', '--- 203.0.113.2 ping statistics ---');
  lines.push(`${transmitted} packets transmitted, ${answered.length} received, ${Number(loss.toFixed(4))}% packet loss, time 1003ms`);
  lines.push('rtt min/avg/max/mdev = 100.9/101.0/101.2/0.1 ms', '');
  return lines.join('\n');
}

test('count 5, a 6th probe sent before the 5th reply: in flight, 0% loss, reachable passes', (t) => {
  const p = settleInFlight(parsePing(report(6, [1, 2, 3, 4, 5])), 5);
  t.is(p.inFlight, 1);
  t.is(p.lossPct, 0);
  t.true(pingVerdict('reachable', 0, p).ok);
  t.is(describePing(p), '0% loss: 5/5 replies (+1 still in flight when ping stopped, not judged)');
  t.like(pingFigures(p), { sent: 6, received: 5, loss: '0%', in_flight: 1 });
});

test('the same report before settling is what ping says: 16.7% loss (the old verdict)', (t) => {
  const p = parsePing(report(6, [1, 2, 3, 4, 5]));
  t.is(p.inFlight, 0);
  t.false(pingVerdict('reachable', 0, p).ok);
});

// Real losses among late replies: the verdict fails with the judged probes (and the in-flight ones) named.
for (const [title, transmitted, answered, inFlight, seen] of [
  ['a probe lost before the last answered one is a loss, however late the replies', 6, [1, 2, 3, 4, 6], 0, '16.7% loss: 5/6 replies'],
  ['a loss in the middle and one probe in flight: only the in-flight one is left out', 7, [1, 2, 4, 5, 6], 1, '16.7% loss: 5/6 replies (+1 still in flight when ping stopped, not judged)'],
] as const) {
  test(title, (t) => {
    const p = settleInFlight(parsePing(report(transmitted, [...answered])), 5);
    t.is(p.inFlight, inFlight);
    t.true(Math.abs(p.lossPct - 100 / 6) < 0.01);
    const v = pingVerdict('reachable', 0, p);
    t.false(v.ok);
    if (!v.ok) t.is(v.message, `expected reachable (loss ≤ 0%), saw ${seen}`);
  });
}

test('stopped by the deadline (fewer replies than the count): every unanswered probe counts', (t) => {
  const p = settleInFlight(parsePing(report(10, [1, 2, 3])), 5);
  t.is(p.inFlight, 0);
  t.is(p.lossPct, 70);
  t.false(pingVerdict('reachable', 10, p).ok);
});

test('no reply at all: unreachable stays unreachable (nothing is in flight to judge)', (t) => {
  const p = settleInFlight(parsePing(report(5, [])), 5);
  t.is(p.inFlight, 0);
  t.is(p.lossPct, 100);
  t.true(pingVerdict('unreachable', 0, p).ok);
});
