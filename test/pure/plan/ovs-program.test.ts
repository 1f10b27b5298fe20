/**
 * Planning OVS switch programs and per-end tunnel parameters: where each op goes, its exact
 * commands, one ovs-ofctl process for the whole flow table, every tunable per end.
 */
import test from 'ava';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { planLab } from '../../../lib/plan/plan.js';
import type { Op, Step } from '../../../lib/plan/ops.js';
import { renderShell } from '../../../lib/backends/iproute2/render.js';
import { endView } from '../../../lib/model/tunnel-end.js';
import { tunnelPortFromModel } from '../../../lib/ovs/from-model.js';
import { decodeOptionsFor } from '../../../lib/checks/capture.js';
import { bridgeOfctlArgs, ofctlProtocolArgs, ofctlVersionForArgs } from '../../../lib/model/ovs-program.js';

const HOSTS = `hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24 }] }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24 }] }`;

function recipe(sw1: string, tunnel = '', kind2 = 'ovs', hostOvs = ''): string {
  return `lab: t
${HOSTS.replace(/\}\] \}/g, `}]${hostOvs} }`)}
switches:
  - { name: sw1, host: box-1, kind: ovs${sw1 ? ', ' + sw1 : ''} }
  - { name: sw2, host: box-2, kind: ${kind2} }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24] }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - { name: tun0, between: [sw1, sw2], vni: 5${tunnel ? ', ' + tunnel : ''} }
`;
}
const load = (text: string) => loadRecipeText(text, 'r.yaml').lab;
const plan = (text: string, autoDatapath: 'netdev' | 'system' = 'netdev') => planLab(load(text), { runRoot: '/run/gl', autoDatapath });
const cmdsOf = (s: Step) => (s.op as Extract<Op, { op: 'ovs.cmds' }>).cmds;

test('a flow program is installed after every port of the switch exists, in ONE add-flows process fed on stdin', (t) => {
  const flows = Array.from({ length: 1000 }, (_, i) => `"table=0,priority=${i + 1},in_port=left,tcp,tp_dst=${i + 1},actions=output:tun0"`).join(', ');
  const p = plan(recipe(`openflow: OpenFlow15, flows: [${flows}]`));
  const prog = p.steps.find((s) => s.subject === 'switch "sw1" OpenFlow program')!;
  const last = (pred: (s: Step) => boolean) => Math.max(...p.steps.filter(pred).map((s) => s.id));
  t.true(prog.id > last((s) => s.subject.startsWith('guest "left"')), 'after the guest port');
  t.true(prog.id > last((s) => s.subject === 'tunnel "tun0" on host "box-1"'), 'after the tunnel port');
  const cmds = cmdsOf(prog);
  t.is(cmds.length, 2);
  t.deepEqual(cmds[0], { tool: 'ofctl', args: ['-O', 'OpenFlow15', 'del-flows', 'sw1'] });
  const add = cmds[1]!;
  t.true(add.tool === 'ofctl' && add.args.join(' ') === '-O OpenFlow15 add-flows sw1 -');
  if (add.tool !== 'ofctl') return;
  t.is(add.input!.split('\n').length, 1001, '1000 lines and the final newline');
  t.is(add.inputAt!.length, 1000);
  t.regex(add.inputAt![0]!, /r\.yaml:6:72$/, "the switch line, at the first flow");
  t.regex(renderShell(p.steps), /ovs-ofctl --timeout=10 -O OpenFlow15 add-flows sw1 - <<'EOF'\ntable=0,priority=1,in_port=left,tcp,tp_dst=1,actions=output:tun0\n/);
  t.is(p.steps.filter((s) => s.op.op === 'ovs.cmds' && s.op.cmds.some((c) => c.tool === 'ofctl' && c.args.includes('add-flow'))).length, 0, 'never one process per flow');
});

test('bridge settings: fail_mode, protocols, MAC (hwaddr) on the bridge; TLV map right after it; Linux bridge MAC on the link', (t) => {
  const p = plan(recipe('mac: "02:00:00:00:01:00", fail_mode: secure, protocols: [OpenFlow10, OpenFlow13], tlv_map: [{ class: 0xffff, type: 0x80, len: 4, field: tun_metadata2 }]'));
  const br = p.steps.find((s) => s.subject === 'switch "sw1" on host "box-1"' && s.op.op === 'ovs.cmds')!;
  const [vsctl, tlv] = cmdsOf(br);
  t.true(vsctl!.tool === 'vsctl' && vsctl!.args.includes('fail_mode=secure') && vsctl!.args.includes('protocols=OpenFlow10,OpenFlow13') && vsctl!.args.includes('other_config:hwaddr=02:00:00:00:01:00'), JSON.stringify(vsctl));
  t.deepEqual(tlv, { tool: 'ofctl', args: ['add-tlv-map', 'sw1', '{class=0xffff,type=0x80,len=4}->tun_metadata2'] });
  // secure without flows: the default flow is put back, so the default holds in both fail modes.
  const prog = p.steps.find((s) => s.subject === 'switch "sw1" OpenFlow program')!;
  t.deepEqual(cmdsOf(prog), [{ tool: 'ofctl', args: ['add-flow', 'sw1', 'priority=0,actions=NORMAL'] }]);
  // flows: [] asks for an empty table.
  t.deepEqual(cmdsOf(plan(recipe('flows: []')).steps.find((s) => s.subject === 'switch "sw1" OpenFlow program')!), [{ tool: 'ofctl', args: ['del-flows', 'sw1'] }]);
  // No program at all: no step.
  t.false(plan(recipe('')).steps.some((s) => s.subject.endsWith('OpenFlow program')));
  const lb = plan(recipe('', '', 'bridge').replace('{ name: sw2, host: box-2, kind: bridge }', '{ name: sw2, host: box-2, kind: bridge, mac: "02:00:00:00:02:00" }'));
  const link = lb.steps.find((s) => s.op.op === 'link.add' && s.op.link.name === 'sw2')!.op as Extract<Op, { op: 'link.add' }>;
  t.is(link.link.mac, '02:00:00:00:02:00');
});

test('groups and meters before the flows, at the OpenFlow version that has them', (t) => {
  const p = plan(recipe('groups: ["group_id=1,type=all,bucket=output:left,bucket=output:tun0"], meters: ["meter=1,kbps,band=type=drop,rate=1000"], flows: ["in_port=left,actions=meter:1,group:1"]'));
  const cmds = cmdsOf(p.steps.find((s) => s.subject === 'switch "sw1" OpenFlow program')!);
  t.deepEqual(
    cmds.map((c) => (c.tool === 'ofctl' ? c.args.join(' ') : '')),
    ['-O OpenFlow15 add-groups sw1 -', '-O OpenFlow15 add-meter sw1 meter=1,kbps,band=type=drop,rate=1000', 'del-flows sw1', 'add-flows sw1 -'],
  );
});

test('per-end VNI: each OVS port gets its own key; kernel devices their own VNI, port and MAC', (t) => {
  const l = load(recipe('', 'ends: { sw2: { vni: 6 } }'));
  t.is(tunnelPortFromModel(l.tunnels[0]!, 0, 'sw1', 't').key, 5);
  t.is(tunnelPortFromModel(l.tunnels[0]!, 1, 'sw2', 't').key, 6);
  const k = plan(recipe('', 'type: vxlan, ends: { sw2: { vni: 6, dstport: 4790, mac: "02:00:00:00:0b:01", ttl: 7 } }', 'bridge'));
  const dev = k.steps.find((s) => s.op.op === 'link.add' && s.op.link.kind === 'vxlan')!.op as Extract<Op, { op: 'link.add' }>;
  t.like(dev.link, { name: 'tun0', mac: '02:00:00:00:0b:01' });
  if (dev.link.kind === 'vxlan') t.like(dev.link.vxlan, { vni: 6, dstport: 4790, ttl: 7, remote: '192.0.2.11', local: '192.0.2.12' });
});

test('per-end OVS settings: in_key/out_key, df, checksum, local_ip win over the tunnel-wide ones for that end only', (t) => {
  const l = load(recipe('', 'df: set, ovs: { csum: true }, ends: { sw1: { in_key: 7, out_key: 8, df: unset, local_ip: 192.0.2.11 }, sw2: { udpcsum: false } }'));
  const a = tunnelPortFromModel(l.tunnels[0]!, 0, 'sw1', 't');
  const b = tunnelPortFromModel(l.tunnels[0]!, 1, 'sw2', 't');
  t.like(a, { inKey: 7, outKey: 8, dfDefault: false, csum: true, localIp: '192.0.2.11', remoteIp: '192.0.2.12' });
  t.is(a.key, undefined);
  t.like(b, { key: 5, dfDefault: true, csum: false, remoteIp: '192.0.2.11' });
  t.is(b.localIp, undefined);
});

test('a port shared by several tunnels is made once; its flows name it by the port or any of the tunnels', (t) => {
  const text = `lab: t
hosts:
  - { name: h1, interfaces: [{ ipv4: 192.0.2.11/24 }] }
  - { name: h2, interfaces: [{ ipv6: "2001:db8::12/64" }] }
  - { name: hub, interfaces: [{ ipv4: 192.0.2.10/24, ipv6: "2001:db8::10/64" }] }
switches:
  - { name: s1, host: h1, kind: ovs }
  - { name: s2, host: h2, kind: ovs }
  - { name: hs, host: hub, kind: ovs, flows: ["in_port=a,tun_id=1,actions=set_field:2->tun_id,in_port", "in_port=gnv,tun_id=2,actions=set_field:1->tun_id,b"] }
tunnels:
  - { name: a, between: [s1, hs], vni: 1, ends: { hs: { port: gnv, remote: flow, key: flow } } }
  - { name: b, between: [s2, hs], vni: 2, ends: { hs: { port: gnv, remote: flow, key: flow } } }
`;
  const p = plan(text);
  const ports = p.steps.filter((s) => s.op.op === 'ovs.tunnel' && s.host === 'hub').map((s) => (s.op as Extract<Op, { op: 'ovs.tunnel' }>).port);
  t.is(ports.length, 1);
  t.like(ports[0], { name: 'gnv', remoteIp: 'flow', key: 'flow' });
  t.is(ports[0]!.localIp, undefined, 'no local_ip: the port serves IPv4 and IPv6 peers');
  const add = cmdsOf(p.steps.find((s) => s.subject.startsWith('switch "hs"') && s.subject.endsWith('program'))!)[1]!;
  t.is(add.tool === 'ofctl' ? add.input : '', 'in_port=gnv,tun_id=1,actions=set_field:2->tun_id,in_port\nin_port=gnv,tun_id=2,actions=set_field:1->tun_id,gnv\n');
});

test('bug (issue 13): egress_pkt_mark on the userspace datapath gets a route with that mark to the peer; the kernel datapath needs none', (t) => {
  const p = plan(recipe('', 'ovs: { egress_pkt_mark: 7 }'));
  const routes = p.steps.filter((s) => s.subject.endsWith('egress_pkt_mark route'));
  t.deepEqual(routes.map((s) => [s.host, cmdsOf(s)]), [
    ['box-1', [{ tool: 'appctl', args: ['ovs/route/add', '192.0.2.12/32', 'br-underlay', 'pkt_mark=7'] }]],
    ['box-2', [{ tool: 'appctl', args: ['ovs/route/add', '192.0.2.11/32', 'br-underlay', 'pkt_mark=7'] }]],
  ]);
  const underlay = p.steps.findLast((s) => s.subject.includes('underlay bridge') && s.host === 'box-1')!;
  t.true(routes[0]!.id > underlay.id, 'after the underlay bridge has its address');
  t.deepEqual(plan(recipe('', 'ovs: { egress_pkt_mark: 7 }'), 'system').steps.filter((s) => s.subject.endsWith('egress_pkt_mark route')), []);
});

test('Geneve options per end: the convenience flows carry what each end sends and require what the other sends; a switch with flows gets none', (t) => {
  const p = plan(recipe('', 'ends: { sw1: { options: [{ class: 0xffff, type: 1, data: "0000000a" }] }, sw2: { options: [{ class: 0xffff, type: 2 }] } }'));
  const a = cmdsOf(p.steps.find((s) => s.subject === 'tunnel "tun0" on host "box-1" Geneve options')!).map((c) => (c.tool === 'ofctl' ? c.args.join(' ') : ''));
  t.deepEqual(a.slice(0, 3), [
    'add-tlv-map sw1 {class=0xffff,type=0x1,len=4}->tun_metadata0,{class=0xffff,type=0x2,len=0}->tun_metadata1',
    'add-flow sw1 table=0,priority=100,in_port=left,actions=set_field:0x0000000a->tun_metadata0,output:tun0',
    'add-flow sw1 table=0,priority=100,in_port=tun0,tun_metadata1,actions=output:left',
  ]);
  // A program of its own: no convenience flows there, and fields after the program's TLV map elsewhere.
  const q = plan(recipe('flows: ["actions=normal"]', 'options: [{ class: 0xffff, type: 1, data: "0000000a" }]'));
  t.false(q.steps.some((s) => s.subject === 'tunnel "tun0" on host "box-1" Geneve options'));
  const r = plan(recipe('tlv_map: [{ class: 0xfff0, type: 1, len: 4, field: tun_metadata3 }]', 'options: [{ class: 0xffff, type: 1, data: "0000000a" }]'));
  const first = cmdsOf(r.steps.find((s) => s.subject === 'tunnel "tun0" on host "box-1" Geneve options')!)[0]!;
  t.true(first.tool === 'ofctl' && first.args[2] === '{class=0xffff,type=0x1,len=4}->tun_metadata4', JSON.stringify(first));
});

test('bug (issue 14): a raw 0x0102/0x80 option goes back unchanged; the ovn: sugar swaps its ports', (t) => {
  const raw = load(recipe('', 'options: [{ class: 0x0102, type: 0x80, data: "00010002" }]')).tunnels[0]!;
  t.deepEqual([endView(raw, 0).options, endView(raw, 1).options], [[{ class: 0x102, type: 0x80, data: '00010002' }], [{ class: 0x102, type: 0x80, data: '00010002' }]]);
  const sugar = load(recipe('', 'ovn: { ingress: 1, egress: 2 }')).tunnels[0]!;
  t.deepEqual([endView(sugar, 0).options, endView(sugar, 1).options], [[{ class: 0x102, type: 0x80, data: '00010002' }], [{ class: 0x102, type: 0x80, data: '00020001' }]]);
  const p = plan(recipe('', 'options: [{ class: 0x0102, type: 0x80, data: "00010002" }]'));
  const b = cmdsOf(p.steps.find((s) => s.subject === 'tunnel "tun0" on host "box-2" Geneve options')!).map((c) => (c.tool === 'ofctl' ? c.args.join(' ') : '')).join('\n');
  t.regex(b, /set_field:0x00010002->tun_metadata0,output:tun0/);
  t.regex(b, /in_port=tun0,tun_metadata0=0x00010002,actions=output:right/);
});

test('a kernel end whose peer is an OVS userspace port computes its checksums in software (tx offload off on its underlay NIC)', (t) => {
  const p = plan(recipe('', '', 'bridge'));
  const sw = p.steps.filter((s) => s.subject.endsWith('checksums for the OVS userspace peer'));
  t.deepEqual(sw.map((s) => [s.host, s.op]), [['box-2', { op: 'offload.set', ns: 'gl-t-box-2', dev: 'underlay', features: { tx: false } }]]);
  t.deepEqual(plan(recipe('', '', 'bridge'), 'system').steps.filter((s) => s.subject.endsWith('checksums for the OVS userspace peer')), [], 'not for the kernel datapath');
  t.deepEqual(plan(recipe('')).steps.filter((s) => s.subject.endsWith('checksums for the OVS userspace peer')), [], 'not between OVS ends');
});

test('captures decode each end\'s own UDP port too (a port mismatch is still seen as Geneve)', (t) => {
  const lab = load(recipe('', 'dstport: 7000, ends: { sw2: { dstport: 7001 } }'));
  const d = decodeOptionsFor({ lab } as Parameters<typeof decodeOptionsFor>[0], {});
  t.deepEqual([...(d.genevePorts ?? [])].sort(), [6081, 7000, 7001]);
});

test('a switch that does not accept OpenFlow 1.0 gets -O on every ovs-ofctl the lab runs against it: program, option flows, steps, packet_out, checks, toolbox', (t) => {
  // The version rules: the one named, else the newest accepted when 1.0 is not, else none.
  t.deepEqual(ofctlProtocolArgs({ openflow: 'OpenFlow13', protocols: ['OpenFlow10', 'OpenFlow13'], tlvMap: [], groups: [], meters: [] }), ['-O', 'OpenFlow13']);
  t.deepEqual(ofctlProtocolArgs({ protocols: ['OpenFlow14', 'OpenFlow13'], tlvMap: [], groups: [], meters: [] }), ['-O', 'OpenFlow14']);
  t.deepEqual(ofctlProtocolArgs({ protocols: ['OpenFlow10', 'OpenFlow13'], tlvMap: [], groups: [], meters: [] }), []);
  t.deepEqual(ofctlProtocolArgs(undefined), []);

  const text = recipe('protocols: [OpenFlow13], tlv_map: [{ class: 0x0102, type: 5, len: 4, field: tun_metadata0 }], flows: ["priority=10,actions=NORMAL"]', 'options: [{ class: 0x0102, type: 0x80, data: "00000001" }]', 'ovs');
  const lab = load(text.replace('flows: ["priority=10,actions=NORMAL"]', 'openflow: OpenFlow13'));
  const p = planLab(lab, { runRoot: '/run/gl', autoDatapath: 'netdev' });
  const ofctl = p.steps.filter((s) => s.host === 'box-1' && s.op.op === 'ovs.cmds').flatMap((s) => cmdsOf(s)).filter((c) => c.tool === 'ofctl');
  t.true(ofctl.length >= 2, JSON.stringify(ofctl));
  for (const c of ofctl) t.deepEqual(c.args.slice(0, 2), ['-O', 'OpenFlow13'], JSON.stringify(c.args));

  // Steps: an ofctl step gets the switch's version unless it says one; packet_out's comes at run time.
  const withSteps = load(`${text}steps:
  - { name: dump, ovs: { on: sw1, ofctl: [dump-flows] } }
  - { name: own, ovs: { on: sw1, ofctl: [-O, OpenFlow13, dump-ports] } }
  - { name: other, ovs: { on: sw2, ofctl: [dump-flows] } }
`);
  const byName = (n: string) => withSteps.steps!.find((s) => s.name === n) as { args: string[] };
  t.deepEqual(byName('dump').args, ['-O', 'OpenFlow13', 'dump-flows', 'sw1']);
  t.deepEqual(byName('own').args, ['-O', 'OpenFlow13', 'dump-ports', 'sw1'], 'not twice');
  t.deepEqual(byName('other').args, ['dump-flows', 'sw2'], 'a switch that speaks 1.0 gets nothing');
  t.deepEqual(bridgeOfctlArgs(withSteps.switches, 'sw1'), ['-O', 'OpenFlow13']);
  t.deepEqual(ofctlVersionForArgs(withSteps.switches, ['dump-flows', 'sw1', 'in_port=1']), ['-O', 'OpenFlow13']);
  t.deepEqual(ofctlVersionForArgs(withSteps.switches, ['-O', 'OpenFlow15', 'dump-flows', 'sw1']), []);
  t.deepEqual(ofctlVersionForArgs(withSteps.switches, ['dump-flows', 'br-underlay']), []);
});
