import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_ALLOWED, gateHint, logAssertions, parseLogLines } from '../../../lib/checks/log.js';
import { assertionVerdict } from '../../../lib/checks/expect.js';
import type { LogCheck } from '../../../lib/model/look-checks.js';
import { FIXTURES } from '../checks/fixtures.js';

const log = readFileSync(join(FIXTURES, 'look', 'vswitchd.log'), 'utf8');
const gate = (allow: string[] = []): LogCheck => ({ kind: 'log', name: 'g', host: 'box-1', must: [], mustNot: [], gate: { allow } });

test('log lines: level and body without timestamp and sequence number', (t) => {
  const lines = parseLogLines(log);
  t.is(lines.length, 11);
  t.deepEqual(lines[7], { text: '2026-12-06T04:00:56.515Z|00051|netdev_linux|WARN|error receiving Ethernet packet on left: Network is down', at: Date.parse('2026-12-06T04:00:56.515Z'), body: 'netdev_linux|WARN|error receiving Ethernet packet on left: Network is down', level: 'WARN' });
});

test('setup races are allowed only in lines logged before the run\'s first check', (t) => {
  // Seen on recipes/ovn-metadata.yaml: worker1's guest sends with options before worker2 has its TLV map.
  const race = '2026-12-06T04:39:22.900Z|00053|ofproto_dpif_xlate|WARN|Invalid Geneve tunnel metadata on bridge br-int2 while processing icmp6,in_port=2,vlan_tci=0x0000,dl_src=40:44:00:00:00:01,dl_dst=33:33:ff:00:00:01,ipv6_src=::,ipv6_dst=ff02::1\n';
  const lines = parseLogLines(log + race);
  t.true(logAssertions(gate(), lines, Date.parse('2026-12-06T04:40:00Z'))[0]!.ok, 'logged while the lab was built');
  t.false(logAssertions(gate(), lines, Date.parse('2026-12-06T04:39:00Z'))[0]!.ok, 'logged during the run: a real problem');
  t.false(logAssertions(gate(), lines)[0]!.ok, 'no run start known: judged strictly');
});

test('the gate passes on what every lab logs here (the default allow list)', (t) => {
  const a = logAssertions(gate(), parseLogLines(log));
  t.deepEqual(a, [{ field: 'WARN/ERR/EMER lines not allowed', expected: 'none', observed: 'none in 11 lines', ok: true }]);
  t.true(DEFAULT_ALLOWED.length >= 4);
  // What every lab logs in the TCG VM (kernel datapath), from a VM-tier run:
  const vm = ['2026-12-06T05:31:02.118Z|00061|timeval|WARN|Unreasonably long 3408ms poll interval (181ms user, 111ms system)', '2026-12-06T05:31:02.118Z|00062|timeval|WARN|faults: 26 minor, 0 major', '2026-12-06T05:31:02.118Z|00063|timeval|WARN|context switches: 1 voluntary, 10 involuntary'];
  t.true(logAssertions(gate(), parseLogLines(vm.join('\n')))[0]!.ok);
  // The same stall in other threads, and RCU waiting on them (a CI run of the kernel tier, host under load):
  const threads = [
    '2026-12-06T21:50:01.100Z|00070|ovs_rcu(urcu3)|WARN|blocked 1001 ms waiting for handler4 to quiesce',
    '2026-12-06T21:50:01.100Z|00071|ovs_rcu|WARN|blocked 1001 ms waiting for handler4 to quiesce',
    '2026-12-06T21:50:01.200Z|00072|timeval(handler4)|WARN|Unreasonably long 1172ms poll interval (2ms user, 1147ms system)',
    '2026-12-06T21:50:01.200Z|00073|timeval(handler4)|WARN|faults: 13 minor, 0 major',
    '2026-12-06T21:50:01.200Z|00074|timeval(handler4)|WARN|context switches: 0 voluntary, 5 involuntary',
  ];
  t.true(logAssertions(gate(), parseLogLines(threads.join('\n')))[0]!.ok);
  // …but not another ovs_rcu or timeval warning, nor the same words at ERR.
  t.false(logAssertions(gate(), parseLogLines('2026-12-06T21:50:01.100Z|00070|ovs_rcu|WARN|something else entirely'))[0]!.ok);
  t.false(logAssertions(gate(), parseLogLines('2026-12-06T21:50:01.100Z|00070|ovs_rcu(urcu3)|ERR|blocked 1001 ms waiting for handler4 to quiesce'))[0]!.ok);
  // A tunnel with `ipsec: { esp: … }` (geneve-ipsec.yaml in the VM): vswitchd does not know ovs-monitor-ipsec's option.
  t.true(logAssertions(gate(), parseLogLines("2026-12-06T13:29:52.101Z|00041|netdev_vport|WARN|gnv6: unknown geneve argument 'ipsec_esp'"))[0]!.ok);
  // …but only ipsec_* options at WARN: any other unknown argument stays a failure.
  t.false(logAssertions(gate(), parseLogLines("2026-12-06T13:29:52.101Z|00041|netdev_vport|WARN|gnv6: unknown geneve argument 'ipsec_esp_typo x'"))[0]!.ok);
  t.false(logAssertions(gate(), parseLogLines("2026-12-06T13:29:52.101Z|00041|netdev_vport|WARN|gnv6: unknown geneve argument 'csum_typo'"))[0]!.ok);
});

test('the gate catches a real warning, names it, and a recipe can allow it', (t) => {
  const real = log + '2026-12-06T04:06:00.000Z|00070|tunnel|WARN|receive tunnel port not found (udp,tun_id=0x5,tun_src=192.0.2.12)\n2026-12-06T04:06:01.000Z|00071|netdev_vport|ERR|tun0: unknown geneve argument \'bogus\'\n';
  const v = assertionVerdict('ovs-vswitchd.log', logAssertions(gate(), parseLogLines(real)));
  t.is(v.status, 'failed');
  t.is(v.message, 'ovs-vswitchd.log:\n  WARN/ERR/EMER lines not allowed: expected none, observed 2: "tunnel|WARN|receive tunnel port not found (udp,tun_id=0x5,tun_src=192.0.2.12)"; "netdev_vport|ERR|tun0: unknown geneve argument \'bogus\'"');
  t.true(logAssertions(gate(['receive tunnel port not found', "unknown geneve argument 'bogus'"]), parseLogLines(real))[0]!.ok);
  // An allowed pattern does not hide a different line of the same module.
  t.false(logAssertions(gate(['receive tunnel port not found']), parseLogLines(real))[0]!.ok);
});

test('lines logged while the lab was built: a packet before the tunnel port or TLV map is allowed then, from any thread, and not once the checks run', (t) => {
  const runStartedAt = Date.parse('2026-12-07T16:47:55.000Z');
  // The kernel datapath's upcall handler logs it (seen in the VM tier: box-1's kernel geneve
  // netdev sent MLD 0.005 s before box-2's OVS had added its tunnel port).
  const early = [
    '2026-12-07T16:47:53.240Z|00002|tunnel(handler1)|WARN|receive tunnel port not found (icmp6,tun_id=0x4d,tun_src=192.0.2.11,tun_dst=192.0.2.12)',
    '2026-12-07T16:47:53.241Z|00003|tunnel|WARN|receive tunnel port not found (udp,tun_id=0x5,tun_src=192.0.2.12)',
    '2026-12-07T16:47:53.242Z|00004|ofproto_dpif_xlate(handler2)|WARN|Invalid Geneve tunnel metadata on bridge sw2 while processing icmp6,in_port=3',
  ];
  for (const l of early) t.true(logAssertions(gate(), parseLogLines(l), runStartedAt)[0]!.ok, l);
  // The same lines once the checks run: a real misconfiguration (a VNI nobody listens on).
  for (const l of early) t.false(logAssertions(gate(), parseLogLines(l.replace('16:47:53', '16:47:58')), runStartedAt)[0]!.ok, l);
  // Without a known start of the run (a `since`/`during` window) they are never setup lines.
  t.false(logAssertions(gate(), parseLogLines(early[0]!))[0]!.ok);
  // Other always-allowed lines from other threads too: a pmd thread's ENETDOWN.
  t.true(logAssertions(gate(), parseLogLines('2026-12-07T16:47:53.240Z|00009|dpif_netdev(pmd-c01/id:7)|ERR|error receiving data from left: Network is down'))[0]!.ok);
  // A thread suffix does not turn another module into an allowed one.
  t.false(logAssertions(gate(), parseLogLines('2026-12-07T16:47:53.240Z|00009|tunnelx(handler1)|WARN|receive tunnel port not found (x)'), runStartedAt)[0]!.ok);
});

test('a failed gate says how to allow what the scenario causes on purpose, and the suggested regex does allow it', (t) => {
  // A scenario step gave one end another VNI: the other vswitchd warns, from a revalidator thread.
  const lines = parseLogLines(
    [
      '2026-12-07T19:25:01.100Z|00060|tunnel(revalidator4)|WARN|receive tunnel port not found (arp,tun_id=0x64,tun_src=0.0.0.0,tun_dst=0.0.0.0,tun_ipv6_src=2001:db8:1::11)',
      '2026-12-07T19:25:02.100Z|00061|tunnel|WARN|receive tunnel port not found (icmp6,tun_id=0x65,tun_src=0.0.0.0)',
      '2026-12-07T19:25:03.100Z|00062|bridge|ERR|port tun0: could not add: 7 (Argument list too long)',
    ].join('\n'),
  );
  const finalGate: LogCheck = { ...gate(), name: 'vswitchd-log box-2', host: 'box-2', final: true };
  const hint = gateHint(finalGate, lines, Date.parse('2026-12-07T19:25:00Z'))!;
  t.is(
    hint,
    'if the scenario causes them on purpose, allow them for the host: hosts: [{ name: box-2, ovs: { log: { allow: ["receive tunnel port not found", "port tun0"] } } }] (or ovs: { log: { gate: false } })',
  );
  // Following the hint makes the gate pass on exactly those lines.
  t.true(logAssertions(gate(['receive tunnel port not found', 'port tun0']), lines)[0]!.ok);
  t.regex(gateHint(gate(), lines)!, /^if they are expected, add them to this check's allow: \["receive tunnel port not found", "port tun0"\]$/, "a recipe's own log check: its allow");
  t.is(gateHint(gate(['receive tunnel port not found', 'port tun0']), lines), undefined, 'nothing to suggest when the gate passes');
  // Regex characters in a message are escaped, so the suggestion matches the line literally.
  const odd = parseLogLines('2026-12-07T19:25:04.100Z|00063|netdev_vport|WARN|tun0 [geneve]: bad option *x*? (7)');
  const suggested = /allow: \[(.*)\] \}/.exec(gateHint({ ...finalGate }, odd)!)![1]!;
  t.true(logAssertions(gate([JSON.parse(suggested) as string]), odd)[0]!.ok, suggested);
});

test('must / must_not: present and absent patterns, with what was seen', (t) => {
  const c: LogCheck = { kind: 'log', name: 'm', host: 'box-1', must: ['added interface geneve1', 'no such line'], mustNot: ['ERR\\|', 'EMER'] };
  const a = logAssertions(c, parseLogLines(log));
  t.deepEqual(a.map((x) => x.ok), [true, false, false, true]);
  t.is(a[1]!.observed, 'none in 11 lines');
  t.is(a[2]!.observed, '1 line, first: "dpif_netdev|ERR|error receiving data from left: Network is down"');
});
