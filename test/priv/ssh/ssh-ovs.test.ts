/**
 * Issues 5 and 8: Open vSwitch on SSH hosts. Each fake remote machine (an OpenSSH server in its
 * own namespace, test/support/sshd.ts) runs "the OVS service its admin installed": ovsdb-server +
 * ovs-vswitchd on the userspace datapath (this kernel has no openvswitch module), with the admin's
 * native tunnelling (underlay NIC eth1 in br-phy, which owns the underlay address) and a bridge of
 * the admin's own (br-user). An OVS geneve recipe over those hosts must pass the same checks as on
 * simulated hosts, touch only what it tags as its own, and leave the admin's bridges alone on
 * down, on a refused start and on gc after kill -9.
 * Oracles: the CLI's JSON, and ovs-vsctl/ip run directly against each machine's service.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { privTest, randomLabName } from '../../support/priv.js';
import type { ServiceOvs, SshLab } from '../../support/sshd.js';
import { cliIn } from '../../support/ssh-recipes.js';
import { checkSummary, netnsOf, ovsRecipe, serviceBridges, spawnSyncText, startOvsMachines } from '../../support/ssh-ovs.js';
import { ROOT } from '../../support/cli.js';
import { StateStore } from '../../../lib/engine/state.js';
import { ConnectionFiles, sshProcessesOf } from '../../../lib/remote/connections.js';

const TOOLS = ['sshd', 'ssh', 'ssh-keygen', 'ovs-vswitchd', 'ovsdb-server', 'ovsdb-tool', 'ovs-vsctl', 'ovs-ofctl', 'ovs-appctl', 'tcpdump', 'tshark', 'iperf3', 'ethtool', 'nsenter'];

interface World {
  ssh: SshLab;
  ovs: ServiceOvs[];
  dir: string;
  stateDir: string;
  cli: (ns: string | undefined, args: string[], timeout?: number) => ReturnType<typeof cliIn>;
  /** Bridge → ports (sorted) on one box's OVS service, with each bridge's owner tag. */
  bridges(box: string): Promise<Record<string, { ports: string[]; owner?: string }>>;
}

async function world(t: ExecutionContext, opts: { broken?: string } = {}): Promise<World> {
  const { ssh, ovs, dir } = await startOvsMachines(t, { labPrefix: 'so', ...opts });
  const stateDir = join(dir, 'state');
  return {
    ssh,
    ovs,
    dir,
    stateDir,
    cli: (ns, args, timeout) => cliIn(ns, ['--state-dir', stateDir, ...args], timeout),
    bridges: (box) => serviceBridges(ovs.find((s) => s.box === box)!),
  };
}

/** What the admin set up on every box, which the lab must leave exactly as it was. */
const ADMIN = { 'br-phy': { ports: ['eth1'] }, 'br-user': { ports: [] } };

privTest(
  'ovs over SSH: a geneve recipe on the machines\' own OVS services passes the same checks as on simulated hosts; down removes exactly the lab\'s bridges',
  async (t) => {
    t.timeout(420_000);
    const w = await world(t);
    const localLab = randomLabName('ol');
    const sshLab = randomLabName('or');
    const localFile = join(w.dir, 'local.yaml');
    const sshFile = join(w.dir, 'ssh.yaml');
    writeFileSync(localFile, ovsRecipe({ lab: localLab }));
    writeFileSync(sshFile, ovsRecipe({ lab: sshLab, ssh: { lab: w.ssh, ovs: w.ovs } }));
    t.teardown(() => {
      w.cli(undefined, ['down', localLab]);
      w.cli(w.ssh.clientNs, ['down', sshLab]);
    });

    const plan = JSON.parse(w.cli(undefined, ['plan', '--format', 'json', sshFile]).stdout) as { steps: { op: { op: string } }[] };
    t.false(plan.steps.some((s) => s.op.op === 'ovs.start'), 'no OVS daemons of our own on SSH hosts');

    const local = w.cli(undefined, ['up', localFile, '--json']);
    t.is(local.code, 0, local.stdout + local.stderr);
    const remote = w.cli(w.ssh.clientNs, ['up', sshFile, '--json']);
    t.is(remote.code, 0, remote.stdout + remote.stderr);

    const remoteChecks = JSON.parse(remote.stdout).checks as { name: string; what: string; figures: object }[];
    t.log(JSON.stringify(remoteChecks.map((c) => [c.name, c.figures])));
    // The tunnels' packets leave through the NIC under the admin's bridge, so that is where the capture runs.
    t.regex(remoteChecks.find((c) => c.name === 'on-the-wire')!.what, /box-2\/eth1/);
    // The simulated lab also has the default vswitchd log gate of its own OVS daemons (SSH hosts,
    // whose service log is shared, have none): green, and left out of the comparison.
    const allLocal = checkSummary(local.stdout);
    const gates = allLocal.filter((c) => c.name.startsWith('vswitchd-log '));
    t.true(gates.length > 0 && gates.every((c) => c.status === 'passed'), JSON.stringify(gates));
    const localChecks = allLocal.filter((c) => !gates.includes(c));
    t.deepEqual(localChecks.map((c) => c.status), ['passed', 'passed', 'passed', 'passed'], JSON.stringify(JSON.parse(local.stdout).checks));
    t.deepEqual(checkSummary(remote.stdout), localChecks, JSON.stringify(JSON.parse(remote.stdout).checks));

    // On each machine: the admin's bridges as they were, plus exactly the lab's bridge with its
    // guest port and tunnel port, tagged with the lab's tag (scoped to its state directory).
    const tag = `geneve-lab:${sshLab}${new StateStore(w.stateDir).scope}`;
    for (const i of [1, 2]) {
      const box = `box-${i}`;
      t.deepEqual(await w.bridges(box), {
        ...ADMIN,
        [`${sshLab}-sw${i}`]: { ports: [`${sshLab}-g${i}`, `${sshLab}-t1`].sort(), owner: tag },
      });
      const svc = w.ovs.find((s) => s.box === box)!;
      t.is((await svc.vsctl(['get', 'Interface', `${sshLab}-t1`, 'type'])).trim(), 'geneve');
      t.regex(await svc.vsctl(['get', 'Interface', `${sshLab}-t1`, 'options']), /key="?77"?.*remote_ip="?192\.0\.2\.1\d"?/);
      t.is((await svc.vsctl(['get', 'Bridge', `${sshLab}-sw${i}`, 'datapath_type'])).trim(), 'netdev', 'auto → netdev: no openvswitch module on the machine');
      // The Geneve option flows (TLV map + tun_metadata) are on the lab's bridge.
      const flows = spawnSyncText(['env', `OVS_RUNDIR=${svc.runDir}`, 'ovs-ofctl', 'dump-flows', `${sshLab}-sw${i}`]);
      t.regex(flows, /tun_metadata0/, `option flows on box-${i}`);
      // The machine's address stayed where the admin put it.
      const box1 = w.ssh.boxes.find((b) => b.name === box)!;
      t.regex(spawnSyncText(['ip', '-n', box1.ns, '-br', 'addr', 'show', 'br-phy']), new RegExp(`192\\.0\\.2\\.${10 + i}/24`));
    }

    // up again with the same recipe: the lab's own tagged bridges are recognised, nothing changes.
    const again = w.cli(w.ssh.clientNs, ['up', '--no-checks', sshFile, '--json']);
    t.is(again.code, 0, again.stdout + again.stderr);
    t.regex(again.stdout + again.stderr, /already up/);

    // status shows the SSH hosts' OVS (the lab's bridges only).
    const status = w.cli(w.ssh.clientNs, ['status', sshLab, '--json']);
    t.is(status.code, 0, status.stderr);
    const ovsStatus = JSON.parse(status.stdout).labs?.[0]?.ovs as unknown;
    t.truthy(ovsStatus, status.stdout);
    t.deepEqual(
      (ovsStatus as { host: string; status?: { bridges: { name: string }[] } }[]).map((o) => [o.host, o.status?.bridges.map((b) => b.name)]),
      [
        ['box-1', [`${sshLab}-sw1`]],
        ['box-2', [`${sshLab}-sw2`]],
      ],
    );

    const remoteDown = w.cli(w.ssh.clientNs, ['down', sshLab]);
    t.is(remoteDown.code, 0, remoteDown.stdout + remoteDown.stderr);
    for (const b of w.ssh.boxes) {
      t.deepEqual(await w.bridges(b.name), ADMIN, `only the admin's bridges are left on ${b.name}`);
      t.deepEqual(netnsOf(b.pid).filter((n) => n.includes(sshLab)), [], `no namespace of the lab on ${b.name}`);
      const links = JSON.parse(spawnSyncText(['ip', '-n', b.ns, '-j', 'link', 'show'])) as { ifname: string }[];
      t.deepEqual(links.filter((l) => l.ifname.startsWith(sshLab)), [], `no link of the lab on ${b.name}`);
    }
    const localDown = w.cli(undefined, ['down', localLab]);
    t.is(localDown.code, 0, localDown.stderr);
  },
  { tools: TOOLS },
);

privTest(
  'ovs over SSH: a machine whose OVS switch daemon is not running fails before any change on any host (exit 3, names the host and the fix)',
  async (t) => {
    t.timeout(180_000);
    const w = await world(t, { broken: 'box-2' });
    const lab = randomLabName('ob');
    const file = join(w.dir, 'broken.yaml');
    writeFileSync(file, ovsRecipe({ lab, ssh: { lab: w.ssh, ovs: w.ovs }, checks: false }));
    t.teardown(() => w.cli(w.ssh.clientNs, ['down', lab]));
    const before = await w.bridges('box-1');
    const r = w.cli(w.ssh.clientNs, ['up', file]);
    t.is(r.code, 3, r.stdout + r.stderr);
    t.regex(r.stderr, /host "box-2": ovs-vswitchd is not running/);
    t.regex(r.stderr, /systemctl (re)?start openvswitch-switch/);
    t.notRegex(r.stderr, /host "box-1"/);
    // Nothing anywhere: box-1 (healthy) untouched, no namespace, no link, no state.
    t.deepEqual(await w.bridges('box-1'), before);
    for (const b of w.ssh.boxes) {
      t.deepEqual(netnsOf(b.pid).filter((n) => n.includes(lab)), []);
      const links = JSON.parse(spawnSyncText(['ip', '-n', b.ns, '-j', 'link', 'show'])) as { ifname: string }[];
      t.deepEqual(links.filter((l) => l.ifname.startsWith(lab)), []);
    }
    t.deepEqual(new StateStore(w.stateDir).list(), []);

    // Not installed at all: the same, with the install command (simulated with a db path whose service does not exist).
    const file2 = join(w.dir, 'missing.yaml');
    writeFileSync(file2, ovsRecipe({ lab, ssh: { lab: w.ssh, ovs: w.ovs.map((s) => ({ ...s, dbSocket: join(w.dir, 'nothing', 'db.sock') })) }, checks: false }));
    const r2 = w.cli(w.ssh.clientNs, ['up', file2]);
    t.is(r2.code, 3, r2.stdout + r2.stderr);
    t.regex(r2.stderr, /host "box-1": the Open vSwitch database at unix:\S+ does not answer/);
    t.regex(r2.stderr, /host "box-2": the Open vSwitch database/);
    t.deepEqual(await w.bridges('box-1'), before);
  },
  { tools: TOOLS },
);

privTest(
  'ovs over SSH: kill -9 during up, then gc removes the lab\'s bridges and ports on the remote machines and nothing of the admin\'s',
  async (t) => {
    t.timeout(240_000);
    const w = await world(t);
    const lab = randomLabName('ok');
    const file = join(w.dir, 'crash.yaml');
    writeFileSync(file, ovsRecipe({ lab, ssh: { lab: w.ssh, ovs: w.ovs }, checks: false }));
    t.teardown(() => w.cli(w.ssh.clientNs, ['down', lab]));
    const plan = JSON.parse(w.cli(undefined, ['plan', '--format', 'json', file]).stdout) as { steps: { id: number; host?: string; subject: string; op: { op: string } }[] };
    // Pause after box-1's tunnel port: its bridge, a guest port and the tunnel port exist there.
    const pauseAt = plan.steps.find((s) => s.host === 'box-1' && s.op.op === 'ovs.tunnel')!.id;

    const child = spawn('ip', ['netns', 'exec', w.ssh.clientNs, process.execPath, '--import', 'tsx', join(ROOT, 'cli/main.ts'), '--state-dir', w.stateDir, 'up', '--no-checks', file], {
      cwd: ROOT,
      env: { ...process.env, GENEVE_LAB_PAUSE_AFTER_STEP: String(pauseAt) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`up did not pause: ${stderr}`)), 120_000);
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes(`paused after step ${pauseAt}`)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`up exited before pausing: ${stderr}`)));
    }).finally(() => child.removeAllListeners('exit'));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    child.stdout!.destroy();
    child.stderr!.destroy();
    t.log('closed');

    const crashed = await w.bridges('box-1');
    t.truthy(crashed[`${lab}-sw1`], `the lab's bridge exists on box-1 after the crash: ${JSON.stringify(crashed)}`);
    t.true(crashed[`${lab}-sw1`]!.ports.includes(`${lab}-t1`));

    t.log(`paused after step ${pauseAt}, killed`);
    // The dead CLI's SSH connections are on record, with what they left: masters, local and remote dirs.
    const connections = new ConnectionFiles(join(w.stateDir, 'connections'));
    const left = connections.list();
    t.deepEqual(left.map((c) => c.host).sort(), ['box-1', 'box-2']);
    for (const c of left) {
      t.true(existsSync(c.localDir) && existsSync(c.remoteDir), `${c.host}: the dead CLI's directories are still there`);
      t.true(sshProcessesOf(c.controlPath).length >= 1, `${c.host}: its master outlived it`);
    }
    const gc = w.cli(w.ssh.clientNs, ['gc'], 90_000);
    t.log(gc.code, gc.stdout, gc.stderr);
    t.is(gc.code, 0, gc.stdout + gc.stderr);
    t.regex(gc.stdout, /SSH connection to box-1 .*SSH connection to box-2|SSH connection to box-2 .*SSH connection to box-1/);
    t.deepEqual(connections.list(), [], 'gc opened and closed its own connections; the dead ones are collected');
    for (const c of left) {
      t.false(existsSync(c.localDir) || existsSync(c.remoteDir), `${c.host}: both directories removed`);
      t.deepEqual(sshProcessesOf(c.controlPath), [], `${c.host}: no ssh process of the dead connection is left`);
    }
    for (const b of w.ssh.boxes) {
      t.deepEqual(await w.bridges(b.name), ADMIN, `gc left only the admin's bridges on ${b.name}`);
      t.deepEqual(netnsOf(b.pid).filter((n) => n.includes(lab)), []);
      const links = JSON.parse(spawnSyncText(['ip', '-n', b.ns, '-j', 'link', 'show'])) as { ifname: string }[];
      t.deepEqual(links.filter((l) => l.ifname.startsWith(lab)), []);
    }
  },
  { tools: TOOLS },
);
