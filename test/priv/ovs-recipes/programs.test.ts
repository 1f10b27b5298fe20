/**
 * OVS switch programs and per-end tunnel parameters through the real CLI, on this machine's OVS
 * (userspace datapath): the tutorial recipes pass, each can fail, the options are on the wire,
 * and the issue 13/14 bugs stay fixed. Every lab runs under a random name and leaves nothing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { privTest, randomLabName } from '../../support/priv.js';
import { cli } from '../../support/cli.js';
import { netnsList } from '../../support/oracle.js';
import { NOTHING_LEFT, OVS_TOOLS, leftovers, recipeCopy, rootLinks, runJson, type RecipeCopy } from './support.js';

const rootBefore = rootLinks();

function passes(t: ExecutionContext, c: RecipeCopy, expected: Record<string, string>) {
  const r = runJson(c);
  t.is(r.code, Object.values(expected).every((s) => s === 'passed') ? 0 : 1, r.out);
  t.deepEqual(Object.fromEntries(Object.keys(expected).map((n) => [n, r.checks[n]?.status])), expected, r.out);
  t.deepEqual(leftovers(c), NOTHING_LEFT);
  t.deepEqual(rootLinks(), rootBefore, 'the root namespace is untouched');
  return r;
}

/** A recipe written by the test itself (not shipped), under a random lab name. */
function adHoc(t: ExecutionContext, body: (lab: string) => string): RecipeCopy {
  const lab = randomLabName('p');
  const dir = mkdtempSync(join(tmpdir(), 'gl-ovsp-'));
  const stateDir = join(dir, 'state');
  const file = join(dir, 'r.yaml');
  writeFileSync(file, body(lab));
  const g = (args: string[], env: Record<string, string> = {}) => cli(['--state-dir', stateDir, ...args], env);
  t.teardown(() => {
    g(['down', lab]);
    rmSync(dir, { recursive: true, force: true });
  });
  return { lab, file, stateDir, g };
}

const TWO_HOSTS = (lab: string, tunnel: string, sw = '') => `lab: ${lab}
hosts:
  - { name: h1, interfaces: [{ ipv4: 192.0.2.11/24 }] }
  - { name: h2, interfaces: [{ ipv4: 192.0.2.12/24 }] }
switches:
  - { name: sw1, host: h1, kind: ovs${sw} }
  - { name: sw2, host: h2, kind: ovs }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24] }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - { name: tun0, between: [sw1, sw2], vni: 5, ${tunnel} }
`;

privTest('recipe ovs-flow-program-tlv: flows set and match two TLV options (one without data); both are on the wire, both ways', (t) => {
  const c = recipeCopy(t, 'ovs-flow-program-tlv.yaml');
  passes(t, c, { 'left-to-right': 'passed', 'requests-carry-a1-and-the-flag': 'passed', 'replies-carry-b2-and-the-flag': 'passed' });
}, OVS_TOOLS);

privTest('ovs-flow-program-tlv can fail: a switch that tags 0xb3 instead of 0xb2 is dropped by the other side\'s flows', (t) => {
  const c = recipeCopy(t, 'ovs-flow-program-tlv.yaml', (s) => s.replace('set_field:0xb2->tun_metadata0', 'set_field:0xb3->tun_metadata0'));
  // right's ARP replies carry 0xb3 and are dropped, so left never sends its ICMP either.
  const r = passes(t, c, { 'left-to-right': 'failed', 'requests-carry-a1-and-the-flag': 'failed', 'replies-carry-b2-and-the-flag': 'failed' });
  t.regex(r.checks['replies-carry-b2-and-the-flag']!.message ?? '', /000000b3/);
}, OVS_TOOLS);

privTest('recipe mismatched-vni: the per-end VNI mismatch is unreachable, its twin passes, VNI 5 arrives where 6 is expected', (t) => {
  passes(t, recipeCopy(t, 'mismatched-vni.yaml'), { 'twin-passes': 'passed', 'mismatch-is-unreachable': 'passed', 'vni-5-arrives-where-6-is-expected': 'passed' });
}, OVS_TOOLS);

privTest('mismatched-vni can fail: without the per-end override the "broken" tunnel works, so expecting it unreachable fails', (t) => {
  const c = recipeCopy(t, 'mismatched-vni.yaml', (s) => s.replace(/\n    ends:\n      sw4: \{ vni: 6 \}/, ''));
  passes(t, c, { 'twin-passes': 'passed', 'mismatch-is-unreachable': 'failed', 'vni-5-arrives-where-6-is-expected': 'passed' });
}, OVS_TOOLS);

privTest('recipe ovs-flow-based-v4-v6: one flow-based port bridges VNI 100 over IPv4 to VNI 200 over IPv6', (t) => {
  const c = recipeCopy(t, 'ovs-flow-based-v4-v6.yaml');
  passes(t, c, { 'left-to-right': 'passed', 'vni-100-over-ipv4-on-host-4': 'passed', 'vni-200-over-ipv6-on-host-6': 'passed' });
}, OVS_TOOLS);

privTest('ovs-flow-based-v4-v6 can fail: without clearing tun_dst the IPv4 destination wins and nothing reaches host-6', (t) => {
  const c = recipeCopy(t, 'ovs-flow-based-v4-v6.yaml', (s) => s.replace('set_field:0.0.0.0->tun_dst,', ''));
  // left's ARP requests reach the hub over IPv4 but never host-6, so no ICMP is ever sent either.
  passes(t, c, { 'left-to-right': 'failed', 'vni-100-over-ipv4-on-host-4': 'failed', 'vni-200-over-ipv6-on-host-6': 'failed' });
}, OVS_TOOLS);

privTest('bug (issue 13): ovs.egress_pkt_mark on the userspace datapath no longer drops all traffic', (t) => {
  // Before the fix: "Destination Host Unreachable", 100% loss (vswitchd found no route with the mark).
  const c = adHoc(t, (lab) => TWO_HOSTS(lab, 'ovs: { egress_pkt_mark: 7 }') + 'checks:\n  - { name: ping, ping: { from: left, to: right, count: 3 } }\n');
  passes(t, c, { ping: 'passed' });
}, OVS_TOOLS);

privTest('bug (issue 14): a Geneve option without data works end to end between OVS ends, and is a zero-length option on the wire', (t) => {
  // Before the fix: validated, then `run` exited 2 with "option body must be 4..124 bytes".
  const c = adHoc(
    t,
    (lab) =>
      TWO_HOSTS(lab, 'options: [{ class: 0xffff, type: 0x01 }, { class: 0xffff, type: 0x02, data: "0000000c" }]') +
      `checks:
  - { name: ping, ping: { from: left, to: right, count: 3 } }
  - name: wire
    capture:
      host: h2
      interface: underlay
      during: ping
      at_least: 6
      expect: { geneve.options: [{ class: 0xffff, type: 0x01, data: "" }, { class: 0xffff, type: 0x02, data: "0000000c" }] }
`,
  );
  passes(t, c, { ping: 'passed', wire: 'passed' });
}, OVS_TOOLS);

privTest('bug (issue 14): a raw class 0x0102 type 0x80 option is sent exactly as written in both directions (only ovn: swaps)', (t) => {
  const c = adHoc(
    t,
    (lab) =>
      TWO_HOSTS(lab, 'options: [{ class: 0x0102, type: 0x80, data: "00010002" }]') +
      `checks:
  - { name: ping, ping: { from: left, to: right, count: 3 } }
  - { name: there, capture: { host: h2, interface: underlay, during: ping, at_least: 3, expect: { geneve.option: { class: 0x0102, type: 0x80, data: "00010002" }, inner.src: 203.0.113.1 } } }
  - { name: back, capture: { host: h2, interface: underlay, during: ping, at_least: 3, expect: { geneve.option: { class: 0x0102, type: 0x80, data: "00010002" }, inner.src: 203.0.113.2 } } }
`,
  );
  passes(t, c, { ping: 'passed', there: 'passed', back: 'passed' });
}, OVS_TOOLS);

privTest('groups and meters are installed before the flows that use them, over OpenFlow 1.5, and traffic follows them', (t) => {
  const c = adHoc(
    t,
    (lab) =>
      TWO_HOSTS(lab, '', `, openflow: OpenFlow15, groups: ["group_id=1,type=all,bucket=output:tun0"], meters: ["meter=1,pktps,band=type=drop,rate=10000"], flows: ["in_port=left,actions=meter:1,group:1", "in_port=tun0,actions=output:left"]`) +
      'checks:\n  - { name: ping, ping: { from: left, to: right, count: 3 } }\n',
  );
  const up = c.g(['up', '--no-checks', c.file]);
  t.is(up.code, 0, up.stdout + up.stderr);
  const runDir = join(c.stateDir, 'run', c.lab, 'ovs-h1');
  const ofctl = (...a: string[]) => execFileSync('ovs-ofctl', ['-O', 'OpenFlow15', '--names', ...a], { env: { ...process.env, OVS_RUNDIR: runDir }, encoding: 'utf8' });
  t.regex(ofctl('dump-groups', 'sw1'), /group_id=1,type=all,bucket=bucket_id:0,actions=output:"?tun0"?/);
  t.regex(ofctl('dump-meters', 'sw1'), /meter=1 pktps/);
  const flows = ofctl('dump-flows', 'sw1');
  t.regex(flows, /in_port=left actions=meter:1,group:1/);
  t.notRegex(flows, /actions=NORMAL/, 'the default flow was replaced');
  const ping = c.g(['check', '--json', c.file]);
  t.is(ping.code, 0, ping.stdout + ping.stderr);
  t.is(c.g(['down', c.lab]).code, 0);
  t.deepEqual(leftovers(c), NOTHING_LEFT);
}, OVS_TOOLS);

privTest('a flow OVS refuses fails `up` with ovs-ofctl\'s own words and the recipe line; everything is rolled back', (t) => {
  const c = adHoc(t, (lab) => TWO_HOSTS(lab, '', ', flows: ["in_port=left,actions=output:tun0", "table=0,nw_srcc=1,actions=drop"]'));
  const before = netnsList();
  const r = c.g(['up', '--no-checks', c.file]);
  t.is(r.code, 4, r.stdout + r.stderr);
  t.regex(r.stderr, /switch "sw1" OpenFlow program .*unknown keyword nw_srcc/);
  t.regex(r.stderr, new RegExp(`line 2 of the program, written at ${c.file.replace(/[.]/g, '\\.')}:6:\\d+: table=0,nw_srcc=1,actions=drop`));
  t.regex(r.stderr, /nothing left behind/);
  t.deepEqual(netnsList().filter((n) => !before.includes(n) && n.startsWith(`gl-${c.lab}-`)), []);
  t.deepEqual(leftovers(c), NOTHING_LEFT);
}, OVS_TOOLS);

privTest('a switch-side refusal (a group that does not exist) is quoted with the flow it was about', (t) => {
  const c = adHoc(t, (lab) => TWO_HOSTS(lab, '', ', openflow: OpenFlow15, flows: ["in_port=left,actions=output:tun0", "in_port=tun0,actions=group:9"]'));
  const r = c.g(['up', '--no-checks', c.file]);
  t.is(r.code, 4, r.stdout + r.stderr);
  t.regex(r.stderr, /OFPGMFC_UNKNOWN_GROUP|unknown group|OFPBAC_BAD_OUT_GROUP/i);
  t.regex(r.stderr, /line 2 of the program, written at .*in_port=tun0,actions=group:9/);
  t.deepEqual(leftovers(c), NOTHING_LEFT);
}, OVS_TOOLS);

privTest('bad input (unknown port in a flow, an ends: entry that is not an end) exits 2 with file:line:column and changes nothing', (t) => {
  const c = adHoc(t, (lab) => TWO_HOSTS(lab, 'ends: { sw9: { vni: 6 } }', ', flows: ["in_port=lefty,actions=output:tun0"]'));
  const before = netnsList();
  const r = c.g(['up', c.file]);
  t.is(r.code, 2, r.stdout + r.stderr);
  t.regex(r.stderr, new RegExp(`${c.file.replace(/[.]/g, '\\.')}:12:\\d+: error: tunnels\\[0\\]\\.ends\\.sw9: "sw9" is not an end of tunnel "tun0"`));
  const fixed = c.file + '.2.yaml';
  writeFileSync(fixed, TWO_HOSTS(c.lab, 'vni: 5', ', flows: ["in_port=lefty,actions=output:tun0"]').replace('vni: 5, vni: 5', 'vni: 5'));
  const r2 = c.g(['up', fixed]);
  t.is(r2.code, 2, r2.stdout + r2.stderr);
  t.regex(r2.stderr, /:6:\d+: error: switches\[0\]\.flows\[0\]: .*port "lefty" does not exist on switch "sw1"/);
  t.deepEqual(netnsList().filter((n) => !before.includes(n) && n.startsWith(`gl-${c.lab}-`)), []);
  t.deepEqual(leftovers(c), NOTHING_LEFT);
}, OVS_TOOLS);

privTest('kernel VXLAN device ↔ OVS userspace port: ping and TCP both ways (the kernel end computes its checksums in software)', (t) => {
  // Before: the kernel left the outer UDP checksum (and the inner TCP one) partial on the veth
  // underlay; vswitchd dropped every packet from the kernel end ("tunnel pop error").
  const c = adHoc(
    t,
    (lab) => `lab: ${lab}
hosts:
  - { name: h1, interfaces: [{ ipv4: 192.0.2.11/24 }] }
  - { name: h2, interfaces: [{ ipv4: 192.0.2.12/24 }] }
switches:
  - { name: sw1, host: h1, kind: ovs }
  - { name: sw2, host: h2, kind: bridge }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24] }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - { name: tun0, between: [sw1, sw2], type: vxlan, vni: 77 }
checks:
  - { name: there, ping: { from: left, to: right } }
  - { name: back, ping: { from: right, to: left } }
  - { name: tcp-there, iperf: { from: left, to: right, duration: 2, min: 5Mbit } }
  - { name: tcp-back, iperf: { from: right, to: left, duration: 2, min: 5Mbit } }
`,
  );
  passes(t, c, { there: 'passed', back: 'passed', 'tcp-there': 'passed', 'tcp-back': 'passed' });
}, { tools: [...OVS_TOOLS.tools, 'iperf3', 'ethtool'] });

privTest('fixed MACs: an OVS bridge (its LOCAL port), a Linux bridge and a kernel tunnel device get the recipe\'s addresses', (t) => {
  const c = adHoc(
    t,
    (lab) => `lab: ${lab}
hosts:
  - { name: h1, interfaces: [{ ipv4: 192.0.2.11/24 }] }
  - { name: h2, interfaces: [{ ipv4: 192.0.2.12/24 }] }
switches:
  - { name: sw1, host: h1, kind: ovs, mac: "02:00:00:00:01:00", addresses: [198.51.100.1/24] }
  - { name: sw2, host: h2, kind: bridge, mac: "02:00:00:00:02:00", addresses: [198.51.100.2/24] }
tunnels:
  - { name: tun0, between: [sw1, sw2], type: vxlan, vni: 9, ends: { sw2: { mac: "02:00:00:00:02:0a" } } }
checks:
  - { name: ping, ping: { from: sw1, to: sw2 } }
`,
  );
  const up = c.g(['up', '--no-checks', c.file]);
  t.is(up.code, 0, up.stdout + up.stderr);
  const mac = (ns: string, dev: string) => (JSON.parse(execFileSync('ip', ['-n', ns, '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' })) as { address: string }[])[0]!.address;
  t.is(mac(`gl-${c.lab}-h1`, 'sw1'), '02:00:00:00:01:00');
  t.is(mac(`gl-${c.lab}-h2`, 'sw2'), '02:00:00:00:02:00');
  t.is(mac(`gl-${c.lab}-h2`, 'tun0'), '02:00:00:00:02:0a');
  const chk = c.g(['check', c.file]);
  t.is(chk.code, 0, chk.stdout + chk.stderr);
  t.is(c.g(['down', c.lab]).code, 0);
  t.deepEqual(leftovers(c), NOTHING_LEFT);
}, { tools: [...OVS_TOOLS.tools, 'ethtool'] });

privTest('a switch that accepts only OpenFlow 1.3/1.4 (protocols, no openflow): program, checks, steps, packet_out, artifacts and the toolbox all reach it (-O)', (t) => {
  const c = adHoc(
    t,
    (lab) =>
      TWO_HOSTS(lab, 'options: [{ class: 0x0102, type: 0x05, data: "00000007" }]', `, protocols: [OpenFlow13, OpenFlow14], tlv_map: [{ class: 0x0103, type: 1, len: 4, field: tun_metadata0 }]`) +
      `checks:
  - { name: ping, ping: { from: left, to: right, count: 3 } }
  - { name: port, counter: { on: sw1, ovs_port: left, field: rx_packets, min: 3, during: ping } }
  - { name: flows, state: { on: sw1, ovs: [ofctl, dump-flows, sw1], contains: "OF1.4" } }
steps:
  - { name: add, ovs: { on: sw1, ofctl: [add-flow, "priority=7,in_port=left,actions=NORMAL"] } }
  - { name: dump, ovs: { on: sw1, ofctl: [dump-flows], stdout: { contains: "priority=7" } } }
  - { name: po, packet_out: { switch: sw1, in_port: LOCAL, packet: "ffffffffffff 020000000099 0806 0001 0800 0604 0001 020000000099 cb007163 000000000000 cb007164", actions: "output:tun0" } }
  - { name: still, ping: { from: left, to: right, count: 1 } }
`,
  );
  const r = c.g(['run', '--json', c.file]);
  const checks = Object.fromEntries((JSON.parse(r.stdout).checks as { name: string; status: string }[]).map((x) => [x.name, x.status]));
  t.is(r.code, 0, r.stdout + r.stderr);
  for (const n of ['ping', 'port', 'flows', 'add', 'dump', 'po', 'still', 'vswitchd-log h1']) t.is(checks[n], 'passed', `${n}: ${r.stdout}`);
  // The toolbox: `geneve-lab ovs LAB sw1 -- ofctl dump-flows sw1` speaks the switch's version too.
  const up = c.g(['up', '--no-checks', c.file]);
  t.is(up.code, 0, up.stdout + up.stderr);
  const box = c.g(['ovs', c.lab, 'sw1', '--', 'ofctl', 'dump-flows', 'sw1']);
  t.is(box.code, 0, box.stdout + box.stderr);
  t.regex(box.stdout, /OFPST_FLOW reply \(OF1\.4\)/);
  t.is(c.g(['down', c.lab]).code, 0);
  t.deepEqual(leftovers(c), NOTHING_LEFT);
}, OVS_TOOLS);

privTest('counter ovs_flow: a flow\'s n_packets over a ping counts every echo request, also those a cached datapath flow handled (revalidators run before each reading)', (t) => {
  const c = adHoc(
    t,
    (lab) =>
      TWO_HOSTS(lab, '', `, flows: ["priority=10,icmp,in_port=left,actions=NORMAL", "priority=0,actions=NORMAL"]`) +
      `checks:
  - { name: ping, ping: { from: left, to: right, count: 5, interval: 0.05 } }
  - { name: echo, counter: { on: sw1, ovs_flow: "priority=10,icmp,in_port=left", field: n_packets, equals: 5, during: ping } }
  - { name: other-priority, counter: { on: sw1, ovs_flow: "priority=11,icmp,in_port=left", field: n_packets, equals: 0, during: ping } }
`,
  );
  const r = c.g(['run', '--json', c.file]);
  const checks = Object.fromEntries((JSON.parse(r.stdout).checks as { name: string; status: string; message?: string; figures: Record<string, unknown> }[]).map((x) => [x.name, x]));
  t.is(checks.echo?.status, 'passed', r.stdout);
  t.like(checks.echo!.figures, { delta: 5 });
  t.is(checks['other-priority']?.status, 'error', 'no flow at that priority: the counter cannot be observed');
  t.regex(checks['other-priority']!.message!, /no flow of bridge "sw1" matches "priority=11,icmp,in_port=left" at priority 11/);
  t.deepEqual(leftovers(c), NOTHING_LEFT);
}, OVS_TOOLS);
