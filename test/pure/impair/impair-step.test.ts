/**
 * The impair check step against a fake executor that answers with real tool output
 * (fixtures): apply → inner checks → clear, always clearing; this kernel's "unsupported"
 * becomes a failed step, not a crash; reports show the inner checks under the step.
 */
import test from 'ava';
import { contextFromLab } from '../../../lib/checks/context.js';
import { runImpairStep } from '../../../lib/checks/impair-step.js';
import { runCheck, runChecks } from '../../../lib/checks/run.js';
import { EventBus } from '../../../lib/engine/events.js';
import type { Executor, RunResult } from '../../../lib/exec/executor.js';
import type { Check, ImpairCheck, Lab, PingCheck } from '../../../lib/model/types.js';
import { formatJunit } from '../../../lib/report/junit.js';
import { toJsonReport } from '../../../lib/report/json.js';
import { formatTable } from '../../../lib/report/table.js';
import { fixture } from '../checks/fixtures.js';

const ping = (name: string, over: Partial<PingCheck> = {}): PingCheck => ({
  kind: 'ping', name, from: 'left', to: 'right', family: 'ipv4', count: 3, size: 56, df: false, intervalMs: 200, deadlineS: 5, expect: 'reachable', maxLossPct: 0, ...over,
});
const step = (then: ImpairCheck['then']): ImpairCheck => ({
  kind: 'impair', name: 'lossy', on: [{ what: 'host "h" interface "underlay"', host: 'h', ns: 'gl-t-h', dev: 'underlay' }], impairment: { delayMs: 10, lossPct: 1 }, then,
});

function lab(checks: Check[] = []): Lab {
  const guest = (name: string, addr: string) => ({ name, ns: `gl-t-${name}`, switch: 's', host: 'h', ifname: 'eth0', peerIfname: `${name}0`, addresses: [addr], offload: {}, routes: [] });
  return {
    name: 't', nsPrefix: 'gl-t-', tag: 'gl:t', networks: [],
    hosts: [{ name: 'h', ns: 'gl-t-h', placement: { kind: 'netns' }, interfaces: [{ network: 'underlay', ifname: 'underlay', peerIfname: 'h', addresses: ['192.0.2.1/24'], mtu: 1500 }] }],
    switches: [], guests: [guest('left', '203.0.113.1/24'), guest('right', '203.0.113.2/24')], tunnels: [], checks, warnings: [],
  };
}

/** Answers tc per `tc` and ping with a real successful run; records the order of commands. */
function fake(tc: (verb: string) => Partial<RunResult> = () => ({})): Executor & { log: string[] } {
  const log: string[] = [];
  return {
    where: 'local',
    log,
    async run(argv) {
      const a = argv[0] === 'ip' && argv[1] === 'netns' ? argv.slice(4) : argv;
      const base = { argv: [...argv], exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false };
      if (a[0] === 'tc') {
        log.push(`tc ${a[2]} ${a[4]}${argv[1] === 'netns' ? ` in ${argv[3]}` : ''}`);
        return { ...base, ...tc(a[2]!) };
      }
      if (a[0] === 'ping') {
        log.push('ping');
        return { ...base, stdout: fixture('ping-ok.stdout') };
      }
      return base;
    },
    start() {
      throw new Error('not used');
    },
  };
}

test('apply, run the inner checks in order, clear; the step passes when they pass', async (t) => {
  const ex = fake();
  const r = await runCheck(step([ping('lossy › a'), ping('lossy › b')]), contextFromLab(lab(), ex));
  t.is(r.status, 'passed', r.message);
  t.deepEqual(ex.log, ['tc replace underlay in gl-t-h', 'ping', 'ping', 'tc del underlay in gl-t-h']);
  t.deepEqual(r.children?.map((c) => [c.name, c.status]), [['lossy › a', 'passed'], ['lossy › b', 'passed']]);
  t.is(r.what, 'netem delay 10ms, loss 1% on host "h" interface "underlay", then 2 checks');
  t.like(r.figures, { delay: '10ms', loss: '1%', cleared: true, checks: '2/2 passed' });
});

test('a failing inner check fails the step, names the check and its message, and the impairment is still cleared', async (t) => {
  const ex = fake();
  const r = await runCheck(step([ping('lossy › a', { expect: 'unreachable' })]), contextFromLab(lab(), ex));
  t.is(r.status, 'failed');
  t.regex(r.message!, /^1 of 1 check did not pass with delay 10ms, loss 1%:\n {2}lossy › a: /);
  t.is(ex.log.at(-1), 'tc del underlay in gl-t-h');
});

test('an inner check that throws still gets the impairment cleared', async (t) => {
  const ex = fake();
  const ctx = contextFromLab(lab(), ex);
  await t.throwsAsync(runImpairStep(step([ping('x')]), ctx, async () => { throw new Error('boom'); }, () => 'x'), { message: 'boom' });
  t.deepEqual(ex.log, ['tc replace underlay in gl-t-h', 'tc del underlay in gl-t-h']);
});

test('a kernel without netem: the step FAILS with "unsupported by this kernel … run it in the VM", inner checks are not run', async (t) => {
  const ex = fake((verb) => (verb === 'replace' ? { exitCode: 2, stderr: fixture('tc-netem-unsupported.stderr') } : {}));
  const r = await runCheck(step([ping('lossy › a')]), contextFromLab(lab(), ex));
  t.is(r.status, 'failed');
  t.regex(r.message!, /^impairment on host "h" interface "underlay": unsupported by this kernel \(no netem qdisc.*run it in the VM/);
  t.deepEqual(ex.log, ['tc replace underlay in gl-t-h']);
  t.deepEqual(r.children?.map((c) => [c.status, c.message]), [['error', 'not run: the impairment could not be applied']]);
  // Marked as a kernel limit, so JUnit reports it <skipped> with the reason rather than as a failure.
  t.regex(r.unsupported ?? '', /unsupported by this kernel/);
  t.deepEqual(r.children?.map((c) => c.unsupported), [r.unsupported]);
});

test('a failed clear makes the step an error that says the link may still be impaired', async (t) => {
  const ex = fake((verb) => (verb === 'del' ? { exitCode: 2, stderr: 'Error: Cannot find device "underlay"\n' } : {}));
  const r = await runCheck(step([ping('lossy › a')]), contextFromLab(lab(), ex));
  t.is(r.status, 'error');
  t.regex(r.message!, /clearing impairment on underlay \(netns gl-t-h\) failed: Error: Cannot find device "underlay"[\s\S]*may still be impaired/);
  t.false(r.figures.cleared);
});

test('the scheduler runs an impair step alone and reports it once; reports show its inner checks', async (t) => {
  const ex = fake();
  const checks: Check[] = [ping('before'), step([ping('lossy › a', { expect: 'unreachable' }), ping('lossy › b')]), ping('after')];
  const bus = new EventBus();
  const done: string[] = [];
  const lossy: string[] = [];
  bus.on((e) => {
    if (e.type === 'check-done') done.push(e.result.name);
    // The step's own start/end around the inner checks' progress, in order.
    if (e.type === 'check-start' && e.check.name === 'lossy') lossy.push('start');
    if (e.type === 'inner-check-start') lossy.push(`${e.parent}: start ${e.check.name}`);
    if (e.type === 'inner-check-done') lossy.push(`${e.parent}: ${e.result.name} ${e.result.status}`);
    if (e.type === 'check-done' && e.result.name === 'lossy') lossy.push('done');
  });
  const results = await runChecks(checks, contextFromLab(lab(checks), ex), bus);
  t.deepEqual(results.map((r) => [r.name, r.status]), [['before', 'passed'], ['lossy', 'failed'], ['after', 'passed']]);
  t.deepEqual(done.sort(), ['after', 'before', 'lossy'], 'inner checks are not reported as checks of their own');
  t.deepEqual(lossy, ['start', 'lossy: start lossy › a', 'lossy: lossy › a failed', 'lossy: start lossy › b', 'lossy: lossy › b passed', 'done']);
  const table = formatTable(results, { width: 140 });
  t.regex(table, /FAIL +lossy +netem delay 10ms, loss 1% on host "h"/);
  t.regex(table, /FAIL +› a +ping left → right/);
  t.regex(table, /PASS +› b +ping left → right/);
  t.regex(table, /^3 checks: 2 passed, 1 failed, 0 errors/m);
  const junit = formatJunit('t', results);
  t.regex(junit, /<testsuite name="t" tests="5" failures="2" errors="0"/);
  t.regex(junit, /<testcase classname="t\.impair\.lossy" name="lossy › a"[^>]*>\n {6}<failure/);
  t.regex(junit, /<testcase classname="t\.impair" name="lossy"/);
  const json = toJsonReport('t', results);
  t.deepEqual((json.checks[1]!.children ?? []).map((c) => c.name), ['lossy › a', 'lossy › b']);
  t.false(JSON.stringify(json).includes('"raw"'), 'raw output of inner checks is left out too');
});

test('an impair step is not started while other checks run, and nothing starts during it', async (t) => {
  const order: string[] = [];
  const ex = fake();
  const orig = ex.run.bind(ex);
  ex.run = async (argv, o) => {
    const r = await orig(argv, o);
    order.push(ex.log.at(-1)!);
    return r;
  };
  const checks: Check[] = [ping('p1'), step([ping('in')]), ping('p2')];
  await runChecks(checks, contextFromLab(lab(checks), ex), new EventBus());
  const i = order.indexOf('tc replace underlay in gl-t-h');
  const j = order.indexOf('tc del underlay in gl-t-h');
  t.deepEqual(order.slice(i, j + 1), ['tc replace underlay in gl-t-h', 'ping', 'tc del underlay in gl-t-h']);
});

test('a link impaired by the recipe gets its own impairment back after the step, not a clean link', async (t) => {
  const ex = fake();
  const s = step([ping('lossy › a')]);
  s.on[0]!.restore = { delayMs: 20 };
  const calls: string[][] = [];
  const orig = ex.run.bind(ex);
  ex.run = async (argv, o) => {
    if (argv.includes('tc')) calls.push(argv.slice(argv.indexOf('tc')));
    return orig(argv, o);
  };
  const r = await runCheck(s, contextFromLab(lab(), ex));
  t.is(r.status, 'passed', r.message);
  t.deepEqual(calls, [
    ['tc', 'qdisc', 'replace', 'dev', 'underlay', 'root', 'netem', 'delay', '10ms', 'loss', '1%'],
    ['tc', 'qdisc', 'replace', 'dev', 'underlay', 'root', 'netem', 'delay', '20ms'],
  ]);
});
