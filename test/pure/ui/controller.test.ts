/**
 * The engine's Controller (lib/engine/controller.ts) without a kernel: a fake engine and a fake
 * executor stand in for the system; the real thing is proven by test/priv/ui/tui-e2e.test.ts.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initialUiState, uiReducer } from '../../../lib/ui/state.js';
import { EventBus, type LabEvent } from '../../../lib/engine/events.js';
import { EngineController, captureInterface, stepLogLines, summarizePacket, summarizePackets, trafficPair, type EngineLike } from '../../../lib/engine/controller.js';
import { contextFromLab } from '../../../lib/checks/context.js';
import type { Executor, RunOptions, RunResult } from '../../../lib/exec/executor.js';
import type { LabState } from '../../../lib/engine/state.js';
import type { RunningCapture } from '../../../lib/checks/capture.js';
import type { Check, Lab } from '../../../lib/model/types.js';
import type { CheckResult } from '../../../lib/checks/result.js';
import type { CounterSample } from '../../../lib/stats/linkstats.js';
import { decodeFrame } from '../../../lib/wire/decode.js';
import { OpError } from '../../../lib/errors.js';
import { buildFrame } from '../wire/frame-builder.js';
import { sampleLab, samplePlan, pingPassed } from './fixtures/lab.js';

/**
 * Where a test's TUI captures go: its own temporary directory. Without it the controller makes
 * <state dir>/run/LAB/captures, and the fake engine's state directory is a path under /run that
 * no test owns (a pure test once left /run/gl-test behind on the machine).
 */
function captureRoot(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'gl-ctl-captures-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const ok = (argv: readonly string[], stdout = ''): RunResult => ({ argv: [...argv], exitCode: 0, stdout, stderr: '', durationMs: 1, timedOut: false });

/** An executor that answers by argv and records every call. */
class FakeExec implements Executor {
  readonly where = 'local';
  calls: string[][] = [];
  constructor(private answer: (argv: readonly string[], opts?: RunOptions) => RunResult = (a) => ok(a)) {}
  async run(argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
    this.calls.push([...argv]);
    return this.answer(argv, opts);
  }
  start(): never {
    throw new Error('FakeExec.start is not used by these tests');
  }
}

/** A fake engine whose recorded lab is in `phase` (null: no lab recorded, i.e. not up). */
function fakeEngine(lab: Lab, exec: Executor = new FakeExec(), phase: LabState['phase'] | null = 'up') {
  const bus = new EventBus();
  const calls: string[] = [];
  const state: { phase: LabState['phase'] | undefined } = { phase: phase ?? undefined };
  const engine: EngineLike & { calls: string[]; state: { phase: LabState['phase'] | undefined }; downResult: { undone: number; failures: never[] | { subject: string; request: string }[]; found: boolean } } = {
    exec,
    bus,
    calls,
    state,
    downResult: { undone: 3, failures: [], found: true },
    store: { dir: '/run/gl-test', read: () => (state.phase ? ({ ...state } as LabState) : undefined) },
    async up(l: Lab) {
      calls.push(`up:${l.name}`);
      state.phase = 'up';
    },
    async down(name: string) {
      calls.push(`down:${name}`);
      return engine.downResult as never;
    },
  };
  return engine;
}

const events = (bus: EventBus) => {
  const seen: LabEvent[] = [];
  bus.on((e) => seen.push(e));
  return seen;
};

test('up runs the preflight, then engine.up with the lab; a failure rejects with the engine error', async (t) => {
  const lab = sampleLab();
  const engine = fakeEngine(lab, undefined, null);
  const order: string[] = [];
  const c = new EngineController(lab, engine, { preflight: async (l) => void order.push(`preflight:${l.name}`) });
  await c.up();
  t.deepEqual([...order, ...engine.calls], ['preflight:quick', 'up:quick']);

  const failing = new EngineController(lab, { ...engine, up: async () => Promise.reject(new Error('step 4 failed: RTNETLINK answers: File exists')) });
  await t.throwsAsync(failing.up(), { message: /step 4 failed: RTNETLINK answers: File exists/ });
  const refused = new EngineController(lab, engine, { preflight: async () => Promise.reject(new Error('tcpdump is not installed')) });
  await t.throwsAsync(refused.up(), { message: /tcpdump is not installed/ });
});

test('one action at a time: a second one is refused, naming the one that runs', async (t) => {
  const lab = sampleLab();
  let release!: () => void;
  const engine = { ...fakeEngine(lab), up: () => new Promise<void>((r) => (release = r)) };
  const c = new EngineController(lab, engine);
  const first = c.up();
  await t.throwsAsync(c.down(), { message: /cannot start down: up is still running/ });
  await t.throwsAsync(c.runChecks(), { message: /up is still running/ });
  release();
  await first;
  await t.notThrowsAsync(c.down());
});

test('down: nothing to remove is a notice; objects left behind are an error naming them', async (t) => {
  const lab = sampleLab();
  const engine = fakeEngine(lab);
  const c = new EngineController(lab, engine);
  const seen = events(engine.bus);
  await c.down();
  t.deepEqual(engine.calls, ['down:quick']);
  engine.downResult = { undone: 0, failures: [], found: false };
  await c.down();
  t.true(seen.some((e) => e.type === 'notice' && /not up: nothing to remove/.test(e.message)));
  engine.downResult = { undone: 1, failures: [{ subject: 'namespace gl-quick-box-1', request: 'netns.del gl-quick-box-1' }], found: true };
  await t.throwsAsync(c.down(), { message: /1 object\(s\) could not be removed: namespace gl-quick-box-1/ });
});

test('runChecks refuses a lab that is not up, else runs every check between checks-phase events', async (t) => {
  const lab = sampleLab();
  const engine = fakeEngine(lab, undefined, null);
  const ran: string[][] = [];
  const c = new EngineController(lab, engine, {
    runChecks: async (checks: Check[], _ctx, bus) => {
      ran.push(checks.map((x) => x.name));
      bus.emit({ type: 'check-done', result: pingPassed });
      return [pingPassed];
    },
  });
  await t.throwsAsync(c.runChecks(), { message: /cannot run the checks: lab "quick" is not up — press u first/ });
  t.deepEqual(ran, []);
  engine.state.phase = 'up';
  const seen = events(engine.bus);
  await c.runChecks();
  t.deepEqual(ran, [['left-to-right', 'throughput']]);
  t.deepEqual(
    seen.map((e) => (e.type === 'phase' ? `${e.phase}:${e.state}` : e.type)),
    ['checks:start', 'check-done', 'checks:done'],
  );
});

test('the TUI runs checks with the --jobs it was given (absent: the scheduler default)', async (t) => {
  const lab = sampleLab();
  const seen: (number | undefined)[] = [];
  const recordJobs = { runChecks: async (_c: Check[], ctx: { jobs?: number }) => (seen.push(ctx.jobs), []) };
  await new EngineController(lab, fakeEngine(lab), { ...recordJobs, jobs: 3 }).runChecks();
  await new EngineController(lab, fakeEngine(lab), recordJobs).runChecks();
  t.deepEqual(seen, [3, undefined]);
});

test('rerunCheck runs one check by name with start/done events; an unknown name lists the checks', async (t) => {
  const lab = sampleLab();
  const engine = fakeEngine(lab);
  const c = new EngineController(lab, engine, {
    runCheck: async (check: Check): Promise<CheckResult> => ({ ...pingPassed, name: check.name }),
  });
  const seen = events(engine.bus);
  await c.rerunCheck('left-to-right');
  t.deepEqual(
    seen.map((e) => (e.type === 'check-start' ? `start:${e.check.name}` : e.type === 'check-done' ? `done:${e.result.name}:${e.result.status}` : e.type)),
    ['start:left-to-right', 'done:left-to-right:passed'],
  );
  await t.throwsAsync(c.rerunCheck('nope'), { message: /no check named "nope" \(checks: "left-to-right", "throughput"\)/ });
});

test('the step log collects start, request, done, failure (errno, kernel message) and undo per step', (t) => {
  const lab = sampleLab();
  const engine = fakeEngine(lab);
  let now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const c = new EngineController(lab, engine, { now: () => now });
  const [s1, s2] = samplePlan().steps;
  engine.bus.emit({ type: 'step-start', step: s1! });
  now += 12;
  engine.bus.emit({ type: 'step-done', step: s1!, durationMs: 12.3456 });
  engine.bus.emit({ type: 'step-start', step: s2! });
  engine.bus.emit({
    type: 'step-failed',
    step: s2!,
    durationMs: 0.5,
    failure: { subject: 'host "box-1"', ns: 'gl-quick-box-1', request: 'RTM_NEWLINK x2 kind dummy', errno: 'EEXIST', kernelMessage: 'File exists' },
  });
  engine.bus.emit({ type: 'undo-start', step: s1! });
  engine.bus.emit({ type: 'undo-done', step: s1!, durationMs: 3 });

  const log1 = c.stepLog(1).join('\n');
  t.regex(log1, /12:00:00\.000 start  network "underlay"/);
  t.regex(log1, /request: link\.add ns=gl-quick-box-1 link=\{"kind":"dummy","name":"x1"\}/);
  t.regex(log1, /done in 12 ms/);
  t.regex(log1, /undo   network "underlay"\n  request: link\.del ns=gl-quick-box-1 name=x1\n.*undone in 3 ms/);
  const log2 = c.stepLog(2).join('\n');
  t.regex(log2, /FAILED after 0\.5 ms/);
  t.regex(log2, /request: RTM_NEWLINK x2 kind dummy/);
  t.regex(log2, /errno: EEXIST/);
  t.regex(log2, /kernel: File exists/);
  t.regex(log2, /\(netns gl-quick-box-1\)/);
  t.deepEqual(c.stepLog(99), []);
  // A new `up` has a new plan: the old lines go.
  engine.bus.emit({ type: 'phase', phase: 'up', state: 'start', lab: 'quick' });
  t.deepEqual(c.stepLog(1), []);
  t.is(stepLogLines({ type: 'notice', level: 'info', message: 'x' }, now), undefined);
});

test('capture: a kernel netdev is captured as is, with pings from a guest of that host to its peer', async (t) => {
  const lab = sampleLab();
  const exec = new FakeExec();
  const engine = fakeEngine(lab, exec);
  const started: { ns?: string; ifname: string; filter?: string }[] = [];
  const pkts = [0, 1, 2, 3, 4, 5, 6].map((i) => ({ ...decodeFrame(buildFrame({ vni: 5001, src: '198.51.100.1', dst: '198.51.100.2' }), 1), index: i + 1, timestamp: 100 + i / 10 }));
  const root = captureRoot(t);
  const c = new EngineController(lab, engine, {
    tmpDir: root,
    startCapture: async (ep, ifname, opts): Promise<RunningCapture> => {
      started.push({ ...(ep.ns ? { ns: ep.ns } : {}), ifname, ...(opts.filter ? { filter: opts.filter } : {}) });
      t.deepEqual(opts.decode?.genevePorts?.includes(6081), true);
      return { argv: [], stop: async () => ({ file: opts.file, packets: pkts, warnings: [], stats: {}, stderr: '' }) };
    },
  });
  const list = await c.capture('box-1', 'gnv0', { count: 5 });
  t.deepEqual(readdirSync(root), [], 'the capture\'s own directory is removed once the packets are decoded');
  t.deepEqual(started, [{ ns: 'gl-quick-box-1', ifname: 'gnv0' }]);
  t.is(list.length, 5, 'no more than count packets');
  t.is(list[0]!.protocol, 'GENEVE');
  t.is(list[0]!.geneve?.vni, 5001);
  t.is(list[2]!.time.toFixed(1), '0.2');
  // The recipe's ping check (left → right) makes the traffic, from left's namespace.
  const ping = exec.calls.find((a) => a.includes('ping'));
  t.truthy(ping);
  t.deepEqual(ping!.slice(0, 4), ['ip', 'netns', 'exec', 'gl-quick-left']);
  t.is(ping!.at(-1), '203.0.113.2');
  t.true(ping!.includes('-4'));
});

test('capture: an OVS tunnel port is captured on the underlay (UDP), and the user is told why', async (t) => {
  const lab = sampleLab();
  const engine = fakeEngine(lab);
  const seen = events(engine.bus);
  const started: string[] = [];
  const c = new EngineController(lab, engine, {
    tmpDir: captureRoot(t),
    startCapture: async (ep, ifname, opts): Promise<RunningCapture> => {
      started.push(`${ep.ns}/${ifname}/${opts.filter}`);
      return { argv: [], stop: async () => ({ file: opts.file, packets: [], warnings: [], stats: {}, stderr: '' }) };
    },
  });
  t.deepEqual(await c.capture('box-2', 'gnv0'), []);
  t.deepEqual(started, ['gl-quick-box-2/eth0/udp']);
  t.true(seen.some((e) => e.type === 'notice' && /gnv0 is an OVS tunnel port, not a kernel interface: capturing .* on eth0@box-2/.test(e.message)));
  t.throws(() => captureInterface(lab, 'box-9', 'eth0'), { message: /no host "box-9" \(hosts: box-1, box-2\)/ });
});

test('capture refuses a lab that is not up and reports a failing tcpdump as is', async (t) => {
  const lab = sampleLab();
  const engine = fakeEngine(lab, undefined, null);
  const c = new EngineController(lab, engine, {
    tmpDir: captureRoot(t),
    startCapture: async () => {
      throw new OpError({ subject: 'capture on nope0', ns: 'gl-quick-box-1', request: 'tcpdump -i nope0', kernelMessage: 'tcpdump: nope0: No such device exists' });
    },
  });
  await t.throwsAsync(c.capture('box-1', 'gnv0'), { message: /capture on gnv0@box-1: lab "quick" is not up/ });
  engine.state.phase = 'up';
  await t.throwsAsync(c.capture('box-1', 'nope0'), { message: /No such device exists/ });
});

test('trafficPair: the recipe ping check first; else a guest to a guest on another host; else the underlay', (t) => {
  const lab = sampleLab();
  const ctx = contextFromLab(lab, new FakeExec());
  const a = trafficPair(lab, ctx, 'box-2');
  t.is(a?.from.name, 'left');
  t.is(a?.to, '203.0.113.2');
  const noChecks: Lab = { ...lab, checks: [] };
  const b = trafficPair(noChecks, contextFromLab(noChecks, new FakeExec()), 'box-2');
  t.is(b?.from.name, 'right');
  t.is(b?.to, '203.0.113.1');
  const bare: Lab = { ...noChecks, guests: [] };
  const u = trafficPair(bare, contextFromLab(bare, new FakeExec()), 'box-1');
  t.is(u?.from.name, 'box-1');
  t.is(u?.to, '198.51.100.2');
});

test('summarizePacket: outer addresses, Geneve fields and options, inner packet, TTL/TOS/DF and decode errors', (t) => {
  const frame = buildFrame({ src: '192.0.2.11', dst: '192.0.2.12', ttl: 33, tos: 0x28, df: true, vni: 77, sport: 50000, options: [{ class: 0x0102, type: 0x80, data: '00010002' }], innerSrc: '203.0.113.1', innerDst: '203.0.113.2' });
  const s = summarizePacket(decodeFrame(frame, 1));
  t.is(s.protocol, 'GENEVE');
  t.is(s.src, '192.0.2.11');
  t.is(s.dst, '192.0.2.12');
  t.is(s.length, frame.length);
  t.deepEqual(s.geneve, { vni: 77, protocolType: 0x6558, oam: false, critical: false, options: [{ class: 0x0102, type: 0x80, critical: true, data: '00010002' }], srcPort: 50000, dstPort: 6081 });
  t.deepEqual(s.inner, { src: '203.0.113.1', dst: '203.0.113.2', protocol: 'ICMP' });
  t.is(s.info, 'udp 50000 → 6081, ttl 33, tos 0x28, DF');

  const vx = summarizePacket(decodeFrame(buildFrame({ encap: 'vxlan', vni: 123 }), 1));
  t.is(vx.protocol, 'VXLAN');
  t.regex(vx.info, /vxlan vni 123/);
  t.is(vx.geneve, undefined);

  const cut = summarizePacket(decodeFrame(buildFrame({ vni: 1, truncateTo: 40 }), 1));
  t.regex(cut.info, /decode error in udp/);

  const list = summarizePackets([
    { ...decodeFrame(frame, 1), index: 1, timestamp: 10.5 },
    { ...decodeFrame(frame, 1), index: 2, timestamp: 10.75 },
  ]);
  t.deepEqual(list.map((p) => [p.no, p.time]), [[1, 0], [2, 0.25]]);
});

test('counters: kernel links through ip -s -s -j per namespace, OVS ports live from ovs-ofctl dump-ports of their bridge', async (t) => {
  const lab = sampleLab();
  let ovsTx = 10;
  const linkJson = (ifname: string, rx: number) =>
    JSON.stringify([{ ifname, operstate: 'UP', mtu: 1500, stats64: { rx: { bytes: rx * 100, packets: rx, errors: 0, dropped: 0 }, tx: { bytes: 0, packets: 0, errors: 0, dropped: 0 } } }]);
  const envs: (Record<string, string> | undefined)[] = [];
  const exec = new FakeExec((argv, opts) => {
    if (argv.includes('ovs-ofctl')) {
      envs.push(opts?.env);
      return ok(
        argv,
        `OFPST_PORT reply (xid=0x2): 2 ports\n  port LOCAL: rx pkts=3, bytes=300, drop=0, errs=0, frame=0, over=0, crc=0\n           tx pkts=4, bytes=400, drop=0, errs=0, coll=0\n` +
          `  port  gnv0: rx pkts=1, bytes=100, drop=?, errs=?, frame=?, over=?, crc=?\n           tx pkts=${ovsTx}, bytes=${ovsTx * 100}, drop=?, errs=?, coll=?\n`,
      );
    }
    const ns = argv[argv.indexOf('-n') + 1]!;
    return ok(argv, ns === 'gl-quick-box-1' ? `[${linkJson('gnv0', 5).slice(1, -1)},${linkJson('eth0', 7).slice(1, -1)}]` : linkJson('eth0', 9));
  });
  const engine = fakeEngine(lab, exec);
  const c = new EngineController(lab, engine);
  const targets = c.watchTargets();
  t.deepEqual(targets.map((x) => `${x.key}:${x.source}`), ['box-1/gnv0:kernel', 'box-2/gnv0:ovs', 'box-1/eth0:kernel', 'box-2/eth0:kernel']);

  const r1 = await c.readCounters(targets);
  t.deepEqual(r1.errors, []);
  t.deepEqual(r1.counters.map((x) => `${x.ns}/${x.ifname}:${x.rxPackets}/${x.txPackets}`).sort(), [
    'gl-quick-box-1/eth0:7/0',
    'gl-quick-box-1/gnv0:5/0',
    'gl-quick-box-2/eth0:9/0',
    'gl-quick-box-2/gnv0:1/10',
  ]);
  const ofctl = exec.calls.find((a) => a.includes('ovs-ofctl'))!;
  t.deepEqual(ofctl, ['ip', 'netns', 'exec', 'gl-quick-box-2', 'ovs-ofctl', '--names', '--timeout=3', 'dump-ports', lab.switches.find((s) => s.host === 'box-2')!.ifname]);
  t.is(envs[0]?.OVS_RUNDIR, '/run/gl-test/run/quick/ovs-box-2', "the host's own OVS instance");
  // Live: every reading is the datapath's current count (no 5-s database refresh to wait for).
  ovsTx = 20;
  t.true((await c.readCounters(targets)).counters.some((x) => x.ifname === 'gnv0' && x.ns === 'gl-quick-box-2' && x.txPackets === 20));

  engine.state.phase = undefined;
  const down = await c.readCounters(targets);
  t.deepEqual(down.counters, []);
  t.regex(down.errors[0]!.message, /lab "quick" is not up/);
});

test('counters(): samples arrive about every interval, errors go to onError, and unsubscribe stops it', async (t) => {
  const lab = sampleLab();
  let rx = 0;
  const exec = new FakeExec((argv) => {
    if (argv.includes('ovs-ofctl')) return { ...ok(argv), exitCode: 1, stderr: 'ovs-ofctl: br2: failed to connect to socket (No such file or directory)' };
    rx += 10;
    return ok(argv, JSON.stringify([{ ifname: 'eth0', operstate: 'UP', mtu: 1500, stats64: { rx: { bytes: rx * 100, packets: rx }, tx: { bytes: 0, packets: 0 } } }]));
  });
  const engine = fakeEngine(lab, exec);
  const c = new EngineController(lab, engine);
  const samples: CounterSample[][] = [];
  const errors: string[] = [];
  const stop = c.counters((s) => samples.push(s), (e) => errors.push(e.message), { intervalMs: 30 });
  // Wait for a few samples (generous: a loaded machine may be slow to fire timers).
  for (let waited = 0; samples.length < 3 && waited < 5000; waited += 10) await new Promise((r) => setTimeout(r, 10));
  stop();
  const n = samples.length;
  t.true(n >= 3, `got ${n} samples`);
  t.true(samples.at(-1)!.some((s) => s.ifname === 'eth0' && s.rxPps > 0));
  t.true(errors.some((e) => /host "box-2": reading OVS port counters failed: .*failed to connect to socket/.test(e)));
  await new Promise((r) => setTimeout(r, 100));
  t.is(samples.length, n, 'no samples after unsubscribe');
});

test('down waits for a counter reading in flight and starts none while it runs; close() waits for the last one', async (t) => {
  // The CI failure this pins: the TUI's sampler ran `ip netns exec NS ovs-ofctl dump-ports` while
  // `y` tore the lab down, and the process outlived the lab.
  const lab = sampleLab();
  const order: string[] = [];
  let release: (() => void) | undefined;
  let held = 0;
  const exec: Executor = {
    where: 'local',
    async run(argv: readonly string[]): Promise<RunResult> {
      const ns = argv.includes('-n') ? argv[argv.indexOf('-n') + 1] : argv[3];
      order.push(`read ${ns}`);
      if (argv.includes('ovs-ofctl') && !held++) await new Promise<void>((r) => (release = r));
      order.push(`read ${ns} done`);
      return ok(argv, argv.includes('ovs-ofctl') ? 'OFPST_PORT reply (xid=0x2): 0 ports\n' : '[]');
    },
    start(): never {
      throw new Error('not used');
    },
  };
  const engine = fakeEngine(lab, exec);
  const down = engine.down.bind(engine);
  engine.down = async (name: string) => {
    order.push('down');
    await new Promise((r) => setTimeout(r, 120)); // several sampler intervals
    engine.state.phase = undefined;
    const r = await down(name);
    order.push('down done');
    return r;
  };
  const c = new EngineController(lab, engine);
  const stop = c.counters(() => {}, () => {}, { intervalMs: 10 });
  for (let waited = 0; !release && waited < 5000; waited += 5) await new Promise((r) => setTimeout(r, 5));
  t.truthy(release, 'the sampler is inside ovs-ofctl');
  const downing = c.down();
  await new Promise((r) => setTimeout(r, 50));
  t.false(order.includes('down'), 'down has not started while ovs-ofctl runs');
  release!();
  await downing;
  const d = order.indexOf('down');
  t.true(d > order.indexOf('read gl-quick-box-2 done'), 'the reading finished before the teardown began');
  t.deepEqual(order.slice(d + 1, order.indexOf('down done')), [], 'no reading started while the lab was torn down');
  // Quit: the UI unsubscribes, then close() — a reading still running is waited for.
  engine.state.phase = 'up';
  held = 0;
  release = undefined;
  for (let waited = 0; !release && waited < 5000; waited += 5) await new Promise((r) => setTimeout(r, 5));
  stop();
  let closed = false;
  const closing = c.close().then(() => (closed = true));
  await new Promise((r) => setTimeout(r, 30));
  t.false(closed, 'close() waits for the reading in flight');
  release!();
  await closing;
  t.is(order.at(-1), 'read gl-quick-box-2 done');
});

test('close() stops recording the log and closes the backend', async (t) => {
  const lab = sampleLab();
  let closed = 0;
  const engine = { ...fakeEngine(lab), backend: { close: async () => void closed++ } };
  const c = new EngineController(lab, engine);
  await c.close();
  engine.bus.emit({ type: 'step-start', step: samplePlan().steps[0]! });
  t.deepEqual(c.stepLog(1), []);
  t.is(closed, 1);
});

test('announceState tells what the events cannot: the lab was up already, or left half-built', (t) => {
  const lab = sampleLab();
  const engine = fakeEngine(lab, undefined, null);
  const c = new EngineController(lab, engine);
  const seen = events(engine.bus);
  c.announceState();
  t.deepEqual(seen, [], 'nothing recorded: nothing to say');
  engine.state.phase = 'up';
  c.announceState();
  engine.state.phase = 'applying';
  (engine.state as { pid?: number }).pid = 2 ** 22 + 12345; // above pid_max: no such process
  c.announceState();
  const notices = seen.flatMap((e) => (e.type === 'notice' ? [e.message] : []));
  t.regex(notices[0]!, /lab "quick" is up \(brought up earlier\): attached — c runs its checks, d tears it down/);
  t.regex(notices[1]!, /lab "quick" was left applying by an earlier run that stopped: u recreates it, d removes what is left/);
});

test('attach: a lab that is up is shown up with its recorded objects, and what is gone from the system is said', async (t) => {
  const lab = sampleLab();
  const plan = samplePlan();
  const engine = fakeEngine(lab, undefined, null);
  const withSteps = { ...engine, store: { dir: '/run/gl-test', read: () => ({ phase: 'up', pid: 1, tag: 'geneve-lab:quick', steps: plan.steps }) as unknown as LabState }, drift: async () => ['namespace gl-quick-box-2 is missing'] };
  const c = new EngineController(lab, withSteps);
  const seen = events(engine.bus);
  let ui = initialUiState(lab);
  engine.bus.on((e) => (ui = uiReducer(ui, e)));
  c.announceState();
  await new Promise((r) => setTimeout(r, 10));
  t.true(ui.labUp);
  t.true(ui.objects.every((o) => o.state === 'up'), JSON.stringify(ui.objects));
  t.true(ui.objects.some((o) => o.steps > 0), 'the recorded steps are counted per object');
  t.regex(seen.flatMap((e) => (e.type === 'notice' ? [e.message] : [])).join('\n'), /is up but 1 object\(s\) are gone: namespace gl-quick-box-2 is missing/);
});
