/**
 * The scheduler and the check runners against a fake executor that answers with real tool
 * output (fixtures). The real thing runs in test/priv/checks.
 */
import test from 'ava';
import { contextFromLab } from '../../../lib/checks/context.js';
import { runCheck, runChecks } from '../../../lib/checks/run.js';
import { EventBus, type LabEvent } from '../../../lib/engine/events.js';
import type { Background, Executor, RunResult } from '../../../lib/exec/executor.js';
import type { Check, Lab } from '../../../lib/model/types.js';
import { fixture } from './fixtures.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function lab(checks: Check[] = []): Lab {
  const guest = (name: string, addr: string) => ({ name, ns: `gl-t-${name}`, switch: 's', host: 'h', ifname: 'eth0', peerIfname: `${name}0`, addresses: [addr], offload: {}, routes: [] });
  return { name: 't', nsPrefix: 'gl-t-', tag: 'gl:t', networks: [], hosts: [], switches: [], guests: [guest('left', '203.0.113.1/24'), guest('right', '203.0.113.2/24')], tunnels: [], checks, warnings: [] };
}

const ping = (name: string, over: Partial<Extract<Check, { kind: 'ping' }>> = {}): Check => ({
  kind: 'ping', name, from: 'left', to: 'right', family: 'ipv4', count: 3, size: 56, df: false, intervalMs: 200, deadlineS: 5, expect: 'reachable', maxLossPct: 0, ...over,
});
const iperf = (name: string): Check => ({ kind: 'iperf', name, from: 'left', to: 'right', family: 'ipv4', protocol: 'tcp', durationS: 1, parallel: 1, reverse: false, minBps: 1e9 });

/** Fake executor: records what runs concurrently; iperf server behaviour is configurable. */
class Fake implements Executor {
  readonly where = 'local';
  running = new Set<string>();
  maxPings = 0;
  overlaps: string[] = [];
  serverStops = 0;
  servers = 0;
  listeningPort?: number;
  constructor(private serverFails?: string) {}
  private ok(argv: readonly string[], stdout = '', stderr = '', exitCode = 0): RunResult {
    return { argv: [...argv], exitCode, stdout, stderr, durationMs: 1, timedOut: false };
  }
  async run(argv: readonly string[]): Promise<RunResult> {
    const a = argv[0] === 'ip' && argv[1] === 'netns' ? argv.slice(4) : argv;
    if (a[0] === 'ss') return this.ok(argv, a[1]?.startsWith('-Hltn') && this.listeningPort ? `LISTEN 0 5 *:${this.listeningPort} *:* users:(("iperf3",pid=1,fd=3))\n` : '');
    const id = `${a[0]}#${Math.random()}`;
    for (const other of this.running) if (a[0] === 'iperf3' || other.startsWith('iperf3')) this.overlaps.push(`${a[0]} with ${other}`);
    this.running.add(id);
    this.maxPings = Math.max(this.maxPings, [...this.running].filter((x) => x.startsWith('ping')).length);
    try {
      await sleep(a[0] === 'iperf3' ? 80 : 40);
      if (a[0] === 'ping') return this.ok(argv, fixture('ping-ok.stdout'));
      if (a[0] === 'iperf3') return this.ok(argv, fixture('iperf-tcp.json'));
      return this.ok(argv, '', `${a[0]}: command not found`, -1);
    } finally {
      this.running.delete(id);
    }
  }
  start(argv: readonly string[]): Background {
    this.servers++;
    const port = Number(argv[argv.indexOf('-p') + 1]);
    let finish!: (r: RunResult) => void;
    const done = new Promise<RunResult>((r) => (finish = r));
    if (this.serverFails) setTimeout(() => finish(this.ok(argv, this.serverFails, '', 1)), 20);
    else this.listeningPort = port;
    return {
      pid: 1,
      argv: [...argv],
      done,
      stop: async () => {
        this.serverStops++;
        this.listeningPort = undefined;
        finish(this.ok(argv, '{}', '', 0));
        return done;
      },
    };
  }
}

test('concurrency limit, iperf alone, results in recipe order, start before done', async (t) => {
  const orphan: Check = { kind: 'capture', name: 'cap-orphan', host: 'h', ifname: 'eth0', during: 'nope', expect: {}, atLeast: 1 };
  const checks = [ping('p1'), ping('p2'), ping('p3'), iperf('i1'), ping('p4'), ping('p5'), orphan];
  const fake = new Fake();
  const ctx = contextFromLab(lab(checks), fake);
  const bus = new EventBus();
  const events: LabEvent[] = [];
  bus.on((e) => events.push(e));
  const results = await runChecks(checks, ctx, bus, { concurrency: 2 });
  t.deepEqual(results.map((r) => r.name), checks.map((c) => c.name));
  t.deepEqual(results.map((r) => r.status), ['passed', 'passed', 'passed', 'passed', 'passed', 'passed', 'error']);
  t.is(results[6]!.message, 'capture "cap-orphan": during names check "nope", which is not among the checks being run');
  t.is(fake.maxPings, 2);
  t.deepEqual(fake.overlaps, []);
  t.is(fake.servers, 1);
  t.is(fake.serverStops, 1);
  for (const c of checks) {
    const s = events.findIndex((e) => e.type === 'check-start' && e.check.name === c.name);
    const d = events.findIndex((e) => e.type === 'check-done' && e.result.name === c.name);
    t.true(s >= 0 && d > s, c.name);
  }
  t.is(results[3]!.figures.throughput, '13.3 Gbit/s');
  t.regex(results[3]!.raw!, /\[server\]/);
});

test('iperf server that fails to start: an error with iperf3\'s message within seconds, server reaped', async (t) => {
  const fake = new Fake(fixture('iperf-server-inuse.json'));
  const started = Date.now();
  const r = await runCheck(iperf('i1'), contextFromLab(lab(), fake));
  t.true(Date.now() - started < 3000);
  t.is(r.status, 'error');
  t.regex(r.message!, /^iperf3 server in "right" \(netns gl-t-right\) on port \d+ failed to start: unable to start listener for connections: Address already in use$/);
});

test('iperf: TCP with max_loss is refused instead of silently ignored', async (t) => {
  const r = await runCheck({ ...(iperf('i') as Extract<Check, { kind: 'iperf' }>), maxLossPct: 1 }, contextFromLab(lab(), new Fake()));
  t.is(r.status, 'error');
  t.regex(r.message!, /max_loss applies to UDP iperf checks only/);
});

test('a check naming an unknown endpoint is an error result, not an exception', async (t) => {
  const r = await runCheck(ping('p', { from: 'nobody' }), contextFromLab(lab(), new Fake()));
  t.is(r.status, 'error');
  t.is(r.message, 'check "p": unknown endpoint "nobody"');
});

test('ping verdicts flow through: expecting unreachable on a reachable peer fails with what was seen', async (t) => {
  const r = await runCheck(ping('p', { expect: 'unreachable' }), contextFromLab(lab(), new Fake()));
  t.is(r.status, 'failed');
  t.is(r.message, 'expected unreachable (100% loss, no reply), saw 0% loss: 3/3 replies');
  t.is(r.what, 'ping left → right (203.0.113.2), 3 × 56 B, expect reachable'.replace('reachable', 'unreachable'));
  t.like(r.figures, { sent: 3, received: 3, loss: '0%', rtt_avg_ms: 0.174 });
});
