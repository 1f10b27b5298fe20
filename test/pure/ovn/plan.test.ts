/**
 * The OVN part of a plan: order (central, NB, chassis, readiness), exact commands, undo, and what
 * `plan --format sh` prints. Pure.
 */
import test from 'ava';
import { join } from 'node:path';
import { loadRecipeFile } from '../../../lib/recipe/load.js';
import { planLab } from '../../../lib/plan/plan.js';
import { renderShell } from '../../../lib/backends/iproute2/render.js';
import { tryLoad } from '../recipe/helpers.js';
import { ovnRecipe } from './helpers.js';

const recipes = join(import.meta.dirname, '../../../recipes');
const RUN = '/r';

test('seed 004: central, NB, chassis (OVS external_ids, then ovn-controller), readiness — with exact arguments and undo', async (t) => {
  const { lab } = await loadRecipeFile(join(recipes, 'ovn-seed004.yaml'));
  const plan = planLab(lab, { runRoot: RUN, autoDatapath: 'netdev' });
  const ovnSteps = plan.steps.filter((s) => s.op.op.startsWith('ovn.') || s.subject.startsWith('OVN'));
  t.deepEqual(
    ovnSteps.map((s) => [s.subject, s.op.op, s.undo?.op ?? null]),
    [
      ['OVN central on host "central" interface "underlay"', 'offload.set', null],
      ['OVN central on host "central"', 'ovn.central.start', 'ovn.central.stop'],
      ['OVN logical switch "network1"', 'ovn.nbctl', null],
      ['OVN chassis "worker1"', 'ovs.cmds', null],
      ['OVN chassis "worker1"', 'ovn.controller.start', 'ovn.controller.stop'],
      ['OVN chassis "worker2"', 'ovs.cmds', null],
      ['OVN chassis "worker2"', 'ovn.controller.start', 'ovn.controller.stop'],
      ['OVN control plane', 'ovn.ready', null],
    ],
  );
  // OVN comes after everything else: hosts, OVS, switches and guests exist when it starts.
  t.is(plan.steps.findIndex((s) => s.subject.startsWith('OVN')), plan.steps.length - ovnSteps.length);
  const byOp = (op: string) => ovnSteps.filter((s) => s.op.op === op).map((s) => s.op);
  t.deepEqual(byOp('ovn.central.start'), [{ op: 'ovn.central.start', ns: 'gl-ovn-seed004-central', runDir: '/r/ovn-seed004/ovn-central', lab: 'ovn-seed004', listen: '192.0.2.10' }]);
  t.deepEqual(byOp('offload.set'), [{ op: 'offload.set', ns: 'gl-ovn-seed004-central', dev: 'underlay', features: { tx: false } }]);
  t.deepEqual((byOp('ovn.nbctl')[0] as { cmds: string[][] }).cmds, [
    ['ls-add', 'network1'],
    ['lsp-add', 'network1', 'vm1'],
    ['lsp-set-addresses', 'vm1', '40:44:00:00:00:01 198.51.100.11'],
    ['lsp-add', 'network1', 'vm2'],
    ['lsp-set-addresses', 'vm2', '40:44:00:00:00:02 198.51.100.12'],
  ]);
  t.deepEqual(byOp('ovs.cmds')[0], {
    op: 'ovs.cmds',
    ns: 'gl-ovn-seed004-worker1',
    runDir: '/r/ovn-seed004/ovs-worker1',
    lab: 'ovn-seed004',
    cmds: [
      {
        tool: 'vsctl',
        args: [
          'set', 'Open_vSwitch', '.',
          'external_ids:system-id=worker1', 'external_ids:hostname=worker1', 'external_ids:ovn-remote=tcp:192.0.2.10:6642',
          'external_ids:ovn-encap-type=geneve', 'external_ids:ovn-encap-ip=192.0.2.100', 'external_ids:ovn-bridge=br-int1',
          'external_ids:ovn-bridge-datapath-type=netdev',
          '--', 'set', 'Interface', 'vm1', 'external_ids:iface-id=vm1',
        ],
      },
    ],
  });
  t.deepEqual(byOp('ovn.controller.start')[1], { op: 'ovn.controller.start', ns: 'gl-ovn-seed004-worker2', runDir: '/r/ovn-seed004/ovn-worker2', lab: 'ovn-seed004', ovsRunDir: '/r/ovn-seed004/ovs-worker2', chassis: 'worker2' });
  t.deepEqual(byOp('ovn.ready'), [
    { op: 'ovn.ready', ns: 'gl-ovn-seed004-central', runDir: '/r/ovn-seed004/ovn-central', lab: 'ovn-seed004', chassis: ['worker1', 'worker2'], ports: ['vm1', 'vm2'], timeoutMs: 120_000,
      mesh: [{ chassis: 'worker1', ovsRunDir: '/r/ovn-seed004/ovs-worker1', remotes: ['192.0.2.101'] }, { chassis: 'worker2', ovsRunDir: '/r/ovn-seed004/ovs-worker2', remotes: ['192.0.2.100'] }],
      neighbours: [
        { chassis: 'worker1', ns: 'gl-ovn-seed004-worker1', ovsRunDir: '/r/ovn-seed004/ovs-worker1', addresses: ['192.0.2.101'] },
        { chassis: 'worker2', ns: 'gl-ovn-seed004-worker2', ovsRunDir: '/r/ovn-seed004/ovs-worker2', addresses: ['192.0.2.100'] },
      ] },
  ]);
});

test('the kernel datapath: ovn-bridge-datapath-type=system, no checksum workaround, no neighbour warm-up', async (t) => {
  const { lab } = await loadRecipeFile(join(recipes, 'ovn-seed004.yaml'));
  const plan = planLab(lab, { runRoot: RUN, autoDatapath: 'system' });
  t.false(plan.steps.some((s) => s.op.op === 'offload.set' && s.subject.startsWith('OVN')));
  const ids = plan.steps.filter((s) => s.subject === 'OVN chassis "worker1"' && s.op.op === 'ovs.cmds').flatMap((s) => (s.op as { cmds: { args: string[] }[] }).cmds[0]!.args);
  t.true(ids.includes('external_ids:ovn-bridge-datapath-type=system'));
  t.like(plan.steps.find((s) => s.op.op === 'ovn.ready')!.op, { neighbours: [] });
});

test('a central of its own: a namespace of the lab (removed with it), unix sockets for the chassis', (t) => {
  const lab = tryLoad(ovnRecipe(`\n  switches: [{ name: ls1, ports: [vm1, vm2] }]`, { central: false })).ok!.lab;
  const plan = planLab(lab, { runRoot: RUN, autoDatapath: 'netdev' });
  t.true(plan.namespaces.includes('gl-o-ovn-central'));
  const add = plan.steps.find((s) => s.op.op === 'netns.add' && s.op.ns === 'gl-o-ovn-central')!;
  t.deepEqual(add.undo, { op: 'netns.del', ns: 'gl-o-ovn-central' });
  t.deepEqual(plan.steps.find((s) => s.op.op === 'ovn.central.start')!.op, { op: 'ovn.central.start', ns: 'gl-o-ovn-central', runDir: '/r/o/ovn-central', lab: 'o' });
  const set = plan.steps.find((s) => s.subject === 'OVN chassis "h1"' && s.op.op === 'ovs.cmds')!.op as { cmds: { args: string[] }[] };
  t.true(set.cmds[0]!.args.includes('external_ids:ovn-remote=unix:/r/o/ovn-central/sb.sock'));
});

test('routers, ACLs and extra commands become one NB transaction each, after the switches', (t) => {
  const lab = tryLoad(
    ovnRecipe(`
  switches: [{ name: ls1, ports: [vm1] }, { name: ls2, ports: [vm2] }]
  routers: [{ name: lr0, ports: [{ switch: ls1, mac: "02:00:00:00:01:01", networks: [198.51.100.1/24] }, { switch: ls2, mac: "02:00:00:00:02:01", networks: [203.0.113.1/24] }] }]
  acls: [{ switch: ls2, direction: to-lport, priority: 1001, match: 'ip4.src == 198.51.100.11 && icmp4', action: drop }]
  nbctl: [[set, Logical_Switch, ls1, "other_config:mcast_snoop=true"]]`),
  ).ok!.lab;
  const nb = planLab(lab, { runRoot: RUN, autoDatapath: 'netdev' }).steps.filter((s) => s.op.op === 'ovn.nbctl');
  t.deepEqual(nb.map((s) => s.subject), ['OVN logical switch "ls1"', 'OVN logical switch "ls2"', 'OVN logical router "lr0"', 'OVN ACL #1 on "ls2" (to-lport 1001 drop)', 'OVN ovn.nbctl[0] (set)']);
  t.deepEqual((nb[2]!.op as { cmds: string[][] }).cmds, [
    ['lr-add', 'lr0'],
    ['lrp-add', 'lr0', 'lr0-ls1', '02:00:00:00:01:01', '198.51.100.1/24'],
    ['lsp-add', 'ls1', 'ls1-lr0'], ['lsp-set-type', 'ls1-lr0', 'router'], ['lsp-set-addresses', 'ls1-lr0', 'router'], ['lsp-set-options', 'ls1-lr0', 'router-port=lr0-ls1'],
    ['lrp-add', 'lr0', 'lr0-ls2', '02:00:00:00:02:01', '203.0.113.1/24'],
    ['lsp-add', 'ls2', 'ls2-lr0'], ['lsp-set-type', 'ls2-lr0', 'router'], ['lsp-set-addresses', 'ls2-lr0', 'router'], ['lsp-set-options', 'ls2-lr0', 'router-port=lr0-ls2'],
  ]);
  t.deepEqual((nb[3]!.op as { cmds: string[][] }).cmds, [['acl-add', 'ls2', 'to-lport', '1001', 'ip4.src == 198.51.100.11 && icmp4', 'drop']]);
});

test('plan --format sh prints the OVN commands as argv (the match stays one quoted word)', async (t) => {
  const { lab } = await loadRecipeFile(join(recipes, 'ovn-seed004.yaml'));
  const sh = renderShell(planLab(lab, { runRoot: RUN, autoDatapath: 'netdev' }).steps);
  t.regex(sh, /ip netns exec gl-ovn-seed004-central ovsdb-server \/r\/ovn-seed004\/ovn-central\/ovnnb\.db --remote=punix:\/r\/ovn-seed004\/ovn-central\/nb\.sock --remote=ptcp:6641:192\.0\.2\.10 /);
  t.regex(sh, /ip netns exec gl-ovn-seed004-central ovn-northd --ovnnb-db=unix:\/r\/ovn-seed004\/ovn-central\/nb\.sock --ovnsb-db=unix:\/r\/ovn-seed004\/ovn-central\/sb\.sock /);
  t.regex(sh, /ovn-nbctl --db=unix:\/r\/ovn-seed004\/ovn-central\/nb\.sock --timeout=10 ls-add network1 -- lsp-add network1 vm1 -- lsp-set-addresses vm1 '40:44:00:00:00:01 198\.51\.100\.11'/);
  t.regex(sh, /ip netns exec gl-ovn-seed004-worker1 ovn-controller unix:\/r\/ovn-seed004\/ovs-worker1\/db\.sock --pidfile=\/r\/ovn-seed004\/ovn-worker1\/ovn-controller\.pid/);
  t.regex(sh, /ovn-sbctl --db=unix:\/r\/ovn-seed004\/ovn-central\/sb\.sock --timeout=120 wait-until Port_Binding vm2 up=true/);
  t.regex(sh, /ovn-nbctl --db=unix:\/r\/ovn-seed004\/ovn-central\/nb\.sock --timeout=120 --wait=hv sync/);
  t.regex(sh, /ip netns exec gl-ovn-seed004-worker1 ip neigh flush to 192\.0\.2\.101\nip netns exec gl-ovn-seed004-worker1 ping -c 1 -W 1 192\.0\.2\.101/);
});

test('long run roots keep every unix socket path within 107 bytes', async (t) => {
  const { lab } = await loadRecipeFile(join(recipes, 'ovn-seed004.yaml'));
  const root = '/tmp/' + 'x'.repeat(55);
  const plan = planLab(lab, { runRoot: root, autoDatapath: 'netdev' });
  for (const s of plan.steps)
    if (s.op.op === 'ovn.central.start' || s.op.op === 'ovn.controller.start') {
      t.true(s.op.runDir.length + '/ovn-controller.4194304.ctl'.length <= 107, s.op.runDir);
      t.true(s.op.runDir.startsWith(root), 'still under the run root (removed with it)');
    }
});
