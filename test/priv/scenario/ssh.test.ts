/**
 * Scenario steps on SSH hosts (fake remote machines: OpenSSH servers in namespaces,
 * test/support/sshd.ts), through the real CLI run inside the ssh client's namespace:
 *  - Linux bridges + VXLAN: `exec` runs on the machine; `set` on the machine's real NIC is
 *    undone by `down` (its old MTU back); a new VNI on a kernel end recreates the lab's device in
 *    the machine's own namespace, and `down` removes it; a guest's MTU.
 *  - The machines' own OVS services: `ovs` commands reach the service with the lab's real port
 *    names; `restart` restarts the service's vswitchd (new pid) and traffic resumes; the admin's
 *    bridges are untouched and the service is still running after `down`.
 */
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { privTest, randomLabName } from '../../support/priv.js';
import { startSshLab } from '../../support/sshd.js';
import { chainRecipe, cliIn } from '../../support/ssh-recipes.js';
import { ovsRecipe, serviceBridges, spawnSyncText, startOvsMachines } from '../../support/ssh-ovs.js';
import { show, type CheckOut } from './support.js';

const SSH = ['sshd', 'ssh', 'ssh-keygen', 'nsenter'];
const OVS_TOOLS = [...SSH, 'ovs-vswitchd', 'ovsdb-server', 'ovsdb-tool', 'ovs-vsctl', 'ovs-ofctl', 'ovs-appctl'];
const results = (stdout: string): Record<string, CheckOut> => {
  try {
    return Object.fromEntries((JSON.parse(stdout).checks as CheckOut[]).map((c) => [c.name, c]));
  } catch {
    return {};
  }
};
const mtuOf = (ns: string, dev: string) => (JSON.parse(spawnSyncText(['ip', '-n', ns, '-j', 'link', 'show', 'dev', dev])) as { mtu: number }[])[0]!.mtu;

privTest('scenario on SSH hosts (bridges, VXLAN): exec on the machine, set on its real NIC restored by down, a recreated kernel end removed by down', async (t) => {
  t.timeout(420_000);
  const ssh = await startSshLab(randomLabName('ss'), 2);
  t.teardown(() => ssh.teardown());
  const lab = randomLabName('ss');
  const stateDir = join(ssh.dir, 'state');
  const file = join(ssh.dir, 'scenario.yaml');
  writeFileSync(
    file,
    chainRecipe({ lab, hosts: 2, ssh, checks: '  - { name: base, ping: { from: g1, to: g2, count: 1 } }' }) +
      `steps:
  - { name: on-machine, exec: { on: box-2, argv: [ip, -br, addr, show, eth0], stdout: { contains: "198.51.100.12/24" } } }
  - { name: nic-mtu, set: { host: box-1, mtu: 1400 } }
  - { name: nic-mtu-seen, exec: { on: box-1, argv: [ip, -j, link, show, eth0], stdout: { contains: '"mtu":1400' } } }
  - { name: guest-mtu, set: { guest: g1, mtu: 1300 } }
  - { name: vni-150, set: { tunnel: t1, end: sw2, vni: 150 } }
  - { name: cut, ping: { from: g1, to: g2, count: 2, expect: unreachable } }
  - { name: vni-101, set: { tunnel: t1, end: sw2, vni: 101 } }
  - { name: back, wait: { until: { ping: { from: g1, to: g2, count: 1, deadline: 2 } }, timeout: 20s } }
`,
  );
  const box1 = ssh.boxes.find((b) => b.name === 'box-1')!;
  t.is(mtuOf(box1.ns, 'eth0'), 1500);
  const r = cliIn(ssh.clientNs, ['--state-dir', stateDir, 'run', '--json', file]);
  const b = results(r.stdout);
  t.is(r.code, 0, `${r.stdout}\n${r.stderr}\n${show(Object.values(b))}`);
  t.deepEqual(Object.values(b).map((x) => x.status), Object.values(b).map(() => 'passed'), show(Object.values(b)));
  // down gave the machine's NIC its MTU back, and removed every link of the lab (also the recreated tunnel end).
  t.is(mtuOf(box1.ns, 'eth0'), 1500);
  for (const x of ssh.boxes) {
    const links = JSON.parse(spawnSyncText(['ip', '-n', x.ns, '-j', 'link', 'show'])) as { ifname: string }[];
    t.deepEqual(links.filter((l) => l.ifname.startsWith(lab)), [], `no link of the lab on ${x.name}`);
  }
}, { tools: SSH });

privTest('scenario on SSH hosts (the machines\' OVS services): ovs commands with the lab\'s port names, restart of the service\'s vswitchd; the admin\'s bridges untouched', async (t) => {
  t.timeout(600_000);
  const { ssh, ovs, dir } = await startOvsMachines(t, { labPrefix: 'sv' });
  const lab = randomLabName('sv');
  const stateDir = join(dir, 'state');
  const file = join(dir, 'ovs.yaml');
  writeFileSync(
    file,
    ovsRecipe({ lab, ssh: { lab: ssh, ovs }, checks: false, ovn: false }) +
      `checks:
  - { name: base, ping: { from: g1, to: g2, count: 1 } }
steps:
  - { name: key-78, ovs: { on: sw1, vsctl: [set, Interface, t1, "options:key=78"] } }
  - { name: cut, ping: { from: g1, to: g2, count: 2, expect: unreachable } }
  - { name: key-77, ovs: { on: sw1, vsctl: [set, Interface, t1, "options:key=77"] } }
  - { name: flows, ovs: { on: sw1, ofctl: [dump-flows, --names], stdout: { contains: "actions=NORMAL" } } }
  - { name: restart-1, restart: { ovs: box-1 } }
  - { name: back, wait: { until: { ping: { from: g1, to: g2, count: 1, deadline: 2 } }, timeout: 30s } }
`,
  );
  const svc1 = ovs.find((s) => s.box === 'box-1')!;
  const pidBefore = Number(readFileSync(join(svc1.runDir, 'ovs-vswitchd.pid'), 'utf8').trim());
  const r = cliIn(ssh.clientNs, ['--state-dir', stateDir, 'run', '--json', file]);
  const b = results(r.stdout);
  t.is(r.code, 0, `${r.stdout}\n${r.stderr}\n${show(Object.values(b))}`);
  t.deepEqual(Object.values(b).map((x) => x.status), Object.values(b).map(() => 'passed'), show(Object.values(b)));
  const pidAfter = Number(readFileSync(join(svc1.runDir, 'ovs-vswitchd.pid'), 'utf8').trim());
  t.not(pidAfter, pidBefore);
  t.is(b['restart-1']!.figures.new_pid, pidAfter);
  t.truthy(spawnSyncText(['cat', `/proc/${pidAfter}/stat`]), 'the service\'s vswitchd runs after down');
  for (const s of ovs) t.deepEqual(await serviceBridges(s), { 'br-phy': { ports: ['eth1'] }, 'br-user': { ports: [] } }, `only the admin's bridges on ${s.box}`);
}, { tools: OVS_TOOLS });
