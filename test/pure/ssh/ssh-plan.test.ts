/** Issue 8 phase 2 (pure): how recipes with `ssh:` hosts are planned, routed and placed. */
import test from 'ava';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { planLab } from '../../../lib/plan/plan.js';
import { routeByHost } from '../../../lib/backends/router.js';
import type { Backend } from '../../../lib/backends/backend.js';
import type { Step } from '../../../lib/plan/ops.js';
import { sshSpecsOf, withDiscoveredUnderlay } from '../../../lib/remote/hosts.js';
import { renderOp, commandArgv } from '../../../lib/backends/iproute2/render.js';

const recipe = (ssh: boolean, extra = '') => `
lab: rem
networks: [{ name: underlay }]
hosts:
  - name: box-1
${ssh ? '    ssh: { target: root@198.51.100.11, identity: /k/id, known_hosts: /k/kh, port: 2200 }\n' : ''}    interfaces: [{ ipv4: 198.51.100.11/24 }]
  - name: box-2
${ssh ? '    ssh: root@198.51.100.12\n' : ''}    interfaces: [{ ipv4: 198.51.100.12/24 }]
switches:
  - { name: sw1, host: box-1${extra} }
  - { name: sw2, host: box-2 }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24] }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - { name: tun0, between: [sw1, sw2], type: vxlan, vni: 7 }
checks:
  - name: wire
    capture: { host: box-1, interface: underlay, during: p, expect: { vxlan.vni: 7 } }
  - name: p
    ping: { from: left, to: right }
`;

const load = (ssh: boolean, extra = '') => loadRecipeText(recipe(ssh, extra), '/r/r.yaml').lab;

test('SSH hosts: no simulated namespace or underlay; lab objects get lab-prefixed names in the host namespace, each with an explicit undo', (t) => {
  const plan = planLab(load(true));
  // Only the guests' namespaces are the lab's; no host or network namespace.
  t.deepEqual(plan.namespaces.sort(), ['gl-rem-left', 'gl-rem-right']);
  t.false(plan.steps.some((s) => s.op.op === 'netns.add' && (s.op.ns.endsWith('box-1') || s.op.ns.includes('--'))));
  const inHostNs = plan.steps.filter((s) => s.op.op === 'link.add' && s.op.ns === '');
  t.deepEqual(inHostNs.map((s) => [s.host, (s.op as { link: { name: string } }).link.name]), [
    ['box-1', 'rem-sw1'],
    ['box-2', 'rem-sw2'],
    ['box-1', 'rem-left'],
    ['box-2', 'rem-right'],
    ['box-1', 'rem-tun0'],
    ['box-2', 'rem-tun0'],
  ]);
  for (const s of inHostNs) t.deepEqual(s.undo, { op: 'link.del', ns: '', name: (s.op as { link: { name: string } }).link.name });
  // Every step is addressed to its host; the guest veth is made from the host's side.
  t.true(plan.steps.every((s) => s.host === 'box-1' || s.host === 'box-2'));
  const veth = inHostNs.find((s) => s.subject === 'guest "left"')!;
  t.deepEqual(renderOp(veth.op).map(commandArgv)[0], ['ip', 'link', 'add', 'rem-left', 'mtu', '1450', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'gl-rem-left', 'mtu', '1450']);
  const tunnel = plan.steps.find((s) => s.op.op === 'link.add' && s.op.link.kind === 'vxlan' && s.host === 'box-1')!;
  t.like((tunnel.op as { link: { vxlan: object } }).link.vxlan, { local: '198.51.100.11', remote: '198.51.100.12', vni: 7 });
});

test('the simulated plan of the same recipe is unchanged by the SSH support (namespaces for hosts and network, undo by namespace)', (t) => {
  const plan = planLab(load(false));
  t.true(plan.namespaces.includes('gl-rem-box-1') && plan.namespaces.includes('gl-rem--underlay'));
  t.true(plan.steps.filter((s) => s.op.op === 'link.add').every((s) => s.undo === null));
});

test('OVS on an SSH host is planned against the machine\'s OVS service (no daemons of ours); see test/pure/plan/ovs-ssh.test.ts', (t) => {
  const plan = planLab(load(true, ', kind: ovs'));
  t.false(plan.steps.some((s) => s.op.op === 'ovs.start'));
  t.true(plan.steps.some((s) => s.op.op === 'ovs.cmds' && s.host === 'box-1' && s.op.db === '/var/run/openvswitch/db.sock'));
});

test('SSH specs come from the placements, with client defaults', (t) => {
  t.deepEqual(sshSpecsOf(load(true), { connectTimeoutSec: 3 }), [
    { host: 'box-1', target: 'root@198.51.100.11', port: 2200, identity: '/k/id', knownHosts: '/k/kh', connectTimeoutSec: 3 },
    { host: 'box-2', target: 'root@198.51.100.12', connectTimeoutSec: 3 },
  ]);
  t.deepEqual(sshSpecsOf(load(false)), []);
});

test('discovered underlay names replace the default ones, in hosts and in capture checks', (t) => {
  const lab = load(true);
  const placed = withDiscoveredUnderlay(lab, { 'box-1': { underlay: 'enp0s8' }, 'box-2': { underlay: 'eth1' } });
  t.deepEqual(placed.hosts.map((h) => h.interfaces[0]!.ifname), ['enp0s8', 'eth1']);
  t.like(placed.checks.find((c) => c.name === 'wire'), { kind: 'capture', ifname: 'enp0s8' });
  t.is(lab.hosts[0]!.interfaces[0]!.ifname, 'underlay', 'the input is not modified');
  t.deepEqual(withDiscoveredUnderlay(placed, { 'box-1': { underlay: 'enp0s8' } }).hosts, placed.hosts, 'idempotent');
});

test('the router hands each run of consecutive same-host steps to that host backend, in order', async (t) => {
  const calls: string[] = [];
  const fake = (name: string): Backend => ({
    name,
    async execute(steps) {
      calls.push(`${name}:${steps.map((s) => s.id).join(',')}`);
    },
    async run(step) {
      calls.push(`${name}.run:${step.id}`);
    },
    async close() {
      calls.push(`${name}.close`);
    },
  });
  const a = fake('a');
  const b = fake('b');
  const local = fake('local');
  const r = routeByHost(local, (h) => (h === 'box-1' ? a : h === 'box-2' ? b : undefined), async () => {
    calls.push('remotes.close');
  });
  const step = (id: number, host?: string): Step => ({ id, subject: 's', op: { op: 'netns.del', ns: 'x' }, undo: null, ...(host ? { host } : {}) });
  await r.execute([step(1), step(2, 'box-1'), step(3, 'box-1'), step(4, 'box-2'), step(5, 'box-1'), step(6, 'sim')], { intent: async () => {}, done: () => {} });
  await r.run(step(7, 'box-2'));
  await r.close();
  t.deepEqual(calls, ['local:1', 'a:2,3', 'b:4', 'a:5', 'local:6', 'b.run:7', 'local.close', 'remotes.close']);
  t.is(r.name, 'local');
});

test('steps that are all on SSH hosts run per host at the same time; the lowest failing step is reported', async (t) => {
  const { StepFailed } = await import('../../../lib/backends/backend.js');
  const log: string[] = [];
  let open = 0;
  let maxOpen = 0;
  const fake = (name: string, failAt?: number): Backend => ({
    name,
    async execute(steps, hooks) {
      open++;
      maxOpen = Math.max(maxOpen, open);
      try {
        for (const s of steps) {
          await new Promise((r) => setTimeout(r, 5));
          if (s.id === failAt) throw new StepFailed(s, new Error('boom'));
          log.push(`${name}:${s.id}`);
          await hooks.done(s, 1);
        }
      } finally {
        open--;
      }
    },
    async run() {},
    async close() {},
  });
  const step = (id: number, host: string): Step => ({ id, subject: 's', op: { op: 'netns.del', ns: 'x' }, undo: null, host });
  const steps = [step(1, 'box-1'), step(2, 'box-2'), step(3, 'box-1'), step(4, 'box-2'), step(5, 'box-2')];
  const done: number[] = [];
  const hooks = { intent: async () => {}, done: (s: Step) => void done.push(s.id) };
  const ok = routeByHost(fake('local'), (h) => (h === 'box-1' ? a : h === 'box-2' ? b : undefined), async () => {});
  const a = fake('a');
  const b = fake('b');
  await ok.execute(steps, hooks);
  t.is(maxOpen, 2, 'both hosts were being built at once');
  t.deepEqual(log.filter((l) => l.startsWith('a')), ['a:1', 'a:3']);
  t.deepEqual(log.filter((l) => l.startsWith('b')), ['b:2', 'b:4', 'b:5']);

  const c = fake('c', 3);
  const d = fake('d', 4);
  const failing = routeByHost(fake('local'), (h) => (h === 'box-1' ? c : d), async () => {});
  done.length = 0;
  const e = await t.throwsAsync(failing.execute(steps, hooks));
  t.is((e as InstanceType<typeof StepFailed>).step.id, 3);
  t.deepEqual(done.sort(), [1, 2], 'steps completed on either host before their failure were reported');
});
