/**
 * The scenario runner (lib/scenario/run.ts) against a fake executor and a fake runtime recorder:
 * order, stop at the first failure with later steps `skipped`, events, step hooks, the mutation
 * mark, what `set` records (in place vs recreate, what earlier steps changed), wait's attempts.
 * The real thing runs in test/priv/scenario and test/vm/scenario.
 */
import test from 'ava';
import { contextFromLab } from '../../../lib/checks/context.js';
import { EventBus, type LabEvent } from '../../../lib/engine/events.js';
import type { RuntimeDraft } from '../../../lib/engine/runtime.js';
import type { Background, Executor, RunResult } from '../../../lib/exec/executor.js';
import type { Lab } from '../../../lib/model/types.js';
import { linkChangeArgs, type Step } from '../../../lib/plan/ops.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { scenarioContext, type RuntimeApplier } from '../../../lib/scenario/context.js';
import { registerStepHook } from '../../../lib/scenario/hooks.js';
import { runScenario } from '../../../lib/scenario/run.js';
import { fixture } from '../checks/fixtures.js';

/** Answers ping from fixtures (failing while `pingFails` > 0), true/false, OVS tools; logs every argv. */
class Fake implements Executor {
  readonly where = 'local';
  log: string[] = [];
  pingFails = 0;
  /** `ip -d -j link show dev NAME` answers. */
  links: Record<string, unknown> = {};
  /** rx_packets of every link (`ip -s -s -j link show`): each `echo` run adds one, as if it sent a frame. */
  rxPackets = 0;
  async run(argv: readonly string[]): Promise<RunResult> {
    this.log.push(argv.join(' '));
    const a = argv[0] === 'ip' && argv[1] === 'netns' ? argv.slice(4) : argv;
    const ok = (stdout = '', exitCode = 0, stderr = ''): RunResult => ({ argv: [...argv], exitCode, stdout, stderr, durationMs: 1, timedOut: false });
    if (a[0] === 'ping') {
      if (this.pingFails > 0) {
        this.pingFails--;
        return ok(fixture('ping-hostunreach.stdout'), 1, fixture('ping-hostunreach.stderr'));
      }
      return ok(fixture('ping-ok.stdout'));
    }
    if (a[0] === 'ip' && a[1] === '-d' && a[2] === '-j') {
      const l = this.links[a[a.length - 1]!];
      return l ? ok(JSON.stringify([l])) : ok('', 1, `Device "${a[a.length - 1]}" does not exist.`);
    }
    if (a[0] === 'ip' && a[1] === '-s' && a[2] === '-s') return ok(JSON.stringify([{ ifname: a[a.length - 1], stats64: { rx: { packets: this.rxPackets }, tx: { packets: 0 } } }]));
    if (a[0] === 'true') return ok();
    if (a[0] === 'false') return ok('', 1, 'nope');
    if (a[0] === 'echo') {
      this.rxPackets++;
      return ok(a.slice(1).join(' ') + '\n');
    }
    if (a[0]?.startsWith('ovs-')) return ok('NXST_FLOW reply:\n cookie=0x0, actions=NORMAL\n');
    return ok('', 127, `${a[0]}: not faked`);
  }
  start(): Background {
    throw new Error('not faked');
  }
}

class FakeRuntime implements RuntimeApplier {
  calls: RuntimeDraft[][] = [];
  marks: string[] = [];
  order: string[] = [];
  async applyRuntime(_lab: string, drafts: RuntimeDraft[], opts?: { run?: (s: Step) => Promise<void> }): Promise<Step[]> {
    this.calls.push(drafts);
    this.order.push(`apply ${drafts.length}`);
    const steps = drafts.map((d, i) => ({ ...d, id: 100 + i }));
    if (opts?.run) for (const s of steps) await opts.run(s);
    return steps;
  }
  markMutated(_lab: string, why: string): void {
    this.marks.push(why);
    this.order.push(`mark ${why}`);
  }
}

function scenario(steps: string, tunnels = '  - { name: tun0, between: [sw1, sw2], vni: 5 }\n  - { name: k0, between: [br1, br2], vni: 9 }'): Lab {
  return loadRecipeText(`lab: rt
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24 }], ovs: { log: { gate: false } } }   # the log gate has its own tests
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24 }], ovs: { log: { gate: false } } }
switches:
  - { name: sw1, host: box-1, kind: ovs }
  - { name: sw2, host: box-2, kind: ovs }
  - { name: br1, host: box-1 }
  - { name: br2, host: box-2 }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24] }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
${tunnels}
checks:
  - { name: base, ping: { from: left, to: right } }
steps:
${steps}
`, 'rt.yaml').lab;
}

function setup(lab: Lab) {
  const fake = new Fake();
  const runtime = new FakeRuntime();
  const ctx = scenarioContext(contextFromLab(lab, fake), { runtime, execFor: () => fake, runRoot: '/run/gl-test' });
  const bus = new EventBus();
  const events: LabEvent[] = [];
  bus.on((e) => events.push(e));
  return { fake, runtime, ctx, bus, events };
}

test('checks first, then steps in order; the first failure stops the scenario, later steps are skipped with the reason', async (t) => {
  const lab = scenario(`  - { name: one, exec: { on: left, argv: ["true"] } }
  - { name: probe, ping: { from: left, to: right } }
  - { name: bad, exec: { on: right, argv: ["false"] } }
  - { name: later, sleep: 10ms }
  - checks: [{ name: g1, ping: { from: left, to: right } }, { name: g2, ping: { from: right, to: left } }]
`);
  const { ctx, bus, events, runtime } = setup(lab);
  const results = await runScenario(lab, ctx, bus);
  t.deepEqual(results.map((r) => [r.name, r.kind, r.status]), [
    ['base', 'ping', 'passed'],
    ['one', 'exec', 'passed'],
    ['probe', 'ping', 'passed'],
    ['bad', 'exec', 'failed'],
    ['later', 'sleep', 'skipped'],
    ['g1', 'ping', 'skipped'],
    ['g2', 'ping', 'skipped'],
  ]);
  for (const r of results.slice(4)) t.is(r.message, 'not run: step "bad" failed');
  t.regex(results[3]!.message!, /^false in netns gl-rt-right:\n {2}exit code: expected 0, observed 1\n {2}output: nope$/);
  t.deepEqual((results[3]!.details as { assertions: unknown[] }).assertions, [{ field: 'exit code', expected: '0', observed: '1', ok: false }]);
  // Events: actions announce themselves; every result (skipped too) is a check-done.
  const seq = events.filter((e) => e.type === 'action-start' || e.type === 'check-done').map((e) => (e.type === 'action-start' ? `start ${e.step.name}` : `done ${e.result.name} ${e.result.status}`));
  t.deepEqual(seq, ['done base passed', 'start one', 'done one passed', 'done probe passed', 'start bad', 'done bad failed', 'done later skipped', 'done g1 skipped', 'done g2 skipped']);
  // exec may change the lab: marked before it ran, skipped steps do not mark.
  t.deepEqual(runtime.marks, ['step "one"', 'step "bad"']);
});

test('a group\'s actions run among its checks: a counter measures an action (read before, action, read after); results, events, mutation mark, skips', async (t) => {
  const lab = scenario(`  - checks:
      - { name: send, exec: { on: left, argv: [echo, hi] } }
      - { name: rx, counter: { on: right, link: eth0, field: rx_packets, equals: 1, during: send } }
      - { name: p, ping: { from: left, to: right } }
  - checks:
      - { name: quiet, sleep: 10ms }
      - { name: none, counter: { on: right, link: eth0, field: rx_packets, equals: 1, during: quiet } }
  - checks:
      - { name: never-sent, exec: { on: left, argv: [echo, again] } }
      - { name: never-counted, counter: { on: right, link: eth0, field: rx_packets, min: 0, during: never-sent } }
`);
  const { ctx, bus, events, runtime, fake } = setup(lab);
  const results = await runScenario(lab, ctx, bus);
  t.deepEqual(results.map((r) => [r.name, r.kind, r.status]), [
    ['base', 'ping', 'passed'],
    ['send', 'exec', 'passed'],
    ['rx', 'counter', 'passed'],
    ['p', 'ping', 'passed'],
    ['quiet', 'sleep', 'passed'],
    ['none', 'counter', 'failed'],
    ['never-sent', 'exec', 'skipped'],
    ['never-counted', 'counter', 'skipped'],
  ]);
  t.like(results[2]!.figures, { delta: 1 });
  t.like(results[5]!.figures, { delta: 0 });
  // The counter's readings come right before and right after the action, nothing of the group's ping between them.
  const reads = fake.log.map((x, i) => [x, i] as const).filter(([x]) => x.includes('-s -s -j link') || x.includes(' echo hi') || / ping /.test(` ${x} `));
  const order = reads.map(([x]) => (x.includes('-s -s') ? 'read' : x.includes('echo') ? 'echo' : 'ping'));
  t.deepEqual(order.slice(order.indexOf('read'), order.indexOf('read') + 3), ['read', 'echo', 'read'], order.join(' '));
  // Events: the action announces itself, inside the counter that wraps it.
  const seq = events.filter((e) => e.type === 'action-start' || e.type === 'check-start' || e.type === 'check-done').map((e) => (e.type === 'action-start' ? `start ${e.step.name}` : e.type === 'check-start' ? `start ${e.check.name}` : `done ${e.result.name}`));
  t.deepEqual(seq.slice(seq.indexOf('start rx'), seq.indexOf('start rx') + 4), ['start rx', 'start send', 'done send', 'done rx']);
  // A group with an action that may change the lab marks it; a sleep does not.
  t.deepEqual(runtime.marks, ['step "checks send, rx, p"']);
});

test.serial('step hooks: prepare for every check of the kind anywhere, onStepDone after each step that ran, in order', async (t) => {
  const lab = scenario(`  - { name: s1, sleep: 1ms }
  - { name: s2, ping: { from: left, to: right } }
  - checks: [{ name: g1, ping: { from: left, to: right } }]
  - { name: w, wait: { until: { name: u, ping: { from: left, to: right } } } }
  - { name: s3, exec: { on: left, argv: ["false"] } }
  - { name: s4, sleep: 1ms }
`);
  const prepared: string[] = [];
  const seen: string[] = [];
  const off = registerStepHook('ping', {
    prepare(check) {
      prepared.push(check.name);
      return check.name === 'g1' ? { onStepDone: (step, rs) => void seen.push(`${step}:${rs.map((r) => r.status).join(',')}`) } : undefined;
    },
  });
  t.teardown(off);
  const { ctx, bus } = setup(lab);
  await runScenario(lab, ctx, bus);
  t.deepEqual(prepared, ['base', 's2', 'g1', 'u']);
  t.deepEqual(seen, ['s1:passed', 's2:passed', 'checks g1:passed', 'w:passed', 's3:failed']);
});

test.serial('an observer that throws is a warning, not the end of the scenario', async (t) => {
  const lab = scenario(`  - { name: s1, sleep: 1ms }
  - { name: s2, sleep: 1ms }
`);
  const off = registerStepHook('ping', { prepare: () => ({ onStepDone: () => { throw new Error('snapshot failed'); } }) });
  t.teardown(off);
  const { ctx, bus, events } = setup(lab);
  const rs = await runScenario(lab, ctx, bus);
  t.deepEqual(rs.map((r) => r.status), ['passed', 'passed', 'passed']);
  t.true(events.some((e) => e.type === 'notice' && e.message === 'after step "s1": snapshot failed'));
});

test('wait: retries until the check passes, with attempts; gives up at the timeout with the last attempt\'s reason', async (t) => {
  const lab = scenario(`  - { name: w, wait: { until: { ping: { from: left, to: right } }, timeout: 2s, every: 10ms } }
  - { name: w2, wait: { until: { ping: { from: left, to: right } }, timeout: 100ms, every: 40ms } }
`);
  const { ctx, bus, fake } = setup(lab);
  fake.pingFails = 0;
  const base = await runScenario({ ...lab, steps: [] }, ctx, bus);
  t.is(base[0]!.status, 'passed');
  fake.pingFails = 2;
  const [w] = await runScenario({ ...lab, checks: [], steps: [lab.steps![0]!] }, ctx, bus);
  t.is(w!.status, 'passed');
  t.is(w!.figures.attempts, 3);
  fake.pingFails = 100;
  const [w2] = await runScenario({ ...lab, checks: [], steps: [lab.steps![1]!] }, ctx, bus);
  t.is(w2!.status, 'failed');
  t.is(w2!.figures.attempts, 3);
  t.regex(w2!.message!, /^ping "ping left→right #2" still not passing after 3 attempts in \d+ms \(timeout 100ms\); last attempt: /);
});

test('ovs: argv against the host\'s own instance; writes go through the runtime recorder, reads run directly; stdout is asserted', async (t) => {
  const lab = scenario(`  - { name: add, ovs: { on: sw1, ofctl: [add-flow, "in_port=left,actions=drop"] } }
  - { name: dump, ovs: { on: sw1, ofctl: [dump-flows], stdout: { contains: "actions=NORMAL" } } }
  - { name: nope, ovs: { on: sw1, ofctl: [dump-flows], stdout: { contains: "actions=drop" } } }
`);
  const { ctx, bus, fake, runtime } = setup(lab);
  const rs = await runScenario({ ...lab, checks: [] }, ctx, bus);
  t.deepEqual(rs.map((r) => r.status), ['passed', 'passed', 'failed']);
  t.deepEqual(fake.log.filter((l) => l.startsWith('ovs-')), ['ovs-ofctl --timeout=10 add-flow sw1 in_port=left,actions=drop', 'ovs-ofctl --timeout=10 dump-flows sw1', 'ovs-ofctl --timeout=10 dump-flows sw1']);
  t.is(runtime.calls.length, 1);
  t.like(runtime.calls[0]![0]!, { host: 'box-1', undo: null, op: { op: 'ovs.cmds', ns: 'gl-rt-box-1', runDir: '/run/gl-test/rt/ovs-box-1', lab: 'rt', cmds: [{ tool: 'ofctl', args: ['add-flow', 'sw1', 'in_port=left,actions=drop'] }] } });
  t.regex(rs[2]!.message!, /stdout: expected contains "actions=drop", observed "NXST_FLOW reply/);
  t.deepEqual(runtime.marks, ['step "add"'], 'reading commands do not mark the lab mutated');
});

test('set: guest and OVS end in place; a kernel end recreated for a new VNI with what the live device has; ttl in place (changelink)', async (t) => {
  const lab = scenario(`  - set: { guest: left, mtu: 1300, offloads: { tso: off } }
  - set: { tunnel: tun0, end: sw2, vni: 6, mtu: 1400 }
  - set: { tunnel: k0, end: br2, ttl: 9 }
  - set: { tunnel: k0, end: br2, vni: 10 }
`);
  const { ctx, bus, runtime, fake } = setup(lab);
  // The live device, as `ip -d -j` reports it after the ttl step (the recorder here applies nothing).
  fake.links.k0 = { ifname: 'k0', mtu: 1450, linkinfo: { info_kind: 'geneve', info_data: { id: 9, remote: '192.0.2.11', ttl: 9, df: 'unset', port: 6081 } } };
  const rs = await runScenario({ ...lab, checks: [] }, ctx, bus);
  t.deepEqual(rs.map((r) => r.status), ['passed', 'passed', 'passed', 'passed']);
  const ops = runtime.calls.map((c) => c.map((d) => d.op));
  t.deepEqual(ops[0], [
    { op: 'link.set', ns: 'gl-rt-left', name: 'eth0', mtu: 1300 },
    { op: 'offload.set', ns: 'gl-rt-left', dev: 'eth0', features: { tso: false } },
  ]);
  t.like(ops[1]![0], { op: 'ovs.cmds', cmds: [{ tool: 'vsctl', args: ['set', 'Interface', 'tun0', 'options:key=6', 'mtu_request=1400'] }] });
  t.deepEqual(ops[2], [{ op: 'link.change', ns: 'gl-rt-box-2', name: 'k0', kind: 'geneve', change: { ttl: 9 }, keep: { id: 9 } }]);
  t.deepEqual(linkChangeArgs(ops[2]![0] as Extract<Step['op'], { op: 'link.change' }>), ['link', 'set', 'dev', 'k0', 'type', 'geneve', 'id', '9', 'ttl', '9']);
  t.deepEqual(ops[3]!.map((o) => o.op), ['link.del', 'link.add', 'link.set', 'link.set']);
  const add = ops[3]![1] as Extract<Step['op'], { op: 'link.add' }>;
  t.like(add.link, { kind: 'geneve', name: 'k0', mtu: 1450, geneve: { vni: 10, ttl: 9, dstport: 6081, df: 'unset', remote: '192.0.2.11' } });
  t.deepEqual(ops[3]![2], { op: 'link.set', ns: 'gl-rt-box-2', name: 'k0', master: 'br2' });
  t.true(runtime.calls.flat().every((d) => d.undo === null), 'objects the lab made need no undo: they go with their namespace');
  t.regex(runtime.calls[3]![0]!.subject, /^step "set k0 br2: vni=10": tunnel "k0" end 2$/);
});

test('a step cancelled by the run\'s signal: the rest is not run', async (t) => {
  const lab = scenario(`  - { name: s1, sleep: 1s }
  - { name: s2, sleep: 1ms }
`);
  const { ctx, bus } = setup(lab);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const rs = await runScenario({ ...lab, checks: [] }, { ...ctx, signal: ac.signal }, bus);
  t.deepEqual(rs.map((r) => [r.status, r.message]), [['error', 'cancelled during the pause'], ['skipped', 'not run: step "s1" failed']]);
});

test('parseLiveTunnel: what iproute2 reports of a live device (real output), in recipe terms', async (t) => {
  const { parseLiveTunnel } = await import('../../../lib/scenario/actions/set.js');
  // ip -d -j link show of `vxlan id 5 dstport 4790 ttl 9 tos 0x20 df set mtu 1400` (Linux 6.x, iproute2 6.x)
  const vx = '[{"ifindex":2,"ifname":"vx0","mtu":1400,"linkinfo":{"info_kind":"vxlan","info_data":{"id":5,"remote":"192.0.2.1","port_range":{"low":0,"high":0},"port":4790,"learning":true,"tos":"0x20","ttl":9,"df":"set","ageing":300,"udp_csum":true}}}]';
  t.deepEqual(parseLiveTunnel(vx), { mtu: 1400, vni: 5, dstport: 4790, ttl: 9, tos: 0x20, df: 'set' });
  // `tos inherit ttl inherit`: tos is kept as 1 (printed 0x1), ttl not printed.
  const inh = '[{"mtu":1500,"linkinfo":{"info_kind":"vxlan","info_data":{"id":6,"port":4789,"tos":"0x1","df":"unset"}}}]';
  t.deepEqual(parseLiveTunnel(inh), { mtu: 1500, vni: 6, dstport: 4789, tos: 'inherit', df: 'unset' });
});
