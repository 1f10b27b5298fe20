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
import { privReason, randomLabName } from '../../support/priv.js';

const name = randomLabName('im');
const L = `gl-${name}-left`;
const R = `gl-${name}-right`;
const exec = new LocalExecutor();
const ip = (...a: string[]) => execFileSync('ip', a, { stdio: ['ignore', 'ignore', 'pipe'] });

/** Why these tests cannot run here: not root, tools missing, or no netem in this kernel. */
function reason(): string | undefined {
  const r = privReason(['tc', 'ping', 'iperf3', 'ss']);
  if (r) return r;
  const probe = `gl-${name}-probe`;
  try {
    ip('netns', 'add', probe);
    ip('-n', probe, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
    execFileSync('ip', ['netns', 'exec', probe, 'tc', 'qdisc', 'add', 'dev', 'p0', 'root', 'netem', 'delay', '1ms'], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `no netem in this kernel (${String((e as { stderr?: Buffer }).stderr ?? e).trim()}): run in the VM tier`;
  } finally {
    try {
      ip('netns', 'del', probe);
    } catch {
      // not created
    }
  }
}

const why = reason();
const vmTest = (title: string, fn: (t: ExecutionContext) => Promise<void>) => {
  if (why) {
    process.stderr.write(`\n!!! VM-TIER TEST NOT RUN (${why}): ${title}\n`);
    test.skip(`${title} [NOT RUN: ${why}]`, () => {});
  } else test.serial(title, fn);
};

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
    ip('link', 'add', `${name}a`, 'type', 'veth', 'peer', 'name', `${name}b`);
    ip('link', 'set', `${name}a`, 'netns', L, 'name', 'eth0');
    ip('link', 'set', `${name}b`, 'netns', R, 'name', 'eth0');
    for (const [ns, n] of [[L, 1], [R, 2]] as const) {
      ip('-n', ns, 'addr', 'add', `203.0.113.${n}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
    }
    ctx = contextFromLab(lab, exec);
  });
  test.after.always(() => {
    for (const ns of [L, R]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  });
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
