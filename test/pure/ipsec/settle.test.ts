/**
 * `up` calls IPsec ready only when it will stay ready: it waits for each host's ovs-monitor-ipsec
 * to have configured every PSK port (its refreshes tear SAs down: lib/ipsec/monitor.ts) before
 * any SA is brought up, and an SA counts once it has stayed installed (await.ts STABLE_MS).
 * Against scripted `tunnels/show` and `ipsec status` outputs; the VM tier runs the real thing
 * (test/vm/ipsec/ipsec.test.ts, two tunnels on one OVS host).
 */
import test from 'ava';
import type { Executor, RunResult } from '../../../lib/exec/executor.js';
import { awaitMonitor, monitorShowArgv, parseMonitorTunnels } from '../../../lib/ipsec/monitor.js';
import { awaitSas, STABLE_MS } from '../../../lib/ipsec/await.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { planLab } from '../../../lib/plan/plan.js';
import { renderShell } from '../../../lib/backends/iproute2/render.js';

/** An executor answering each `run` with the next scripted reply (the last one repeats); every argv is recorded. */
function scripted(replies: Partial<RunResult>[]) {
  const calls: string[][] = [];
  let i = 0;
  const exec: Executor = {
    where: 'local',
    async run(argv) {
      calls.push([...argv]);
      const r = replies[Math.min(i++, replies.length - 1)]!;
      return { argv: [...argv], exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false, ...r };
    },
    start() {
      throw new Error('not used');
    },
  };
  return { exec, calls };
}

/** A clock the awaited pauses advance: no real waiting. */
function fakeClock() {
  let t = 0;
  return { now: () => t, pause: async (ms: number) => void (t += ms) };
}

const show = (...tunnels: [string, number, string][]) =>
  tunnels
    .map(([port, v, state]) => `Interface name: ${port} v${v} (${state})\n  Tunnel Type:    geneve\n  Remote IP:      192.0.2.12\n  PSK:            <hidden>\nKernel policies installed:\nKernel security associations installed:\nIPsec connections that are active:\n\n`)
    .join('');

test('tunnels/show parsed: port, version, state (INVALID carries its reason)', (t) => {
  t.deepEqual(parseMonitorTunnels(show(['gnv4', 1, 'CONFIGURED'], ['gnv6', 2, 'INVALID: remote_ip is not set'])), [
    { port: 'gnv4', version: 1, state: 'CONFIGURED' },
    { port: 'gnv6', version: 2, state: 'INVALID: remote_ip is not set' },
  ]);
  t.deepEqual(parseMonitorTunnels('No tunnels configured with IPsec'), []);
});

test('the lab\'s monitor is asked through its own run directory, in the host\'s namespace; a machine\'s own service at its default', (t) => {
  t.deepEqual(monitorShowArgv({ ns: 'gl-x-box-1', ipsecDir: '/run/gl/run/x/ipsec-box-1' }), ['ip', 'netns', 'exec', 'gl-x-box-1', 'env', 'OVS_RUNDIR=/run/gl/run/x/ipsec-box-1', 'ovs-appctl', '-t', 'ovs-monitor-ipsec', 'tunnels/show']);
  t.deepEqual(monitorShowArgv({ ns: '' }), ['ovs-appctl', '-t', 'ovs-monitor-ipsec', 'tunnels/show']);
});

test('the monitor wait ends only once every port is CONFIGURED (a port taken in later, a port still INVALID)', async (t) => {
  const { exec, calls } = scripted([{ stdout: 'No tunnels configured with IPsec' }, { stdout: show(['gnv4', 1, 'CONFIGURED']) }, { stdout: show(['gnv4', 1, 'CONFIGURED'], ['gnv6', 1, 'CONFIGURED']) }]);
  const clock = fakeClock();
  const r = await awaitMonitor({ exec, ns: 'n', ipsecDir: '/d' }, ['gnv4', 'gnv6'], 60_000, clock.now, clock.pause);
  t.true(r.configured);
  t.is(calls.length, 3, 'asked until both ports were there');

  const stuck = scripted([{ stdout: show(['gnv4', 1, 'CONFIGURED'], ['gnv6', 3, 'INVALID: local_ip is not set']) }]);
  const c2 = fakeClock();
  const r2 = await awaitMonitor({ exec: stuck.exec, ns: 'n', ipsecDir: '/d' }, ['gnv4', 'gnv6', 'gnv9'], 5000, c2.now, c2.pause);
  t.false(r2.configured);
  t.is(r2.reason, 'port "gnv6" is INVALID: local_ip is not set; port "gnv9" not taken in yet');
  t.true(c2.now() >= 5000, 'waited the whole timeout');
});

test('a monitor that cannot be asked ends the wait at once, saying why', async (t) => {
  const { exec, calls } = scripted([{ exitCode: 1, stderr: 'ovs-appctl: cannot read pidfile "/var/run/openvswitch/ovs-monitor-ipsec.pid" (No such file or directory)' }]);
  const r = await awaitMonitor({ exec, ns: '' }, ['gnv4'], 60_000);
  t.false(r.configured);
  t.is(calls.length, 1);
  t.regex(r.reason!, /tunnels\/show: ovs-appctl: cannot read pidfile/);
});

const status = (...children: [string, number, string, string][]) =>
  [
    'Routed Connections:',
    ...children.map(([conn]) => `${conn}{1}:  ROUTED, TRANSPORT, reqid 1`),
    'Security Associations (1 up, 0 connecting):',
    'gnv4-in-1[2]: ESTABLISHED 2 seconds ago, 192.0.2.11[192.0.2.11]...192.0.2.12[192.0.2.12]',
    ...children.map(([conn, id, i, o]) => `${conn}{${id}}:  INSTALLED, TRANSPORT, reqid 2, ESP SPIs: ${i}_i ${o}_o`),
  ].join('\n');

const spec = { tunnel: 'gnv4', local: '192.0.2.11', remote: '192.0.2.12', sel: { proto: 'udp' as const, dport: 6081 }, conns: { ovsPort: 'gnv4' }, timeoutMs: 60_000 };

test('an SA counts as established once the same SPIs have stayed installed, not when a replaced one is still listed', async (t) => {
  const first = status(['gnv4-in-1', 3, 'c251ef6e', 'ca0f2b45'], ['gnv4-out-1', 4, 'c1314c35', 'cc26d799']);
  const renewed = status(['gnv4-in-1', 7, 'c3cd29ad', 'c1995281'], ['gnv4-out-1', 8, 'c6ea6350', 'c3338bc9']);
  // Polled every 250 ms: the first SAs are listed twice, then replaced (a monitor refresh), then stay.
  const { exec } = scripted([{ stdout: first }, { stdout: first }, { stdout: renewed }]);
  const clock = fakeClock();
  const r = await awaitSas({ exec, ns: 'n', ipsecDir: '/d' }, spec, clock.now, clock.pause);
  t.true(r.established);
  t.deepEqual(
    r.children.map((c) => c.spis!.in.toString(16)),
    ['c3cd29ad', 'c6ea6350'],
    'the SAs that stayed, not the ones replaced',
  );
  t.true(clock.now() >= 500 + STABLE_MS, `established only after the renewed SAs had stayed ${STABLE_MS} ms`);
});

test('SAs replaced again and again until the deadline: not established, and the reason says so', async (t) => {
  let n = 0;
  const exec: Executor = {
    where: 'local',
    async run(argv) {
      const stdout = argv.includes('status') ? status(['gnv4-in-1', ++n, (0xc0000000 + n).toString(16), 'ca0f2b45'], ['gnv4-out-1', 1000 + n, 'c1314c35', 'cc26d799']) : '';
      return { argv: [...argv], exitCode: 0, stdout, stderr: '', durationMs: 1, timedOut: false };
    },
    start() {
      throw new Error('not used');
    },
  };
  const clock = fakeClock();
  const r = await awaitSas({ exec, ns: 'n', ipsecDir: '/d' }, { ...spec, timeoutMs: 5000 }, clock.now, clock.pause);
  t.false(r.established);
  t.regex(r.reason!, /installed but kept being replaced/);
});

test('the plan: each host\'s monitor has taken in all of its PSK ports before the first SA is brought up', (t) => {
  const text = `lab: two
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24, ipv6: "2001:db8::11/64" }] }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24, ipv6: "2001:db8::12/64" }] }
switches:
  - { name: ovs4, host: box-1, kind: ovs }
  - { name: br4, host: box-2 }
  - { name: ovs6, host: box-1, kind: ovs }
  - { name: br6, host: box-2 }
tunnels:
  - { name: gnv4, between: [ovs4, br4], type: geneve, vni: 104, ipsec: { psk: k4 } }
  - { name: gnv6, between: [ovs6, br6], type: geneve, vni: 106, family: ipv6, ipsec: { psk: k6 } }
`;
  const plan = planLab(loadRecipeText(text, 'r.yaml').lab, { autoDatapath: 'system', runRoot: '/run/gl/run' });
  const seq = plan.steps.map((s) => `${s.host} ${s.op.op}`).filter((x) => /ipsec\.(psk|monitor|await)/.test(x));
  t.deepEqual(seq, ['box-1 ipsec.psk', 'box-1 ipsec.psk', 'box-1 ipsec.monitor', 'box-1 ipsec.await', 'box-1 ipsec.await'], 'box-2 has kernel ends only: no monitor');
  const m = plan.steps.find((s) => s.op.op === 'ipsec.monitor')!;
  t.like(m.op, { op: 'ipsec.monitor', ns: 'gl-two-box-1', ipsecDir: '/run/gl/run/two/ipsec-box-1', ports: ['gnv4', 'gnv6'] });
  t.is(m.undo, null);
  t.regex(renderShell(plan.steps), /ip netns exec gl-two-box-1 env OVS_RUNDIR=\/run\/gl\/run\/two\/ipsec-box-1 ovs-appctl -t ovs-monitor-ipsec tunnels\/show\n: 'geneve-lab repeats this until ovs-monitor-ipsec lists gnv4, gnv6 as CONFIGURED/);
});
