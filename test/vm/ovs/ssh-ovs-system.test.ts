/**
 * VM tier, issues 5 and 8 on the kernel datapath: Open vSwitch on SSH hosts whose admin runs the
 * OVS service on the `system` datapath, as on the Vagrant boxes of recipes/vagrant-ovs-geneve.yaml.
 * Two fake remote machines (namespaces running a real OpenSSH server, test/support/sshd.ts), each
 * with its own ovsdb-server + ovs-vswitchd on the kernel datapath, the underlay address on its NIC
 * (eth1; no native-tunnelling bridge: the kernel datapath routes tunnel packets itself) and a
 * bridge of the admin's own (br-user). box-1's recipe leaves the datapath to `auto`, box-2's says
 * `system`: both must end up on the kernel datapath.
 *
 * One `up` (ping both ways, iperf3 TCP, capture with the VNI on the wire) and one `down` through
 * the real CLI, run in the namespace holding the ssh client. Oracles: ovs-vsctl / ovs-dpctl / ip
 * run directly against each machine, and each sshd's log (one connection per host per command).
 *
 * Needs the openvswitch module and sshd: run inside the VM,
 * `geneve-lab vm --exec -- node test/support/run-tests.js --inner -- test/vm/ovs/ssh-ovs-system.test.ts`.
 * Elsewhere the test is skipped LOUDLY.
 */
import type { ExecutionContext } from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomLabName } from '../../support/priv.js';
import { cliIn } from '../../support/ssh-recipes.js';
import { checkSummary, linksIn, netnsOf, ovsRecipe, serviceBridges, spawnSyncText, startOvsMachines } from '../../support/ssh-ovs.js';
import { StateStore } from '../../../lib/engine/state.js';
import { kernelTest } from '../faults/kernel.js';

const TOOLS = ['sshd', 'ssh', 'ssh-keygen', 'ovs-vswitchd', 'ovsdb-server', 'ovsdb-tool', 'ovs-vsctl', 'ovs-dpctl', 'ovs-ofctl', 'ovs-appctl', 'modprobe', 'tcpdump', 'tshark', 'iperf3', 'nsenter'];

const vmTest = (title: string, fn: (t: ExecutionContext) => Promise<void>) => kernelTest(title, fn, { features: ['geneve', 'ovs-kernel'], tools: TOOLS });

/** What the admin set up on every box, which the lab must leave exactly as it was. */
const ADMIN = { 'br-user': { ports: [] } };

vmTest(
  'ovs over SSH on the kernel datapath: a Vagrant-shaped geneve recipe on the machines\' own OVS services (auto and system → system) passes ping, TCP and wire checks; down leaves only the admin\'s bridge; one SSH connection per host per command',
  async (t) => {
    t.timeout(40 * 60_000);
    const { ssh, ovs, dir } = await startOvsMachines(t, { datapath: 'system', labPrefix: 'vs' });
    const stateDir = join(dir, 'state');
    const lab = randomLabName('vk');
    const cli = (args: string[]) => cliIn(ssh.clientNs, ['--state-dir', stateDir, ...args], 15 * 60_000);
    let upRan = false;
    // Registered after the machines' teardown, so it runs before it: down while they still answer.
    t.teardown(() => {
      if (upRan) cli(['down', lab]);
    });
    const svcOf = (box: string) => ovs.find((s) => s.box === box)!;
    // The admin's bridge really is on the kernel datapath before the lab starts (the fixture's own check).
    for (const s of ovs) t.true(spawnSyncText(['ip', 'netns', 'exec', ssh.boxes.find((b) => b.name === s.box)!.ns, 'ovs-dpctl', 'show']).includes('br-user'), `br-user in ${s.box}'s kernel datapath`);

    const file = join(dir, 'vagrant-shaped.yaml');
    // box-1: datapath left to auto; box-2: `system` as in recipes/vagrant-ovs-geneve.yaml.
    writeFileSync(file, ovsRecipe({ lab, ssh: { lab: ssh, ovs }, datapath: { 'box-2': 'system' }, ovn: false, vni: 123 }));
    for (const b of ssh.boxes) t.deepEqual(await ssh.acceptedConnections(b.name), [], `no connection to ${b.name} before up`);

    upRan = true;
    const up = cli(['up', file, '--json', '--verbose']);
    // Where the time went (each line stamped): the CI log shows it, SSH under TCG is the slow part.
    t.log(up.stderr);
    // Not built at all: say why before anything else (a failed check alone still reports `up`).
    let built = false;
    try {
      built = JSON.parse(up.stdout).up?.lab === lab;
    } catch {
      /* not JSON: the CLI failed before or while building */
    }
    if (!built) {
      t.fail(`up did not build the lab (exit ${up.code}):\n${up.stdout}\n${up.stderr}`);
      return;
    }
    const tag = `geneve-lab:${lab}${new StateStore(stateDir).scope}`;
    for (const i of [1, 2]) {
      const box = `box-${i}`;
      const b = ssh.boxes.find((x) => x.name === box)!;
      const svc = svcOf(box);
      const bridge = `${lab}-sw${i}`;
      t.deepEqual(await serviceBridges(svc), { ...ADMIN, [bridge]: { ports: [`${lab}-g${i}`, `${lab}-t1`].sort(), owner: tag } });
      // Kernel datapath: datapath_type "system" or empty (OVS's default, which is system).
      t.true(['""', 'system'].includes((await svc.vsctl(['get', 'Bridge', bridge, 'datapath_type'])).trim()), `${bridge} is on the kernel datapath (${box}, ${i === 1 ? 'auto' : 'system'})`);
      t.is((await svc.vsctl(['get', 'Interface', `${lab}-t1`, 'type'])).trim(), 'geneve');
      t.regex(await svc.vsctl(['get', 'Interface', `${lab}-t1`, 'options']), new RegExp(`key="?123"?.*remote_ip="?192\\.0\\.2\\.${i === 1 ? 12 : 11}"?`));
      t.is((await svc.vsctl(['get', 'Interface', `${lab}-t1`, 'error'])).trim(), '[]');
      // The kernel's view: the bridge's own port is an openvswitch internal netdev (a tap on
      // netdev), the guest port and the geneve vport are in the kernel datapath.
      const links = linksIn(b.ns);
      t.is(links.find((l) => l.ifname === bridge)?.linkinfo?.info_kind, 'openvswitch', JSON.stringify(links.map((l) => [l.ifname, l.linkinfo?.info_kind])));
      const dp = spawnSyncText(['ip', 'netns', 'exec', b.ns, 'ovs-dpctl', 'show']);
      t.regex(dp, new RegExp(`port \\d+: ${lab}-g${i}\\b`), dp);
      t.regex(dp, /genev_sys_6081 \(geneve/, dp);
      // The machine's address stayed where the admin put it.
      t.regex(spawnSyncText(['ip', '-n', b.ns, '-br', 'addr', 'show', 'eth1']), new RegExp(`192\\.0\\.2\\.${10 + i}/24`));
    }

    // The checks after the machines' state (above), so a failed check does not hide how the lab was built.
    t.is(up.code, 0, up.stdout + up.stderr);
    const checks = JSON.parse(up.stdout).checks as { name: string; what: string; figures: object }[];
    t.log(JSON.stringify(checks.map((c) => [c.name, c.figures])));
    t.deepEqual(
      checkSummary(up.stdout).map((c) => [c.name, c.status]),
      ['g1-to-g2', 'g2-to-g1', 'tcp', 'on-the-wire'].map((n) => [n, 'passed']),
      JSON.stringify(checks, null, 1),
    );
    // Kernel datapath: the tunnel's packets leave through the machine's own NIC holding the address.
    t.regex(checks.find((c) => c.name === 'on-the-wire')!.what, /box-2\/eth1/);
    for (const b of ssh.boxes) t.is((await ssh.acceptedConnections(b.name)).length, 1, `connections to ${b.name} during up`);

    const down = cli(['down', lab, '--verbose']);
    t.log(down.stderr);
    t.is(down.code, 0, down.stdout + down.stderr);
    upRan = false;
    for (const b of ssh.boxes) {
      const svc = svcOf(b.name);
      t.deepEqual(await serviceBridges(svc), ADMIN, `only the admin's bridge is left on ${b.name}`);
      t.is((await svc.vsctl(['get', 'Bridge', 'br-user', 'external_ids:owner'])).trim(), 'admin');
      t.deepEqual(netnsOf(b.pid).filter((n) => n.includes(lab)), [], `no namespace of the lab on ${b.name}`);
      const links = linksIn(b.ns);
      t.deepEqual(links.filter((l) => l.ifname.startsWith(lab)), [], `no link of the lab on ${b.name}`);
      const dp = spawnSyncText(['ip', 'netns', 'exec', b.ns, 'ovs-dpctl', 'show']);
      t.notRegex(dp, new RegExp(lab), `no port of the lab in ${b.name}'s kernel datapath: ${dp}`);
      t.is((await ssh.acceptedConnections(b.name)).length, 2, `down connected once to ${b.name}`);
    }
    t.deepEqual(new StateStore(stateDir).list(), [], 'no state left');
  },
);
