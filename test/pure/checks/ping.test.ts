import test from 'ava';
import { describePing, parsePing, pingArgv, pingVerdict } from '../../../lib/checks/ping.js';
import { pingRun } from './fixtures.js';

const parse = (name: string) => parsePing(...pingRun(name));

test('argv: count, interval in seconds, wait, deadline, size, DF, family, address last', (t) => {
  t.deepEqual(pingArgv({ address: '203.0.113.2', family: 'ipv4', count: 3, intervalMs: 200, deadlineS: 5, size: 56, df: false }), [
    'ping', '-n', '-c', '3', '-i', '0.2', '-W', '1', '-w', '5', '-s', '56', '-4', '203.0.113.2',
  ]);
  t.deepEqual(pingArgv({ address: '2001:db8::2', family: 'ipv6', count: 1, intervalMs: 1000, deadlineS: 2, size: 1400, df: true }), [
    'ping', '-n', '-c', '1', '-i', '1', '-W', '1', '-w', '2', '-s', '1400', '-M', 'do', '-6', '2001:db8::2',
  ]);
});

test('success: counts and rtt', (t) => {
  const p = parse('ping-ok');
  t.true(p.complete);
  t.is(p.transmitted, 3);
  t.is(p.received, 3);
  t.is(p.lossPct, 0);
  t.deepEqual(p.rtt, { min: 0.042, avg: 0.174, max: 0.429, mdev: 0.18 });
  t.deepEqual(p.problems, []);
  t.true(pingVerdict('reachable', 0, p).ok);
  const v = pingVerdict('unreachable', 0, p);
  t.false(v.ok);
  if (!v.ok) t.is(v.message, 'expected unreachable (100% loss, no reply), saw 0% loss: 3/3 replies');
});

test('IPv6 success', (t) => {
  const p = parse('ping-ipv6-ok');
  t.is(p.received, 3);
  t.is(p.rtt?.avg, 0.062);
});

test('silent loss (unassigned address, deadline before ARP gave up)', (t) => {
  const p = parse('ping-unassigned');
  t.true(p.complete);
  t.is(p.transmitted, 12);
  t.is(p.received, 0);
  t.is(p.lossPct, 100);
  t.is(p.fatal, undefined);
  const v = pingVerdict('reachable', 0, p);
  t.false(v.ok);
  if (!v.ok) t.is(v.message, 'expected reachable (loss ≤ 0%), saw 100% loss: 0/12 replies');
  t.true(pingVerdict('unreachable', 0, p).ok);
});

test('Destination Host Unreachable is reported with who said it', (t) => {
  const p = parse('ping-hostunreach');
  t.is(p.errors, 12);
  t.deepEqual(p.problems, ['Destination Host Unreachable (from 203.0.113.1)']);
  const v = pingVerdict('reachable', 5, p);
  t.false(v.ok);
  if (!v.ok) t.is(v.message, 'expected reachable (loss ≤ 5%), saw 100% loss: 0/12 replies; Destination Host Unreachable (from 203.0.113.1)');
  const p6 = parse('ping-ipv6-hostunreach');
  t.deepEqual(p6.problems, ['Destination unreachable: Address unreachable (from 2001:db8::1)']);
  t.true(pingVerdict('unreachable', 0, p6).ok);
});

test('Network is unreachable (no statistics) counts as unreachable, not as an error', (t) => {
  const p = parse('ping-netunreach');
  t.false(p.complete);
  t.is(p.fatal, undefined);
  t.deepEqual(p.networkErrors, ['Network is unreachable']);
  t.true(pingVerdict('unreachable', 0, p).ok);
  const v = pingVerdict('reachable', 0, p);
  t.false(v.ok);
  if (!v.ok) t.is(v.message, 'expected reachable (loss ≤ 0%), saw no packet could be sent; connect: Network is unreachable');
});

test('DF too big: local EMSGSIZE with the MTU (IPv4 "mtu=" and IPv6 "mtu: ")', (t) => {
  const p = parse('ping-df-toobig');
  t.deepEqual(p.mtuHint, { mtu: 1400, source: 'local' });
  t.is(p.errors, 1);
  t.regex(describePing(p), /message too long, mtu=1400/);
  const p6 = parse('ping-ipv6-toobig');
  t.deepEqual(p6.mtuHint, { mtu: 1400, source: 'local' });
});

test('DF too big answered by a router: Frag needed / Packet too big', (t) => {
  t.deepEqual(parse('ping-fragneeded').mtuHint, { mtu: 1400, source: 'icmp', from: '203.0.113.254' });
  t.deepEqual(parse('ping-ipv6-packettoobig').mtuHint, { mtu: 1400, source: 'icmp', from: '2001:db8::fe' });
});

test('DF black hole on a veth: ENOBUFS, no MTU hint', (t) => {
  const p = parse('ping-df-blackhole');
  t.is(p.mtuHint, undefined);
  t.deepEqual(p.problems, ['sendmsg: No buffer space available']);
  t.deepEqual(p.networkErrors, []);
});

test('ping that could not run at all is fatal', (t) => {
  const p = parsePing('', 'Cannot open network namespace "nope": No such file or directory\n');
  t.is(p.fatal, 'Cannot open network namespace "nope": No such file or directory');
  const q = parsePing('', 'ping: nosuchhost: Name or service not known\n');
  t.is(q.fatal, 'ping: nosuchhost: Name or service not known');
});

test('reachable tolerates loss up to maxLossPct but never zero replies', (t) => {
  const partial = parsePing('5 packets transmitted, 4 received, 20% packet loss, time 800ms\n');
  t.true(pingVerdict('reachable', 20, partial).ok);
  t.false(pingVerdict('reachable', 10, partial).ok);
  t.false(pingVerdict('unreachable', 100, partial).ok);
});

test('ENOBUFS before anything left: "0 packets transmitted, 0 received" has no loss figure', (t) => {
  const p = parse('ping-df-enobufs-none-sent');
  t.true(p.complete);
  t.is(p.transmitted, 0);
  t.is(p.lossPct, 100);
  t.is(p.fatal, undefined);
  const v = pingVerdict('reachable', 0, p);
  t.false(v.ok);
  if (!v.ok) t.is(v.message, 'expected reachable (loss ≤ 0%), saw no packet could be sent');
});
