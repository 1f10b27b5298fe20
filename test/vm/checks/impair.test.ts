/**
 * Impairments for real (VM tier: needs a kernel with netem, e.g. `geneve-lab vm -- npx ava test/vm/checks`).
 * On a kernel without netem every test is registered as skipped with the reason, never passed.
 * Two namespaces joined by a veth; netem on the left side; the ping/iperf checks must see it.
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { contextFromLab, type CheckContext } from '../../../lib/checks/context.js';
import { clearImpairment, withImpairment, type Target } from '../../../lib/checks/impair.js';
import { runCheck } from '../../../lib/checks/run.js';
import { LocalExecutor } from '../../../lib/exec/executor.js';
import type { IperfCheck, Lab, PingCheck } from '../../../lib/model/types.js';
import { randomLabName } from '../../support/priv.js';
import { kernelReason, kernelTest, type Feature } from '../faults/kernel.js';
import { deleteNamespaces, vethPair } from '../../support/scratch.js';

const name = randomLabName('im');
const L = `gl-${name}-left`;
const R = `gl-${name}-right`;
const exec = new LocalExecutor();
const ip = (...a: string[]) => execFileSync('ip', a, { stdio: ['ignore', 'ignore', 'pipe'] });

const NEEDS = { features: ['netem'] as Feature[], tools: ['ping', 'iperf3', 'ss'] };
const why = kernelReason(NEEDS.features, NEEDS.tools);
const vmTest = (title: string, fn: (t: ExecutionContext) => Promise<void>) => kernelTest(title, fn, NEEDS);

const lab: Lab = {
  name, nsPrefix: `gl-${name}-`, tag: `gl:${name}`, networks: [], hosts: [], switches: [], tunnels: [], checks: [], warnings: [],
  guests: [
    { name: 'left', ns: L, switch: 's', host: 'h', ifname: 'eth0', peerIfname: 'x', addresses: ['203.0.113.1/24'], offload: {}, routes: [] },
    { name: 'right', ns: R, switch: 's', host: 'h', ifname: 'eth0', peerIfname: 'y', addresses: ['203.0.113.2/24'], offload: {}, routes: [] },
  ],
};
let ctx: CheckContext;
const left: Target = { exec, ns: L, dev: 'eth0' };

if (!why) {
  test.before(() => {
    ip('netns', 'add', L);
    ip('netns', 'add', R);
    vethPair({ ns: L, ifname: 'eth0', addresses: ['203.0.113.1/24'] }, { ns: R, ifname: 'eth0', addresses: ['203.0.113.2/24'] });
    for (const ns of [L, R]) ip('-n', ns, 'link', 'set', 'lo', 'up');
    ctx = contextFromLab(lab, exec);
  });
  test.after.always(() => deleteNamespaces([L, R]));
}

const ping = (o: Partial<PingCheck> = {}): PingCheck => ({
  kind: 'ping', name: 'ping', from: 'left', to: 'right', family: 'ipv4', count: 5, size: 56, df: false, intervalMs: 200, deadlineS: 5, expect: 'reachable', maxLossPct: 0, ...o,
});
const iperf = (o: Partial<IperfCheck> = {}): IperfCheck => ({ kind: 'iperf', name: 'iperf', from: 'left', to: 'right', family: 'ipv4', protocol: 'tcp', durationS: 2, parallel: 1, reverse: false, ...o });

vmTest('delay 100 ms shows in the ping check\'s rtt, and is gone after clearing', async (t) => {
  const slow = await withImpairment(left, { delayMs: 100 }, () => runCheck(ping(), ctx));
  t.is(slow.status, 'passed', slow.message);
  t.true((slow.figures.rtt_avg_ms as number) >= 100, String(slow.figures.rtt_avg_ms));
  const fast = await runCheck(ping(), ctx);
  t.true((fast.figures.rtt_avg_ms as number) < 50, String(fast.figures.rtt_avg_ms));
});

vmTest('100% loss makes "reachable" FAIL with what was seen; clearing restores it', async (t) => {
  const r = await withImpairment(left, { lossPct: 100 }, () => runCheck(ping({ deadlineS: 3 }), ctx));
  t.is(r.status, 'failed');
  t.regex(r.message!, /^expected reachable \(loss ≤ 0%\), saw 100% loss: 0\/\d+ replies/);
  t.is((await runCheck(ping(), ctx)).status, 'passed');
});

vmTest('rate 20 Mbit: "add rate, expect iperf ≥ 10 Mbit (passes) / ≥ 50 Mbit (FAILS), clear"', async (t) => {
  await withImpairment(left, { rate: '20mbit' }, async () => {
    const ok = await runCheck(iperf({ minBps: 10e6 }), ctx);
    t.is(ok.status, 'passed', ok.message);
    const bad = await runCheck(iperf({ minBps: 50e6 }), ctx);
    t.is(bad.status, 'failed');
    t.regex(bad.message!, /^expected throughput ≥ 50 Mbit\/s, saw 1\d(\.\d+)? Mbit\/s|^expected throughput ≥ 50 Mbit\/s, saw [0-9.]+ Mbit\/s/);
    t.true((bad.details as { bps: number }).bps < 25e6);
  });
  await clearImpairment(left);
});
