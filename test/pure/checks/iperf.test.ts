import test from 'ava';
import { isNetworkFailure, iperfClientArgv, iperfServerArgv, iperfVerdict, parseIperfJson } from '../../../lib/checks/iperf.js';
import { fixture } from './fixtures.js';

test('client argv: every option an array element, bitrate in bits per second, --json', (t) => {
  t.deepEqual(iperfClientArgv({ address: '203.0.113.2', port: 5301, family: 'ipv4', protocol: 'udp', durationS: 2, parallel: 2, reverse: true, bitrateBps: 50e6 }), [
    'iperf3', '-c', '203.0.113.2', '-p', '5301', '-4', '-t', '2', '-P', '2', '-R', '-u', '-b', '50000000', '--connect-timeout', '10000', '--json',
  ]);
  t.deepEqual(iperfClientArgv({ address: '2001:db8::2', port: 1, family: 'ipv6', protocol: 'tcp', durationS: 1, parallel: 1, reverse: false }).slice(0, 7), ['iperf3', '-c', '2001:db8::2', '-p', '1', '-6', '-t']);
  t.deepEqual(iperfServerArgv(5301, 30), ['iperf3', '-s', '-1', '-p', '5301', '--json', '--idle-timeout', '30']);
});

test('TCP JSON (2 streams): receiver throughput and sender retransmits', (t) => {
  const p = parseIperfJson(fixture('iperf-tcp.json'));
  t.true(p.ok);
  if (!p.ok) return;
  t.is(p.summary.protocol, 'tcp');
  t.is(Math.round(p.summary.bps), 13254432161);
  t.is(Math.round(p.summary.sentBps), 13343707759);
  t.is(p.summary.retransmits, 897);
  t.is(p.summary.streams, 2);
  t.is(p.summary.lossPct, undefined);
  t.true(iperfVerdict({ protocol: 'tcp', minBps: 1e9 }, p.summary).ok);
  const v = iperfVerdict({ protocol: 'tcp', minBps: 100e9 }, p.summary);
  t.false(v.ok);
  if (!v.ok) t.is(v.message, 'expected throughput ≥ 100 Gbit/s, saw 13.3 Gbit/s');
});

test('TCP reverse over IPv6', (t) => {
  const p = parseIperfJson(fixture('iperf-tcp-reverse-ipv6.json'));
  t.true(p.ok && p.summary.reverse && p.summary.retransmits === 11950);
});

test('UDP JSON: loss and jitter from the receiver side', (t) => {
  const p = parseIperfJson(fixture('iperf-udp.json'));
  t.true(p.ok);
  if (!p.ok) return;
  t.is(p.summary.protocol, 'udp');
  t.is(p.summary.lossPct, 0);
  t.is(p.summary.packets, 4633);
  t.true(p.summary.jitterMs! > 0);
  t.true(iperfVerdict({ protocol: 'udp', minBps: 40e6, maxLossPct: 0.1 }, p.summary).ok);
});

test('lossy UDP: goodput below the sent rate, loss over the threshold fails with both numbers', (t) => {
  const p = parseIperfJson(fixture('iperf-udp-lossy.json'));
  t.true(p.ok);
  if (!p.ok) return;
  t.true(Math.abs(p.summary.lossPct! - 36.33) < 0.01);
  t.is(Math.round(p.summary.bps), 1603557713);
  const v = iperfVerdict({ protocol: 'udp', minBps: 2e9, maxLossPct: 0.1 }, p.summary);
  t.false(v.ok);
  if (!v.ok)
    t.is(v.message, 'expected throughput ≥ 2 Gbit/s, saw 1.6 Gbit/s (sender pushed 2.52 Gbit/s); expected loss ≤ 0.1%, saw 36.3% (87982/242200 datagrams lost)');
});

test('errors: connection refused, server port in use, not JSON', (t) => {
  t.deepEqual(parseIperfJson(fixture('iperf-refused.json')), { ok: false, error: 'unable to connect to server: Connection refused' });
  t.deepEqual(parseIperfJson(fixture('iperf-server-inuse.json')), { ok: false, error: 'unable to start listener for connections: Address already in use' });
  t.deepEqual(parseIperfJson('iperf3: error - some text\n'), { ok: false, error: 'iperf3 did not print JSON: iperf3: error - some text' });
  t.deepEqual(parseIperfJson(''), { ok: false, error: 'iperf3 printed nothing' });
  t.false(parseIperfJson('{"start":{},"end":{}}').ok);
});

test('network failures are told apart from misuse', (t) => {
  t.true(isNetworkFailure('unable to connect to server: Connection refused'));
  t.true(isNetworkFailure('unable to connect to server: Connection timed out'));
  t.true(isNetworkFailure('control socket has closed unexpectedly'));
  t.false(isNetworkFailure('unable to start listener for connections: Address already in use'));
  t.false(isNetworkFailure('parameter error - must either be a client (-c) or server (-s)'));
});
