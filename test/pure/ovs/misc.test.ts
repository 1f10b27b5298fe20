import test from 'ava';
import { readFileSync } from 'node:fs';
import {
  bridgeCommands, buildStatus, chooseDatapath, formatStatus, guestMtuWarning, interfaceErrors, overlayMtu,
  ovsPaths, parseTnlPortsShow, portCommands, transaction, OvsInstance,
} from '../../../lib/ovs/index.js';
import type { Executor, RunResult } from '../../../lib/exec/executor.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { planLab } from '../../../lib/plan/plan.js';

const fixture = (f: string) => readFileSync(new URL(`./fixtures/${f}`, import.meta.url), 'utf8');

test('datapath: system when the module is loaded or loadable, else netdev; override wins', (t) => {
  t.is(chooseDatapath('auto', { moduleLoaded: true, moduleLoadable: true }).datapath, 'system');
  t.is(chooseDatapath('auto', { moduleLoaded: false, moduleLoadable: true }).datapath, 'system');
  t.is(chooseDatapath('auto', { moduleLoaded: false, moduleLoadable: false }).datapath, 'netdev');
  t.is(chooseDatapath('netdev', { moduleLoaded: true, moduleLoadable: true }).datapath, 'netdev');
  t.regex(chooseDatapath('system', { moduleLoaded: false, moduleLoadable: false }).reason, /NOT available/);
});

test('overlay MTU: 50 (IPv4) / 70 (IPv6) + options; warning names both numbers', (t) => {
  t.is(overlayMtu(1500, { type: 'geneve', family: 'ipv4' }), 1450);
  t.is(overlayMtu(1500, { type: 'geneve', family: 'ipv6' }), 1430);
  t.is(overlayMtu(1500, { type: 'geneve', family: 'ipv4', options: [{ class: 0x102, type: 0x80, data: '00010002' }] }), 1442);
  t.is(guestMtuWarning('guest "left"', 1450, 1500, { type: 'geneve', family: 'ipv4' }), undefined);
  t.regex(guestMtuWarning('guest "left"', 1500, 1500, { type: 'geneve', family: 'ipv4' })!, /guest "left": MTU 1500 does not fit: underlay MTU 1500 .* leaves 1450/);
});

test('bridge and port commands are idempotent and tagged', (t) => {
  t.deepEqual(transaction([...bridgeCommands({ name: 'br-int', datapath: 'netdev', lab: 'l' }), ...portCommands({ bridge: 'br-int', name: 'vg', lab: 'l', ofport: 20 })]), [
    '--may-exist', 'add-br', 'br-int', '--', 'set', 'Bridge', 'br-int', 'datapath_type=netdev', 'external_ids:geneve-lab=l',
    '--', '--may-exist', 'add-port', 'br-int', 'vg', 'external_ids:geneve-lab=l', '--', 'set', 'Interface', 'vg', 'ofport_request=20',
  ]);
});

test('status: JSON from ovs-vsctl (captured from OVS 3.1) becomes a bridge/port/interface tree', (t) => {
  const s = buildStatus(fixture('bridge.json'), fixture('port.json'), fixture('interface.json'), fixture('tnl-ports-show.txt'));
  t.deepEqual(s.bridges.map((b) => [b.name, b.datapathType, b.lab, b.ports.map((p) => p.name)]), [['br-x', 'netdev', 'smk', ['br-x', 'gnv0', 'gnv1']]]);
  const gnv0 = s.bridges[0]!.ports[1]!.interfaces[0]!;
  t.deepEqual([gnv0.type, gnv0.options, gnv0.ofport, gnv0.error], ['geneve', { key: '5000', remote_ip: '192.0.2.2' }, 1, undefined]);
  t.deepEqual(interfaceErrors(s), [{ bridge: 'br-x', port: 'gnv1', iface: 'gnv1', error: 'could not add network device gnv1 to ofproto (File exists)' }]);
  t.deepEqual(s.tunnels, [{ name: 'genev_sys_6081', udpPort: 6081, dpPort: 2, refCount: 1 }]);
  t.regex(formatStatus(s), /Interface gnv1 type: geneve ofport -1\n      options: \{key=5000, remote_ip=192\.0\.2\.2\}\n      error: "could not add/);
  t.deepEqual(parseTnlPortsShow('Listening ports:\nvxlan_sys_4789 (3) ref_cnt=2\ngre_sys (4) ref_cnt=1\n'), [
    { name: 'vxlan_sys_4789', udpPort: 4789, dpPort: 3, refCount: 2 },
    { name: 'gre_sys', dpPort: 4, refCount: 1 },
  ]);
});

test('instance commands: exact argv, own sockets, failures name the subject', async (t) => {
  const calls: { argv: readonly string[]; env?: Record<string, string> }[] = [];
  const fake: Executor = {
    where: 'fake',
    async run(argv, opts) {
      calls.push({ argv, ...(opts?.env ? { env: opts.env } : {}) });
      const fail = argv.includes('bad');
      return { argv: [...argv], exitCode: fail ? 1 : 0, stdout: '', stderr: fail ? 'ovs-vsctl: no bridge named bad\n' : '', durationMs: 1, timedOut: false } satisfies RunResult;
    },
    start() {
      throw new Error('not used');
    },
  };
  const p = ovsPaths('/run/gl/h1');
  const o = new OvsInstance({ dbSocket: p.dbSocket, vswitchdCtl: p.vswitchdCtl, runDir: p.runDir }, { exec: fake, lab: 'l', ns: 'h1', label: 'OVS on box-1' });
  await o.vsctl(['list-br']);
  await o.appctl(['tnl/ports/show']);
  await o.ofctl(['dump-flows', 'br-int']);
  t.deepEqual(calls.map((c) => c.argv), [
    ['ovs-vsctl', '--db=unix:/run/gl/h1/db.sock', '--timeout=10', 'list-br'],
    ['ovs-appctl', '--timeout=10', '-t', '/run/gl/h1/ovs-vswitchd.ctl', 'tnl/ports/show'],
    ['ovs-ofctl', '--timeout=10', 'dump-flows', 'br-int'],
  ]);
  t.is(calls[2]!.env?.OVS_RUNDIR, '/run/gl/h1', 'ofctl finds this instance\'s bridge .mgmt sockets');
  const e = await t.throwsAsync(o.vsctl(['del-br', 'bad'], 'bridge "bad"'));
  t.regex(e!.message, /^bridge "bad" \(OVS on box-1\) \(netns h1\): no bridge named bad/);
  t.regex(e!.message, /request: ovs-vsctl --db=unix:\/run\/gl\/h1\/db\.sock --timeout=10 del-br bad/);
});

test('planned OVS host (planLab): bridges tagged per datapath, underlay bridge only on netdev, guest tx off, switch addresses, TLV map and option flows', (t) => {
  const recipe = (datapath: string) => `lab: l
hosts:
  - { name: h1, interfaces: [{ ipv4: 192.0.2.1/24 }], ovs: { datapath: ${datapath} } }
  - { name: h2, interfaces: [{ ipv4: 192.0.2.2/24 }], ovs: { datapath: ${datapath} } }
switches:
  - { name: sw1, host: h1, kind: ovs, addresses: [198.51.100.1/24] }
  - { name: sw2, host: h2, kind: ovs }
guests:
  - { name: g2, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - { name: tun0, between: [sw1, sw2], type: geneve, vni: 1, ovn: { ingress: 1, egress: 2 } }
`;
  const steps = (datapath: string) => planLab(loadRecipeText(recipe(datapath), 'l.yaml').lab, { runRoot: '/r' }).steps.filter((s) => s.host === 'h2');
  const vsctl = (ss: ReturnType<typeof steps>) => ss.flatMap((s) => (s.op.op === 'ovs.cmds' ? s.op.cmds.filter((c) => c.tool === 'vsctl').map((c) => c.args) : []));
  const ofctl = (ss: ReturnType<typeof steps>) => ss.flatMap((s) => (s.op.op === 'ovs.cmds' ? s.op.cmds.filter((c) => c.tool === 'ofctl').map((c) => c.args[0]) : []));

  const netdev = steps('netdev');
  t.deepEqual(netdev.map((s) => s.op.op).filter((o) => o.startsWith('ovs.')), ['ovs.start', 'ovs.cmds', 'ovs.cmds', 'ovs.cmds', 'ovs.tunnel', 'ovs.cmds']);
  const [underlay, sw, guestPort] = vsctl(netdev);
  t.deepEqual(underlay, ['--may-exist', 'add-br', 'br-underlay', '--', 'set', 'Bridge', 'br-underlay', 'datapath_type=netdev', 'external_ids:geneve-lab=l', '--', '--may-exist', 'add-port', 'br-underlay', 'underlay', 'external_ids:geneve-lab=l']);
  t.deepEqual(sw, ['--may-exist', 'add-br', 'sw2', '--', 'set', 'Bridge', 'sw2', 'datapath_type=netdev', 'external_ids:geneve-lab=l']);
  t.deepEqual(guestPort, ['--may-exist', 'add-port', 'sw2', 'g2', 'external_ids:geneve-lab=l']);
  t.true(netdev.some((s) => s.op.op === 'addr.add' && s.op.dev === 'br-underlay' && s.op.address === '192.0.2.2/24'), 'the underlay address moves to the underlay bridge');
  t.false(netdev.some((s) => s.op.op === 'addr.add' && s.op.dev === 'underlay'));
  t.true(netdev.some((s) => s.op.op === 'offload.set' && s.op.dev === 'eth0' && s.op.features.tx === false), 'guest tx checksum offload off on the userspace datapath');
  t.deepEqual(ofctl(netdev), ['add-tlv-map', 'add-flow', 'add-flow', 'add-flow', 'add-flow']);
  const flows = netdev.flatMap((s) => (s.op.op === 'ovs.cmds' ? s.op.cmds.flatMap((c) => (c.tool === 'ofctl' && c.args[0] === 'add-flow' ? [c.args[2]] : [])) : []));
  t.true(flows.includes('table=0,priority=98,in_port=LOCAL,actions=drop'), 'the addressless bridge port cannot leak option-less packets into the tunnel');
  const tun = netdev.find((s) => s.op.op === 'ovs.tunnel')!.op;
  t.like(tun.op === 'ovs.tunnel' ? tun.port : {}, { bridge: 'sw2', name: 'tun0', type: 'geneve', remoteIp: '192.0.2.1', key: 1 });

  const system = steps('system');
  t.false(vsctl(system).some((a) => a.includes('br-underlay')), 'kernel datapath routes tunnels itself: no underlay bridge');
  t.true(vsctl(system).some((a) => a.includes('datapath_type=system')));
  t.true(system.some((s) => s.op.op === 'addr.add' && s.op.dev === 'underlay' && s.op.address === '192.0.2.2/24'));
  t.false(system.some((s) => s.op.op === 'offload.set'), 'tx offload stays on for the kernel datapath');

  // h1's switch has an address: it is the switch's local port for the option flows.
  const h1 = planLab(loadRecipeText(recipe('netdev'), 'l.yaml').lab, { runRoot: '/r' }).steps.filter((s) => s.host === 'h1');
  t.true(h1.some((s) => s.op.op === 'addr.add' && s.op.dev === 'sw1' && s.op.address === '198.51.100.1/24'));
});
