/**
 * The in-process pinger's pure parts (lib/checks/icmp/): echo requests as bytes, what a received
 * datagram means, ping's report written from probe records — checked against the real ping
 * outputs in test/fixtures/checks, through the same parser and verdict the process path uses.
 */
import test from 'ava';
import { addressOf, echoRequest, errorText, formatIpv6, inetChecksum, ipv6Bytes, parseIncoming, sockaddr } from '../../../lib/checks/icmp/packet.js';
import { percentG, pingTime, transcript, type ProbeLog } from '../../../lib/checks/icmp/transcript.js';
import { describePing, parsePing, pingFigures, pingVerdict, type PingOutput } from '../../../lib/checks/ping.js';
import { canPingInProcess } from '../../../lib/checks/ping.js';
import { defaultJobs } from '../../../lib/checks/run.js';
import { parseJobs } from '../../../cli/global-options.js';
import { pingRun } from './fixtures.js';

const ipv4Header = (src: string, proto = 1, ihl = 5) => {
  const h = Buffer.alloc(ihl * 4);
  h[0] = 0x40 | ihl;
  h[9] = proto;
  Buffer.from(src.split('.').map(Number)).copy(h, 12);
  return h;
};
const ipv6Header = (next = 58) => {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h[6] = next;
  return h;
};
const icmp = (type: number, code: number, rest: number, body: Buffer = Buffer.alloc(0)) => {
  const b = Buffer.alloc(8);
  b[0] = type;
  b[1] = code;
  b.writeUInt32BE(rest >>> 0, 4);
  return Buffer.concat([b, body]);
};

test('echo request: type, id, sequence, payload length as ping -s, valid IPv4 checksum', (t) => {
  const p = echoRequest('ipv4', 0xbeef, 7, 56);
  t.is(p.length, 64);
  t.is(p[0], 8);
  t.is(p.readUInt16BE(4), 0xbeef);
  t.is(p.readUInt16BE(6), 7);
  t.is(inetChecksum(p), 0, 'a packet with its checksum sums to zero');
  const odd = echoRequest('ipv4', 1, 1, 3);
  t.is(inetChecksum(odd), 0);
  const v6 = echoRequest('ipv6', 1, 2, 1400);
  t.is(v6[0], 128);
  t.is(v6.length, 1408);
  t.is(v6.readUInt16BE(2), 0, 'the kernel fills the ICMPv6 checksum');
});

test('replies: IPv4 after its IP header (options included), IPv6 as is', (t) => {
  const reply4 = Buffer.concat([ipv4Header('203.0.113.2', 1, 6), icmp(0, 0, (0x1234 << 16) | 3)]);
  t.deepEqual(parseIncoming('ipv4', reply4), { kind: 'reply', id: 0x1234, seq: 3 });
  t.deepEqual(parseIncoming('ipv6', icmp(129, 0, (0x1234 << 16) | 9)), { kind: 'reply', id: 0x1234, seq: 9 });
  t.is(parseIncoming('ipv4', Buffer.concat([ipv4Header('203.0.113.2'), icmp(8, 0, 1)])), undefined, 'an echo request (ours looped back) is not an answer');
  t.is(parseIncoming('ipv6', icmp(135, 0, 0)), undefined, 'neighbour solicitation');
  t.is(parseIncoming('ipv4', Buffer.alloc(10)), undefined, 'runt');
});

test('ICMP errors quoting our echo request: matched by id and sequence, with ping\'s words', (t) => {
  const quoted4 = Buffer.concat([ipv4Header('203.0.113.1'), echoRequest('ipv4', 0x4242, 5, 56).subarray(0, 8)]);
  const unreach = Buffer.concat([ipv4Header('203.0.113.1'), icmp(3, 1, 0, quoted4)]);
  t.deepEqual(parseIncoming('ipv4', unreach), { kind: 'error', id: 0x4242, seq: 5, text: 'Destination Host Unreachable' });
  const frag = Buffer.concat([ipv4Header('198.51.100.1'), icmp(3, 4, 1400, quoted4)]);
  t.deepEqual(parseIncoming('ipv4', frag), { kind: 'error', id: 0x4242, seq: 5, text: 'Frag needed and DF set (mtu = 1400)' });
  const ttl = Buffer.concat([ipv4Header('198.51.100.1'), icmp(11, 0, 0, quoted4)]);
  t.is((parseIncoming('ipv4', ttl) as { text: string }).text, 'Time to live exceeded');
  // An error about a UDP datagram is someone else's.
  const udp = Buffer.concat([ipv4Header('203.0.113.1', 17), Buffer.alloc(8)]);
  t.is(parseIncoming('ipv4', Buffer.concat([ipv4Header('203.0.113.1'), icmp(3, 3, 0, udp)])), undefined);
  const quoted6 = Buffer.concat([ipv6Header(), echoRequest('ipv6', 0x99, 2, 56).subarray(0, 8)]);
  t.deepEqual(parseIncoming('ipv6', icmp(1, 3, 0, quoted6)), { kind: 'error', id: 0x99, seq: 2, text: 'Destination unreachable: Address unreachable' });
  t.deepEqual(parseIncoming('ipv6', icmp(2, 0, 1280, quoted6)), { kind: 'error', id: 0x99, seq: 2, text: 'Packet too big: mtu=1280' });
  t.is(errorText('ipv6', 3, 0, 0), 'Time exceeded: Hop limit');
  t.is(errorText('ipv4', 3, 13, 0), 'Packet filtered');
  t.is(errorText('ipv4', 3, 42, 0), 'Dest Unreachable, Bad Code: 42');
  t.is(errorText('ipv4', 5, 1, 0), undefined, 'a redirect quotes a probe that still went on');
});

test('addresses: sockaddr bytes and back, RFC 5952 text as inet_ntop prints it', (t) => {
  t.is(addressOf(sockaddr('ipv4', '203.0.113.7', 1025)), '203.0.113.7');
  t.is(sockaddr('ipv4', '203.0.113.7', 1025).readUInt16BE(2), 1025);
  for (const a of ['2001:db8::2', '::1', 'fe80::1:2', '2001:db8:0:1:1:1:1:1', '2001:0:0:1::1', '::', '::ffff:192.0.2.1']) t.is(addressOf(sockaddr('ipv6', a)), a);
  t.is(formatIpv6(ipv6Bytes('2001:DB8:0:0:0:0:0:2')), '2001:db8::2');
  t.throws(() => ipv6Bytes('2001:db8::1::2'));
  t.throws(() => sockaddr('ipv4', '203.0.113.300'));
});

test('ping\'s number formats: time by magnitude, loss as %g', (t) => {
  t.is(pingTime(0.0456), '0.046');
  t.is(pingTime(1.234), '1.23');
  t.is(pingTime(12.34), '12.3');
  t.is(pingTime(123.4), '123');
  t.is(percentG(100 / 3), '33.3333');
  t.is(percentG(100), '100');
  t.is(percentG(0), '0');
});

const log = (o: Partial<ProbeLog>): ProbeLog => ({ address: '203.0.113.2', family: 'ipv4', size: 56, transmitted: 3, replies: [], errors: [], duplicates: 0, stderr: [], elapsedMs: 403, ...o });
const parseLog = (l: ProbeLog) => {
  const { stdout, stderr } = transcript(l);
  return parsePing(stdout, stderr);
};
/** What the verdict and the figures see (per-probe RTTs and timing differ between two runs). */
const judged = (p: PingOutput) => ({ complete: p.complete, transmitted: p.transmitted, received: p.received, errors: p.errors, lossPct: p.lossPct, problems: p.problems, networkErrors: p.networkErrors, fatal: p.fatal, describe: describePing(p) });

test('the written report parses to what ping\'s own does: all replies, host unreachable (v4, v6), silence, no route', (t) => {
  const ok = parseLog(log({ replies: [1, 2, 3].map((seq) => ({ seq, from: '203.0.113.2', rttMs: [0.429, 0.042, 0.052][seq - 1]! })) }));
  const real = parsePing(...pingRun('ping-ok'));
  t.deepEqual(judged(ok), judged(real));
  t.deepEqual(ok.rtt, real.rtt, 'min/avg/max/mdev computed as ping does');
  t.deepEqual(ok.replies, real.replies, 'per-probe RTTs');
  t.deepEqual(real.replies, [{ seq: 1, ms: 0.429 }, { seq: 2, ms: 0.042 }, { seq: 3, ms: 0.052 }]);

  const seqs = Array.from({ length: 12 }, (_, i) => i + 1);
  const host = parseLog(log({ address: '203.0.113.77', transmitted: 12, errors: seqs.map((seq) => ({ seq, from: '203.0.113.1', text: 'Destination Host Unreachable' })) }));
  t.deepEqual(judged(host), judged(parsePing(...pingRun('ping-hostunreach'))));
  const host6 = parseLog(log({ address: '2001:db8::77', family: 'ipv6', transmitted: 12, errors: seqs.map((seq) => ({ seq, from: '2001:db8::1', text: 'Destination unreachable: Address unreachable' })) }));
  t.deepEqual(judged(host6), judged(parsePing(...pingRun('ping-ipv6-hostunreach'))));
  const silent = parseLog(log({ address: '203.0.113.77', transmitted: 12 }));
  t.deepEqual(judged(silent), judged(parsePing(...pingRun('ping-unassigned'))));
  const noRoute = parsePing('', 'ping: connect: Network is unreachable\n');
  t.deepEqual(judged(noRoute), judged(parsePing(...pingRun('ping-netunreach'))));
  for (const expect of ['reachable', 'unreachable'] as const) {
    for (const [mine, name] of [[ok, 'ping-ok'], [host, 'ping-hostunreach'], [silent, 'ping-unassigned'], [noRoute, 'ping-netunreach']] as const) {
      t.deepEqual(pingVerdict(expect, 0, mine), pingVerdict(expect, 0, parsePing(...pingRun(name))), `${expect} ${name}`);
    }
  }
});

test('partial loss, duplicates and a local send error read as ping would print them', (t) => {
  const p = parseLog(log({ transmitted: 3, replies: [{ seq: 1, from: '203.0.113.2', rttMs: 1.5 }, { seq: 3, from: '203.0.113.2', rttMs: 0.5 }], duplicates: 1 }));
  t.is(p.received, 2);
  t.is(p.lossPct, 33.3333);
  t.deepEqual(pingFigures(p), { sent: 3, received: 2, loss: pingFigures(p).loss, rtt_min_ms: 0.5, rtt_avg_ms: 1, rtt_max_ms: 1.5 });
  t.true(pingVerdict('reachable', 50, p).ok);
  t.false(pingVerdict('reachable', 0, p).ok);
  const send = parseLog(log({ transmitted: 3, stderr: ['ping: sendmsg: Network is unreachable'] }));
  t.deepEqual(send.networkErrors, ['Network is unreachable']);
  t.true(pingVerdict('unreachable', 0, send).ok);
});

test('in-process only for local endpoints and non-DF probes, unless told to use processes', (t) => {
  const local = { exec: { inProcess: true } };
  t.true(canPingInProcess({ df: false }, local, {}));
  t.false(canPingInProcess({ df: true }, local, {}), 'DF probes need ping\'s local MTU report');
  t.false(canPingInProcess({ df: false, pmtu: 'want' }, local, {}));
  t.false(canPingInProcess({ df: false }, { exec: {} }, {}), 'SSH hosts and fakes run ping');
  t.false(canPingInProcess({ df: false }, local, { probes: 'process' }));
});

test('--jobs: whole numbers from 1; the default grows with the cores, never below 4', (t) => {
  t.is(parseJobs('12'), 12);
  t.is(parseJobs(undefined), undefined);
  for (const bad of ['0', '-1', '2.5', 'many', '']) t.throws(() => parseJobs(bad), { message: /--jobs takes a whole number/ });
  t.is(defaultJobs(1), 8);
  t.is(defaultJobs(2), 16);
  t.is(defaultJobs(0), 4);
});
