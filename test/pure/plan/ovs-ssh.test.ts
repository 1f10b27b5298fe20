/**
 * Issues 5 and 8 (pure): Open vSwitch on SSH hosts is planned against the machine's running OVS
 * service (no daemons of ours), every OVS object gets an explicit undo, and the pre-change checks
 * of lib/remote/ovs-service.ts refuse a host without a usable service, with the host and the fix.
 * The executor is a scripted fake here; test/priv/ssh/ssh-ovs.test.ts runs the real thing.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { planLab } from '../../../lib/plan/plan.js';
import type { Op } from '../../../lib/plan/ops.js';
import { autoDatapathFor, ovsUndo } from '../../../lib/plan/ovs.js';
import { prepareOvsHosts } from '../../../lib/remote/ovs-service.js';
import { PrerequisiteError } from '../../../lib/errors.js';
import type { Executor, RunResult } from '../../../lib/exec/executor.js';
import type { Lab } from '../../../lib/model/types.js';
import { ROOT } from '../../support/cli.js';

const VAGRANT = join(ROOT, 'recipes/vagrant-ovs-geneve.yaml');

test('recipes/vagrant-ovs-geneve.yaml plans: OVS geneve tunnel ports against each box\'s OVS service, no ovs.start, explicit undo for every OVS object', (t) => {
  const lab = loadRecipeText(readFileSync(VAGRANT, 'utf8'), VAGRANT).lab;
  const plan = planLab(lab);
  t.false(plan.steps.some((s) => s.op.op === 'ovs.start' || s.op.op === 'ovs.stop'));
  const tunnels = plan.steps.filter((s) => s.op.op === 'ovs.tunnel');
  t.deepEqual(
    tunnels.map((s) => [s.host, (s.op as Extract<Op, { op: 'ovs.tunnel' }>).port]),
    [
      ['box-1', { bridge: 'vg-ovs-sw1', name: 'vg-ovs-tun0', type: 'geneve', lab: 'geneve-lab:vg-ovs', remoteIp: '192.168.56.12', key: 123 }],
      ['box-2', { bridge: 'vg-ovs-sw2', name: 'vg-ovs-tun0', type: 'geneve', lab: 'geneve-lab:vg-ovs', remoteIp: '192.168.56.11', key: 123 }],
    ],
  );
  for (const s of plan.steps.filter((x) => x.op.op.startsWith('ovs.'))) {
    const op = s.op as Extract<Op, { op: 'ovs.cmds' | 'ovs.tunnel' }>;
    // The machine's default service, its run directory for ofctl/appctl, the machine's own namespace.
    t.like(op, { ns: '', db: '/var/run/openvswitch/db.sock', runDir: '/var/run/openvswitch', lab: 'geneve-lab:vg-ovs' });
  }
  const bridge = plan.steps.find((s) => s.op.op === 'ovs.cmds' && s.host === 'box-1' && JSON.stringify(s.op).includes('add-br'))!;
  t.true(JSON.stringify(bridge.op).includes('datapath_type=system'), 'the recipe\'s datapath: system');
  t.true(JSON.stringify(bridge.op).includes('external_ids:geneve-lab=geneve-lab:vg-ovs'), 'tagged as the lab\'s');
  t.deepEqual(bridge.undo, {
    op: 'ovs.cmds', ns: '', runDir: '/var/run/openvswitch', lab: 'geneve-lab:vg-ovs', db: '/var/run/openvswitch/db.sock',
    cmds: [{ tool: 'vsctl', args: ['--if-exists', 'del-br', 'vg-ovs-sw1'] }],
  });
  t.deepEqual((tunnels[0]!.undo as Extract<Op, { op: 'ovs.cmds' }>).cmds, [{ tool: 'vsctl', args: ['--if-exists', 'del-port', 'vg-ovs-sw1', 'vg-ovs-tun0'] }]);
  const guestPort = plan.steps.find((s) => s.op.op === 'ovs.cmds' && s.host === 'box-1' && JSON.stringify(s.op).includes('add-port'))!;
  t.deepEqual((guestPort.undo as Extract<Op, { op: 'ovs.cmds' }>).cmds, [{ tool: 'vsctl', args: ['--if-exists', 'del-port', 'vg-ovs-sw1', 'vg-ovs-left'] }]);
});

const recipe = (o: { ssh?: boolean; hostOvs?: string; options?: boolean } = {}) => `
lab: os
networks: [{ name: underlay }]
hosts:
  - name: box-1
${o.ssh !== false ? '    ssh: root@198.51.100.11\n' : ''}${o.hostOvs ? `    ovs: ${o.hostOvs}\n` : ''}    interfaces: [{ ipv4: 192.0.2.11/24 }]
  - name: box-2
${o.ssh !== false ? '    ssh: root@198.51.100.12\n' : ''}    interfaces: [{ ipv4: 192.0.2.12/24 }]
switches:
  - { name: sw1, host: box-1, kind: ovs }
  - { name: sw2, host: box-2, kind: ovs }
guests:
  - { name: g1, switch: sw1, addresses: [203.0.113.1/24] }
  - { name: g2, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - { name: t1, between: [sw1, sw2], type: geneve, impl: ovs, vni: 77${o.options ? ', ovn: { ingress: 1, egress: 2 }' : ''} }
checks:
  - name: p
    ping: { from: g1, to: g2 }
  - name: wire
    capture: { host: box-2, interface: underlay, during: p, expect: { geneve.vni: 77 } }
`;
const load = (o?: Parameters<typeof recipe>[0]) => loadRecipeText(recipe(o), '/r/os.yaml').lab;

test('a host-level ovs.db names the service: ops carry its socket, ofctl/appctl use its directory', (t) => {
  const plan = planLab(load({ hostOvs: '{ db: "unix:/srv/ovs/run/db.sock" }', options: true }));
  const box1 = plan.steps.filter((s) => s.host === 'box-1' && s.op.op.startsWith('ovs.'));
  t.true(box1.length >= 4); // bridge, guest port, tunnel port, option flows
  for (const s of box1) t.like(s.op, { db: '/srv/ovs/run/db.sock', runDir: '/srv/ovs/run' });
  const box2 = plan.steps.find((s) => s.host === 'box-2' && s.op.op === 'ovs.tunnel')!;
  t.like(box2.op, { db: '/var/run/openvswitch/db.sock' });
  // Geneve option flows (TLV map + tun_metadata) as on simulated hosts; they go with the lab's bridge.
  const flows = box1.find((s) => s.subject.endsWith('Geneve options'))!;
  t.true(JSON.stringify(flows.op).includes('add-tlv-map'));
  t.is(flows.undo, null);
});

test('ovs.db is refused on a simulated host (it runs its own daemons) and must be a unix socket path', (t) => {
  const e = t.throws(() => planLab(load({ ssh: false, hostOvs: '{ db: "unix:/srv/db.sock" }' })));
  t.regex(e!.message, /host "box-1": ovs\.db names a running OVS service and is for ssh: hosts only/);
  const e2 = t.throws(() => load({ hostOvs: '{ db: "tcp:1.2.3.4:6640" }' }));
  t.regex(JSON.stringify((e2 as any).problems ?? e2!.message), /not a database socket; use unix:\/absolute\/path\/db\.sock/);
});

test('simulated OVS hosts are unchanged: own daemons, no explicit OVS undo (ovs.stop ends the instance)', (t) => {
  const plan = planLab(load({ ssh: false }));
  t.is(plan.steps.filter((s) => s.op.op === 'ovs.start').length, 2);
  t.true(plan.steps.filter((s) => s.op.op === 'ovs.cmds' || s.op.op === 'ovs.tunnel').every((s) => s.undo === null && !('db' in s.op)));
});

test('ovsUndo: bridges deleted, ports removed from their bridge, newest first; nothing to undo → null', (t) => {
  const base = { op: 'ovs.cmds' as const, ns: '', runDir: '/r', lab: 'L', db: '/r/db.sock' };
  const undo = ovsUndo({ ...base, cmds: [{ tool: 'vsctl', args: ['--may-exist', 'add-br', 'b', '--', 'set', 'Bridge', 'b', 'x=y', '--', '--may-exist', 'add-port', 'b', 'p', 'external_ids:k=v'] }] });
  t.deepEqual(undo, { ...base, cmds: [{ tool: 'vsctl', args: ['--if-exists', 'del-port', 'b', 'p', '--', '--if-exists', 'del-br', 'b'] }] });
  t.is(ovsUndo({ ...base, cmds: [{ tool: 'ofctl', args: ['add-flow', 'b', 'actions=normal'] }] }), null);
});

// ---------- pre-change checks against a scripted machine

type Script = (argv: string[]) => Partial<RunResult> | undefined;
function fakeExec(script: Script): Executor & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    where: 'fake',
    calls,
    async run(argv: readonly string[]) {
      calls.push([...argv]);
      const r = script([...argv]) ?? { exitCode: 1, stderr: 'unscripted' };
      return { argv: [...argv], exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false, ...r } as RunResult;
    },
  } as unknown as Executor & { calls: string[][] };
}

const table = (headings: string[], rows: unknown[][]) => ({ exitCode: 0, stdout: JSON.stringify({ headings, data: rows }) });

/** A healthy machine with the admin's native tunnelling on br-phy (eth1) and no openvswitch module. */
function healthy(over: Script = () => undefined): Script {
  return (argv) => {
    const o = over(argv);
    if (o) return o;
    const a = argv.join(' ');
    if (a.includes('get Open_vSwitch . ovs_version')) return { exitCode: 0, stdout: '"3.1.0"\n' };
    if (a.includes('-t ovs-vswitchd version')) return { exitCode: 0, stdout: 'ovs-vswitchd (Open vSwitch) 3.1.0\n' };
    if (a.startsWith('test -d /sys/module/openvswitch')) return { exitCode: 1 };
    if (a.startsWith('modprobe')) return { exitCode: 1 };
    if (a.includes('find Bridge name="br-phy"')) return table(['name', 'datapath_type'], [['br-phy', 'netdev']]);
    if (a.includes('find Bridge')) return table(['name', 'datapath_type'], []);
    if (a.includes('list-ports br-phy')) return { exitCode: 0, stdout: 'eth1\n' };
    if (a.includes('--columns=name,type list Interface')) return table(['name', 'type'], [['br-phy', 'internal'], ['eth1', ''], ['br-user', 'internal']]);
    if (a.includes('list Bridge')) return table(['name', 'external_ids'], [['br-phy', ['map', []]], ['br-user', ['map', []]]]);
    if (a.includes('list Port')) return table(['name', 'external_ids'], [['eth1', ['map', []]]]);
    return undefined;
  };
}

/** The lab as connectLab sees it after discovery: the underlay interface is the admin's br-phy. */
const discovered = (o?: Parameters<typeof recipe>[0]): Lab => {
  const lab = load(o);
  return {
    ...lab,
    hosts: lab.hosts.map((h) => ({ ...h, interfaces: h.interfaces.map((i) => ({ ...i, ifname: 'br-phy' })) })),
    checks: lab.checks.map((c) => (c.kind === 'capture' ? { ...c, ifname: 'br-phy' } : c)),
  };
};

test('healthy machines: auto datapath → netdev without the module, captures move to the NIC under the admin\'s bridge; only reads', async (t) => {
  const execs = { 'box-1': fakeExec(healthy()), 'box-2': fakeExec(healthy()) };
  const lab = await prepareOvsHosts(discovered(), (h) => execs[h as keyof typeof execs]);
  t.deepEqual(lab.hosts.map((h) => h.ovs?.datapath), ['netdev', 'netdev']);
  const capture = lab.checks.find((c) => c.kind === 'capture')!;
  t.is((capture as { ifname: string }).ifname, 'eth1');
  const writes = Object.values(execs).flatMap((e) => e.calls).filter((c) => /add-br|add-port|del-|set |addr|link set/.test(c.join(' ')));
  t.deepEqual(writes, []);
  // The service's socket and run directory on every OVS call.
  const vsctl = execs['box-1'].calls.find((c) => c[0] === 'ovs-vsctl')!;
  t.is(vsctl[1], '--db=unix:/var/run/openvswitch/db.sock');
});

test('with the openvswitch module on the machine, auto → system (no native tunnelling needed)', async (t) => {
  const withModule = healthy((argv) => (argv.join(' ').startsWith('test -d /sys/module/openvswitch') ? { exitCode: 0 } : undefined));
  const lab = await prepareOvsHosts(discovered(), () => fakeExec(withModule));
  t.deepEqual(lab.hosts.map((h) => h.ovs?.datapath), ['system', 'system']);
});

test('every host\'s problem is reported together, naming the host and the fix: not installed, vswitchd down', async (t) => {
  const missing = fakeExec(() => ({ exitCode: 127, stderr: 'sh: 1: ovs-vsctl: not found' }));
  const down = fakeExec(healthy((argv) => (argv.join(' ').includes('ovs-vswitchd version') ? { exitCode: 1, stderr: 'ovs-appctl: cannot read pidfile "/var/run/openvswitch/ovs-vswitchd.pid" (No such file or directory)' } : undefined)));
  const e = await t.throwsAsync(prepareOvsHosts(discovered(), (h) => (h === 'box-1' ? missing : down)), { instanceOf: PrerequisiteError });
  t.regex(e!.message, /host "box-1": Open vSwitch is not installed \(ovs-vsctl not found\): install Open vSwitch there \(Debian\/Ubuntu: apt-get install openvswitch-switch/);
  t.regex(e!.message, /host "box-2": ovs-vswitchd is not running \(ovs-appctl in \/var\/run\/openvswitch: cannot read pidfile/);
  t.is(e!.exitCode, 3);
});

test('a database that does not answer names the socket and the ovs.db setting', async (t) => {
  const dead = fakeExec(() => ({ exitCode: 1, stderr: 'ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed (No such file or directory)' }));
  const e = await t.throwsAsync(prepareOvsHosts(discovered(), () => dead));
  t.regex(e!.message, /host "box-1": the Open vSwitch database at unix:\/var\/run\/openvswitch\/db\.sock does not answer \(unix:.*database connection failed/);
  t.regex(e!.message, /ovs: \{ db: unix:\/path\/to\/db\.sock \}/);
});

test('netdev without native tunnelling is refused: the lab never moves a remote machine\'s address or NIC', async (t) => {
  const lab = load();
  const plainNic = { ...lab, hosts: lab.hosts.map((h) => ({ ...h, interfaces: h.interfaces.map((i) => ({ ...i, ifname: 'ens3' })) })) };
  const e = await t.throwsAsync(prepareOvsHosts(plainNic, () => fakeExec(healthy())));
  t.regex(e!.message, /host "box-1": the OVS userspace datapath \(netdev\) needs native tunnelling, and the underlay address 192\.0\.2\.11 is on "ens3", which is not an OVS bridge/);
  t.regex(e!.message, /never moves a remote machine's address or NIC \(that could cut the SSH connection\)/);
});

test('a forced system datapath without the module on the machine is refused before any change', async (t) => {
  const e = await t.throwsAsync(prepareOvsHosts(discovered({ hostOvs: '{ datapath: system }' }), () => fakeExec(healthy())));
  t.regex(e!.message, /host "box-1": the OVS kernel datapath \(system\) is requested but the openvswitch kernel module is not available/);
});

test('a bridge or port with the lab\'s name that is not the lab\'s is never adopted (nor one of the same lab name from another state directory); the lab\'s own leftover is left to up/down/gc', async (t) => {
  const foreign = healthy((argv) =>
    argv.join(' ').includes('list Bridge') ? table(['name', 'external_ids'], [['br-phy', ['map', []]], ['os-sw1', ['map', [['owner', 'admin']]]]]) : undefined,
  );
  const e = await t.throwsAsync(prepareOvsHosts(discovered(), (h) => fakeExec(h === 'box-1' ? foreign : healthy())));
  t.regex(e!.message, /host "box-1": OVS bridge "os-sw1" already exists and is not lab "os"'s/);
  const bridgeTagged = (tag: string) =>
    healthy((argv) => (argv.join(' ').includes('list Bridge') ? table(['name', 'external_ids'], [['os-sw1', ['map', [['geneve-lab', tag]]]]]) : undefined));
  // This lab's own leftover (same tag, state directory's scope included): left to up's recreate.
  const lab = { ...discovered(), tag: 'geneve-lab:os@abc' };
  await t.notThrowsAsync(prepareOvsHosts(lab, () => fakeExec(bridgeTagged('geneve-lab:os@abc'))));
  // The same lab name run from another state directory (or the default one) is someone else's.
  for (const other of ['geneve-lab:os@def', 'geneve-lab:os']) {
    const e2 = await t.throwsAsync(prepareOvsHosts(lab, (h) => fakeExec(h === 'box-1' ? bridgeTagged(other) : healthy())));
    t.regex(e2!.message, new RegExp(`host "box-1": OVS bridge "os-sw1" belongs to a lab "os" kept in another state directory \\(tag ${other}; this one is geneve-lab:os@abc\\)`));
    t.regex(e2!.message, /--state-dir DIR down os/);
  }
});

test('a call over SSH that gets no reply in time is reported as such (not "exit -1"), with a budget for slow machines', async (t) => {
  const slow = fakeExec(() => ({ exitCode: -1, stderr: '', timedOut: true }));
  const e = await t.throwsAsync(prepareOvsHosts(discovered(), () => slow));
  t.regex(e!.message, /host "box-1": the Open vSwitch database at unix:\S+ does not answer \(no reply within 30 s over SSH\)/);
  t.notRegex(e!.message, /exit -1/);
  const budgets = new Set<number | undefined>();
  const seen = fakeExec(healthy());
  const run = seen.run.bind(seen);
  seen.run = (argv, opts) => (budgets.add(opts?.timeoutMs), run(argv, opts));
  await prepareOvsHosts(discovered(), () => seen);
  t.true(budgets.has(30_000), JSON.stringify([...budgets]));
});

test('plan resolves `auto` as up would: this machine\'s probe for its hosts; SSH hosts left to auto are named (decided on the machine at up); no probe without OVS', async (t) => {
  const text = readFileSync(VAGRANT, 'utf8').replace(/datapath: system/g, 'datapath: auto');
  t.not(text, readFileSync(VAGRANT, 'utf8'), 'the recipe sets the datapath (changed here to auto)');
  const lab = loadRecipeText(text, VAGRANT).lab;
  const probes: string[] = [];
  const probe = (loaded: boolean): Executor => ({
    where: 'local',
    async run(argv) {
      probes.push(argv.join(' '));
      return { argv: [...argv], exitCode: loaded ? 0 : 1, stdout: '', stderr: '', durationMs: 0, timedOut: false } as RunResult;
    },
    start() {
      throw new Error('not used');
    },
  });
  t.deepEqual(await autoDatapathFor(lab, probe(true)), { autoDatapath: 'system', sshHostsLeftToAuto: ['box-1', 'box-2'] });
  t.deepEqual(probes, ['test -d /sys/module/openvswitch'], 'read-only probe');
  t.is((await autoDatapathFor(lab, probe(false))).autoDatapath, 'netdev');
  probes.length = 0;
  const kernelOnly = loadRecipeText(readFileSync(join(ROOT, 'recipes/kernel-geneve.yaml'), 'utf8'), 'kernel-geneve.yaml').lab;
  t.deepEqual(await autoDatapathFor(kernelOnly, probe(true)), { autoDatapath: 'netdev', sshHostsLeftToAuto: [] });
  t.deepEqual(probes, [], 'no OVS host: nothing probed');
});
