/**
 * Scenario actions against the real thing on this machine: namespaces, OVS daemons (userspace
 * datapath here), packet sockets, kernel VXLAN netdevs. One OVS lab is brought up once and
 * scenarios are run against it with `check VARIANT.yaml` (same lab, other steps); every test ends
 * with `down` and proves nothing is left. Oracles read the system directly (ip, tcpdump, /proc).
 */
import { readFileSync } from 'node:fs';
import { privTest } from '../../support/priv.js';
import { rootLinks } from '../ovs-recipes/support.js';
import { OVS, hexCapture, link, scenarioLab, sh, show, twoOvsHosts } from './support.js';

const rootBefore = rootLinks();

privTest('exec: in a guest, a host and a switch\'s host; exit codes and output asserted; a failure stops the scenario and later steps are skipped', (t) => {
  const s = scenarioLab(t, 'se');
  const file = s.write('exec.yaml', twoOvsHosts(`  - { name: in-guest, exec: { on: left, argv: [ip, -br, addr, show, eth0], stdout: { contains: "203.0.113.1/24" } } }
  - { name: in-host, exec: { on: box-2, argv: [ip, -br, addr], stdout: { matches: "192[.]0[.]2[.]12/24" } } }
  - { name: in-switch-host, exec: { on: sw1, argv: [cat, /proc/self/net/dev], stdout: { contains: "left" } } }
  - { name: expected-failure, exec: { on: right, argv: [ip, link, show, nosuchdev], expect_exit: 1, stderr: { contains: "does not exist" } } }
  - { name: wrong-output, exec: { on: right, argv: [echo, hello], stdout: { contains: bye } } }
  - { name: never, exec: { on: right, argv: [touch, /tmp/should-not-exist-LAB] } }
`));
  const r = s.json('run', file);
  t.is(r.code, 1, r.out);
  const b = r.byName;
  for (const n of ['base', 'in-guest', 'in-host', 'in-switch-host', 'expected-failure']) t.is(b[n]?.status, 'passed', `${n}\n${show(r.results)}`);
  t.is(b['wrong-output']?.status, 'failed', show(r.results));
  t.regex(b['wrong-output']!.message!, /^echo hello in netns gl-\w+-right:\n {2}stdout: expected contains "bye", observed "hello\\n"/);
  t.is(b.never?.status, 'skipped');
  t.is(b.never?.message, 'not run: step "wrong-output" failed');
  t.throws(() => sh(['test', '-e', `/tmp/should-not-exist-${s.lab}`]), undefined, 'a skipped step does not run');
  t.deepEqual(s.leftovers(), { namespaces: [], processes: [] });
  t.deepEqual(rootLinks(), rootBefore);
}, OVS);

privTest('ovs, restart, set, inject, packet_out on a running OVS lab (userspace datapath); down removes everything after the changes', async (t) => {
  const s = scenarioLab(t, 'so');
  // The scenarios below set a wrong key on purpose: vswitchd then warns about packets of an unknown
  // tunnel, which the log gate must allow (as an OVS system test would), and nothing else.
  const lab = (steps: string) =>
    twoOvsHosts(steps).replace(/(\{ name: box-\d, interfaces: \[\{ ipv4: [^\]]+\])( \})/g, '$1, ovs: { log: { allow: ["receive tunnel port not found"] } }$2');
  const base = s.write('lab.yaml', lab('  - { name: nothing, sleep: 1ms }'));
  const up = s.g(['up', '--no-checks', base]);
  t.is(up.code, 0, up.stdout + up.stderr);
  const check = (name: string, steps: string) => {
    const r = s.json('check', s.write(name, lab(steps)));
    t.log(`${name}:\n${show(r.results)}`);
    return r;
  };

  // ---- ovs: a wrong key on one end cuts the tunnel, the right one restores it; a bad flow is refused as expected.
  let r = check('ovs.yaml', `  - { name: key-6, ovs: { on: sw2, vsctl: [set, Interface, tun0, "options:key=6"] } }
  - { name: cut, ping: { from: left, to: right, count: 2, expect: unreachable } }
  - { name: key-5, ovs: { on: sw2, vsctl: [set, Interface, tun0, "options:key=5"] } }
  - { name: back, wait: { until: { ping: { from: left, to: right, count: 1 } }, timeout: 10s, every: 200ms } }
  - { name: bad-flow, ovs: { on: sw1, ofctl: [add-flow, "in_port=left,actions=no_such_action"], expect_exit: 1 } }
  - { name: flows, ovs: { on: sw1, ofctl: [add-flow, "priority=7,in_port=left,actions=output:tun0,NORMAL"] } }
  - { name: flows-named, ovs: { on: sw1, ofctl: [dump-flows, "--names"], stdout: { matches: "priority=7,in_port=left actions=output:tun0,NORMAL" } } }
  - { name: dp, ovs: { on: box-1, appctl: [dpif/show], stdout: { contains: sw1 } } }
`);
  t.is(r.code, 0, r.out);
  t.true(r.results.every((x) => x.status === 'passed'), show(r.results));
  t.is(r.byName.back?.figures.attempts !== undefined, true);

  // ---- restart: vswitchd gets a new pid; the userspace datapath's taps survive with their addresses; traffic resumes.
  const before = { sw1: link(s.ns('box-1'), 'sw1').ifindex, br: link(s.ns('box-1'), 'br-underlay').ifindex };
  r = check('restart.yaml', `  - { name: restart-1, restart: { ovs: box-1 } }
  - { name: after-restart, wait: { until: { ping: { from: left, to: right, count: 1 } }, timeout: 20s, every: 500ms } }
`);
  t.is(r.code, 0, r.out);
  t.not(r.byName['restart-1']!.figures.new_pid, r.byName['restart-1']!.figures.old_pid);
  const pid = Number(sh(['cat', `${s.stateDir}/run/${s.lab}/ovs-box-1/ovs-vswitchd.pid`]).trim());
  t.is(pid, Number(r.byName["restart-1"]!.figures.new_pid));
  t.deepEqual({ sw1: link(s.ns('box-1'), 'sw1').ifindex, br: link(s.ns('box-1'), 'br-underlay').ifindex }, before, 'the taps survived the restart');
  t.regex(sh(['ip', '-n', s.ns('box-1'), '-br', 'addr', 'show', 'br-underlay']), /192\.0\.2\.11\/24/);

  // ---- set: a guest's MTU and offloads, a host NIC's MTU, an OVS tunnel end's VNI (and back).
  r = check('set.yaml', `  - { name: guest-mtu, set: { guest: left, mtu: 1300, offloads: { tx: on } } }
  - { name: host-mtu, set: { host: box-2, interface: underlay, mtu: 1400 } }
  - { name: vni-6, set: { tunnel: tun0, end: sw2, vni: 6 } }
  - { name: cut, ping: { from: left, to: right, count: 2, expect: unreachable } }
  - { name: vni-5, set: { tunnel: tun0, end: sw2, vni: 5 } }
  - { name: back, wait: { until: { ping: { from: left, to: right, count: 1 } }, timeout: 10s, every: 200ms } }
`);
  t.is(r.code, 0, r.out);
  t.true(r.results.every((x) => x.status === 'passed'), show(r.results));
  t.is(link(s.ns('left'), 'eth0').mtu, 1300);
  t.is(link(s.ns('box-2'), 'underlay').mtu, 1400);
  t.regex(sh(['ip', 'netns', 'exec', s.ns('left'), 'ethtool', '-k', 'eth0']), /^tx-checksumming: on/m);
  const key = sh(['ovs-vsctl', `--db=unix:${s.stateDir}/run/${s.lab}/ovs-box-2/db.sock`, 'get', 'Interface', 'tun0', 'options:key']).trim();
  t.is(key, '"5"');
  // The changes are recorded like up's steps (journaled done), and the lab is marked changed.
  const state = JSON.parse(readFileSync(`${s.stateDir}/labs/${s.lab}.json`, 'utf8'));
  t.regex(state.mutated, /^step "/);
  t.true(state.steps.some((x: any) => x.op.op === 'link.set' && x.op.mtu === 1300 && x.subject.startsWith('step "guest-mtu"')));

  // ---- inject: the exact bytes leave box-1's underlay and arrive on box-2's.
  const frame = 'ffffffffffff020000000011080045000020000140004011b6b4c000020bc000020cc00017c1000c0000676c6162';
  const cap = await hexCapture(s.ns('box-2'), 'underlay', ['udp', 'port', '6081', 'and', 'ether', 'src', '02:00:00:00:00:11']);
  r = check('inject.yaml', `  - { name: three, inject: { on: box-1, frame: "${frame.replace(/(.{4})/g, '$1 ')}", count: 3, interval: 20ms } }
  - { name: too-big, inject: { on: left, frame: "ffffffffffff 020000000001 0800 ${'00'.repeat(1600)}" } }
`);
  const got = await cap.stop();
  t.is(r.code, 1, r.out);
  t.is(r.byName.three?.status, 'passed');
  t.is(r.byName.three?.figures.sent, 3);
  t.is(got.length, 3, got.join('\n'));
  for (const g of got) t.is(g, frame, 'byte for byte what the recipe wrote');
  t.is(r.byName['too-big']?.status, 'error');
  t.regex(r.byName['too-big']!.message!, /sending 1614 bytes on interface "eth0" in netns gl-\w+-left failed: EMSGSIZE .*larger than the interface's MTU/);

  // ---- packet_out: a frame handed to sw1 as from LOCAL, out to the guest port named by the recipe.
  const arp = 'ffffffffffff020000000099080600010800060400010200000000990a000001000000000000cb007101';
  const capLeft = await hexCapture(s.ns('left'), 'eth0', ['arp', 'and', 'ether', 'src', '02:00:00:00:00:99']);
  r = check('packet-out.yaml', `  - { name: po, packet_out: { switch: sw1, in_port: LOCAL, packet: "${arp}", actions: "output:left" } }
  - { name: po-bad, packet_out: { switch: sw1, in_port: LOCAL, packet: "${arp}", actions: "output:99" } }
`);
  const atLeft = await capLeft.stop();
  t.is(r.byName.po?.status, 'passed', show(r.results));
  t.deepEqual(atLeft, [arp]);
  // Port 99 does not exist: OVS refuses? It accepts output to a missing port (dropped): the step passes either way; what matters is the first frame's arrival.
  t.not(r.byName['po-bad']?.status, undefined);

  // ---- a mutated lab is rebuilt by the next up, and down leaves nothing.
  const again = s.g(['up', '--no-checks', base]);
  t.is(again.code, 0, again.stdout + again.stderr);
  t.regex(again.stderr, /exists but scenario steps changed it \(step "/);
  t.is(s.g(['down', s.lab]).code, 0);
  t.deepEqual(s.leftovers(), { namespaces: [], processes: [] });
  t.deepEqual(rootLinks(), rootBefore);
}, OVS);

privTest('set on kernel VXLAN ends (both backends): ttl changes in place (same ifindex), a new VNI recreates the device; down removes everything', (t) => {
  for (const backend of ['netlink', 'iproute2'] as const) {
    const s = scenarioLab(t, backend === 'netlink' ? 'kn' : 'ki');
    const file = s.write('vx.yaml', `lab: LAB
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24 }] }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24 }] }
switches:
  - { name: br1, host: box-1 }
  - { name: br2, host: box-2 }
guests:
  - { name: left, switch: br1, addresses: [203.0.113.1/24] }
  - { name: right, switch: br2, addresses: [203.0.113.2/24] }
tunnels:
  - { name: vx0, between: [br1, br2], type: vxlan, vni: 50, ttl: 20 }
checks:
  - { name: base, ping: { from: left, to: right, count: 1 } }
steps:
  - { name: ttl-9, set: { tunnel: vx0, end: br2, ttl: 9, tos: 0x20 } }
  - { name: vni-51, set: { tunnel: vx0, end: br2, vni: 51 } }
  - { name: cut, ping: { from: left, to: right, count: 2, expect: unreachable } }
`);
    const up = s.g(['--backend', backend, 'up', '--no-checks', file]);
    t.is(up.code, 0, up.stdout + up.stderr);
    const ns2 = s.ns('box-2');
    const before = link(ns2, 'vx0');
    t.is(before.linkinfo.info_data.ttl, 20);
    // Only ttl/tos: in place.
    const r1 = s.json('check', s.write('ttl.yaml', readFileSync(file, 'utf8').replace(/  - \{ name: vni-51[\s\S]*$/, '')), [], ['--backend', backend]);
    t.is(r1.code, 0, r1.out);
    const mid = link(ns2, 'vx0');
    t.is(mid.ifindex, before.ifindex, 'changed in place');
    t.is(mid.linkinfo.info_data.ttl, 9);
    t.is(mid.linkinfo.info_data.tos, '0x20');
    // A new VNI: the kernel refuses it in place; the device is recreated with the new VNI and the earlier ttl, enslaved and up.
    const r2 = s.json('check', file, [], ['--backend', backend]);
    t.is(r2.code, 0, r2.out);
    t.deepEqual(r2.results.map((x) => x.status), ['passed', 'passed', 'passed', 'passed'], show(r2.results));
    const after = link(ns2, 'vx0');
    t.not(after.ifindex, before.ifindex);
    t.is(after.linkinfo.info_data.id, 51);
    t.is(after.linkinfo.info_data.ttl, 9, 'what the earlier step set is kept');
    t.is(after.master, 'br2');
    t.true(after.flags.includes('UP'));
    t.is(s.g(['down', s.lab]).code, 0);
    t.deepEqual(s.leftovers(), { namespaces: [], processes: [] });
  }
  t.deepEqual(rootLinks(), rootBefore);
});

privTest('bad input: exit 2 with file:line:column, and nothing is created', (t) => {
  const s = scenarioLab(t, 'sb');
  const hex = s.write('hex.yaml', twoOvsHosts(`  - inject: { on: left, frame: "ff ff ff ff ff ff 02 00 00 00 00 01 08 0q" }
`));
  const refs = s.write('refs.yaml', twoOvsHosts(`  - exec: { on: nobody, argv: ["true"] }
  - restart: { ovs: left }
`));
  for (const cmd of ['validate', 'run', 'up']) {
    const h = s.g([cmd, hex]);
    t.is(h.code, 2, `${cmd}: ${h.stdout}${h.stderr}`);
    t.true(h.stderr.includes(`${hex}:17:32: error: steps[0].inject.frame: frame has "q" at character 41`), h.stderr);
    const r = s.g([cmd, refs]);
    t.is(r.code, 2, `${cmd}: ${r.stdout}${r.stderr}`);
    t.true(r.stderr.includes(`${refs}:17:17: error: steps[0].exec.on: unknown node "nobody"`), r.stderr);
    t.true(r.stderr.includes(`${refs}:18:21: error: steps[1].restart.ovs: restart takes a host; "left" is a guest`), r.stderr);
  }
  // The port is only known once the model exists: reported by itself once the rest is right.
  const ports = s.write('ports.yaml', twoOvsHosts(`  - ovs: { on: sw1, ofctl: [add-flow, "in_port=rigth,actions=drop"] }
`));
  const p = s.g(['run', ports]);
  t.is(p.code, 2);
  t.regex(p.stderr, /:17:\d+: error: steps\[0\]\.ovs\.ofctl: unknown port "rigth" \(did you mean "right"\?\) on switch "sw1"|unknown port "rigth" on switch "sw1"/);
  t.deepEqual(s.leftovers(), { namespaces: [], processes: [] });
});

privTest('inject in a checks group: a capture on the receiving host sees the injected Geneve frame (its VNI and option), a counter of the receiving NIC counts it', (t) => {
  const s = scenarioLab(t, 'sg');
  // A Geneve packet box-1 → box-2 (VNI 5000, option 0x0102/0x05 = 0000cafe) around an ARP; on
  // the userspace datapath OVS only decapsulates frames sent to br-underlay's MAC, so this one
  // (broadcast) is seen on the wire and counted by the NIC, not delivered to a guest.
  const frame = `ffffffffffff 020000000011 0800 4500 0056 0001 4000 4011 b67e c000020b c000020c c000 17c1 0042 0000 0200 6558 00138800 0102 0501 0000cafe 020000000002 020000000001 0806 0001 0800 0604 0001 020000000001 cb007101 000000000000 cb007102`;
  const file = s.write('group-inject.yaml', twoOvsHosts(`  - checks:
      - { name: shot, inject: { on: box-1, frame: "${frame}", count: 2, interval: 20ms } }
      - { name: seen, capture: { host: box-2, interface: underlay, during: shot, match: { udp.srcport: 49152 }, packets: all, at_least: 2, expect: { geneve.vni: 5000, geneve.options: [{ class: 0x0102, type: 0x05, data: "0000cafe" }], inner.arp.tpa: 203.0.113.2 } } }
      - { name: counted, counter: { on: box-2, link: underlay, field: rx_packets, min: 2, during: shot } }
`));
  const r = s.json('run', file);
  t.is(r.code, 0, `${r.out}\n${show(r.results)}`);
  t.deepEqual(r.results.slice(1, 4).map((x) => [x.name, x.status]), [['shot', 'passed'], ['seen', 'passed'], ['counted', 'passed']], show(r.results));
  t.is(r.byName.seen!.figures.selected, 2);
  t.is(r.byName.shot!.figures.sent, 2);
  t.deepEqual(s.leftovers(), { namespaces: [], processes: [] });
  t.deepEqual(rootLinks(), rootBefore);
}, OVS);

privTest('capture with at_least 0 and forbid asserts an absence on the wire: nothing crosses past a drop flow; without the flow it fails naming the packet', (t) => {
  const s = scenarioLab(t, 'sa');
  const steps = (cut: boolean) => `${cut ? '  - { name: cut, ovs: { on: sw1, ofctl: [add-flow, "priority=100,in_port=left,actions=drop"] } }\n' : ''}  - checks:
      - { name: blocked, ping: { from: left, to: right, count: 3, expect: unreachable } }
      - { name: nothing-crossed, capture: { host: box-2, interface: underlay, during: blocked, at_least: 0, forbid: { geneve.vni: 5, inner.icmp.type: 8 } } }
`;
  const r = s.json('run', s.write('cut.yaml', twoOvsHosts(steps(true))));
  t.is(r.code, 0, `${r.out}\n${show(r.results)}`);
  t.is(r.byName['nothing-crossed']?.status, 'passed', show(r.results));
  t.like(r.byName['nothing-crossed']!.figures, { forbidden: 0, at_least: 0 });
  const open = s.json('run', s.write('open.yaml', twoOvsHosts(steps(false))));
  t.is(open.code, 1, open.out);
  t.is(open.byName['nothing-crossed']?.status, 'failed', show(open.results));
  t.regex(open.byName['nothing-crossed']!.message!, /^[1-9]\d* packets? matched forbidden geneve\.vni 5, inner\.icmp\.type 8: frame \d+: geneve vni 5 192\.0\.2\.11 → 192\.0\.2\.12/);
  t.deepEqual(s.leftovers(), { namespaces: [], processes: [] });
  t.deepEqual(rootLinks(), rootBefore);
}, OVS);

privTest('a host interface\'s fixed mac: on the NIC (kernel stack) or br-underlay (userspace datapath); a hand-made Geneve frame sent to it is decapsulated by OVS and judged by the flow program', (t) => {
  const s = scenarioLab(t, 'sm');
  const geneve = (option: string) =>
    `020000000012 020000000011 0800 4500 0056 0001 4000 4011 b67e c000020b c000020c c000 17c1 0042 0000 0200 6558 00000500 0102 0501 ${option} 020000000002 020000000001 0806 0001 0800 0604 0001 020000000001 cb007101 000000000000 cb007102`;
  const file = s.write('mac.yaml', twoOvsHosts(`  - checks:
      - { name: send-cafe, inject: { on: box-1, frame: "${geneve('0000cafe')}" } }
      - { name: cafe-delivered, counter: { on: sw2, ovs_port: right, field: tx_packets, equals: 1, during: send-cafe } }
  - checks:
      - { name: send-beef, inject: { on: box-1, frame: "${geneve('0000beef')}" } }
      - { name: beef-dropped, counter: { on: sw2, ovs_port: right, field: tx_packets, equals: 0, during: send-beef } }
`).replace('{ name: box-2, interfaces: [{ ipv4: 192.0.2.12/24 }] }', '{ name: box-2, interfaces: [{ ipv4: 192.0.2.12/24, mac: "02:00:00:00:00:12" }] }')
    .replace('  - { name: sw2, host: box-2, kind: ovs }', `  - name: sw2
    host: box-2
    kind: ovs
    tlv_map: [{ class: 0x0102, type: 0x05, len: 4, field: tun_metadata0 }]
    flows: ["priority=100,in_port=tun0,tun_metadata0=0xcafe,actions=output:right", "priority=50,in_port=tun0,actions=drop", "priority=0,actions=NORMAL"]`)
    .replace('{ name: base, ping: { from: left, to: right, count: 1 } }', '{ name: base, state: { on: box-2, ip: [link, show, dev, br-underlay], expect: { address: "02:00:00:00:00:12" } } }'));
  const r = s.json('run', file);
  t.is(r.code, 0, `${r.out}\n${show(r.results)}`);
  for (const n of ['base', 'send-cafe', 'cafe-delivered', 'send-beef', 'beef-dropped']) t.is(r.byName[n]?.status, 'passed', `${n}\n${show(r.results)}`);

  // Without OVS the NIC itself holds the address, and the MAC.
  const plain = s.write('plain.yaml', `lab: LAB
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24 }] }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24, mac: "02:00:00:00:00:12" }] }
checks:
  - { name: nic, state: { on: box-2, ip: [link, show, dev, underlay], expect: { address: "02:00:00:00:00:12" } } }
  - { name: reach, ping: { from: box-1, to: box-2, count: 1 } }
`);
  const p = s.json('run', plain);
  t.is(p.code, 0, `${p.out}\n${show(p.results)}`);
  t.deepEqual(s.leftovers(), { namespaces: [], processes: [] });
  t.deepEqual(rootLinks(), rootBefore);
}, OVS);

privTest('capture of frames that are no tunnel packets (encap: none) on a guest\'s port: the echo requests as the guest got them, and the ARP inside a hand-made Geneve frame after OVS decapsulated it', (t) => {
  const s = scenarioLab(t, 'sp');
  const frame = `020000000012 020000000011 0800 4500 0056 0001 4000 4011 b67e c000020b c000020c c000 17c1 0042 0000 0200 6558 00000500 0102 0501 0000cafe 020000000002 020000000077 0806 0001 0800 0604 0001 020000000077 cb007177 000000000000 cb007102`;
  const file = s.write('plain.yaml', twoOvsHosts(`  - checks:
      - { name: probe, ping: { from: left, to: right, count: 3 } }
      - { name: at-right, capture: { host: box-2, interface: right, during: probe, at_least: 3, match: { encap: none, inner.icmp.type: 8 }, expect: { inner.src: 203.0.113.1, inner.dst: 203.0.113.2, inner.ttl: 64 } } }
  - checks:
      - { name: shot, inject: { on: box-1, frame: "${frame}" } }
      - { name: decapsulated, capture: { host: box-2, interface: right, during: shot, match: { encap: none, inner.ethertype: arp }, expect: { inner.smac: "02:00:00:00:00:77", inner.arp.spa: 203.0.113.119, inner.arp.tpa: 203.0.113.2 } } }
  - checks:
      - { name: quiet, ping: { from: left, to: 203.0.113.9, count: 2, expect: unreachable } }
      - { name: nothing-for-right, capture: { host: box-2, interface: right, during: quiet, at_least: 0, match: { encap: none }, forbid: { inner.icmp.type: 8 } } }
`).replace('{ name: box-2, interfaces: [{ ipv4: 192.0.2.12/24 }] }', '{ name: box-2, interfaces: [{ ipv4: 192.0.2.12/24, mac: "02:00:00:00:00:12" }] }'));
  const r = s.json('run', file);
  t.is(r.code, 0, `${r.out}\n${show(r.results)}`);
  for (const n of ['probe', 'at-right', 'shot', 'decapsulated', 'quiet', 'nothing-for-right']) t.is(r.byName[n]?.status, 'passed', `${n}\n${show(r.results)}`);
  t.true(Number(r.byName['at-right']!.figures.selected) >= 3);
  t.is(r.byName['at-right']!.figures.encapsulated, 0, 'a guest port carries no tunnel packets');
  t.deepEqual(s.leftovers(), { namespaces: [], processes: [] });
  t.deepEqual(rootLinks(), rootBefore);
}, OVS);
