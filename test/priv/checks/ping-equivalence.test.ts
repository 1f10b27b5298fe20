/**
 * In-process ping (lib/checks/icmp/) against the process it replaces (`ip netns exec NS ping`):
 * the same ping checks on a fault lab, each run both ways, must give the same verdict, the same
 * message and the same counts. The lab: three guests on a Linux bridge (in its own namespace),
 * plus faults — an unassigned address (ARP silence, then "Destination Host Unreachable"), a guest
 * whose bridge port is down, blackhole/unreachable/prohibit routes and no route at all, 50% loss
 * and an ICMP reject made with nftables on the target (this kernel has no netem), a namespace
 * that does not exist — over IPv4 and IPv6, expecting reachable and unreachable.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { contextFromLab, type CheckContext } from '../../../lib/checks/context.js';
import { defaultJobs, runCheck, runChecks } from '../../../lib/checks/run.js';
import { EventBus } from '../../../lib/engine/events.js';
import { LocalExecutor } from '../../../lib/exec/executor.js';
import type { CheckResult } from '../../../lib/checks/result.js';
import type { Guest, Lab, PingCheck } from '../../../lib/model/types.js';
import { privReason, privTest, randomLabName } from '../../support/priv.js';
import { deleteNamespaces, vethPair } from '../../support/scratch.js';

// nftables' nft, by path: under npx, node_modules/.bin comes first on PATH and has another `nft`
// (@vercel/nft, ava's dependency tracer), which would accept the ruleset and do nothing.
const NFT = ['/usr/sbin/nft', '/sbin/nft'].find((p) => existsSync(p)) ?? '/usr/sbin/nft';
const TOOLS = ['ping', NFT];
const name = randomLabName('fp');
const ns = (n: string) => `gl-${name}-${n}`;
const [SW, A, B, C] = ['sw', 'a', 'b', 'c'].map(ns) as [string, string, string, string];
const exec = new LocalExecutor();
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

const guest = (g: string, nsName: string, n: number): Guest =>
  ({ name: g, ns: nsName, switch: 's', host: 'h', ifname: 'eth0', peerIfname: `${g}0`, addresses: [`10.71.0.${n}/24`, `fd71::${n}/64`], offload: {}, routes: [] }) as Guest;
const lab: Lab = {
  name, nsPrefix: `gl-${name}-`, tag: `gl:${name}`, networks: [], hosts: [], switches: [], tunnels: [], checks: [], warnings: [],
  guests: [guest('a', A, 1), guest('b', B, 2), guest('c', C, 3), guest('ghost', ns('ghost'), 9)],
};

/** B drops every other echo request to its .12 / ::12 (a counter, so the loss is exact) and rejects those to .22. */
function resetNft(): void {
  execFileSync('ip', ['netns', 'exec', B, NFT, '-f', '-'], {
    input: `flush ruleset
table inet fp {
  chain input {
    type filter hook input priority 0; policy accept;
    ip daddr 10.71.0.12 icmp type echo-request numgen inc mod 2 == 0 drop
    ip6 daddr fd71::12 icmpv6 type echo-request numgen inc mod 2 == 0 drop
    ip daddr 10.71.0.22 icmp type echo-request reject with icmp type host-prohibited
    ip6 daddr fd71::22 icmpv6 type echo-request reject with icmpv6 type admin-prohibited
  }
}
`,
  });
}

let ctx: CheckContext;
if (!privReason(TOOLS)) {
  test.before(() => {
    for (const n of [SW, A, B, C]) {
      ip('netns', 'add', n);
      ip('-n', n, 'link', 'set', 'lo', 'up');
    }
    ip('-n', SW, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', SW, 'link', 'set', 'br0', 'up');
    for (const [g, n, i] of [['a', A, 1], ['b', B, 2], ['c', C, 3]] as const) {
      vethPair({ ns: n, ifname: 'eth0', addresses: [`10.71.0.${i}/24`, `fd71::${i}/64`] }, { ns: SW, ifname: `${g}0` });
      ip('-n', SW, 'link', 'set', `${g}0`, 'master', 'br0');
    }
    for (const extra of ['10.71.0.12/24', '10.71.0.22/24']) ip('-n', B, 'addr', 'add', extra, 'dev', 'eth0');
    for (const extra of ['fd71::12/64', 'fd71::22/64']) ip('-n', B, 'addr', 'add', extra, 'dev', 'eth0', 'nodad');
    // The down link: c's port on the bridge.
    ip('-n', SW, 'link', 'set', 'c0', 'down');
    ip('-n', A, 'route', 'add', 'blackhole', '10.72.0.0/24');
    ip('-n', A, 'route', 'add', 'unreachable', '10.73.0.0/24');
    ip('-n', A, 'route', 'add', 'prohibit', '10.74.0.0/24');
    ip('-n', A, '-6', 'route', 'add', 'blackhole', 'fd72::/64');
    ip('-n', A, '-6', 'route', 'add', 'unreachable', 'fd73::/64');
    resetNft();
    ctx = contextFromLab(lab, exec);
  });
  test.after.always(() => deleteNamespaces([A, B, C, SW]));
}

const ping = (o: Partial<PingCheck>): PingCheck => ({
  kind: 'ping', name: 'p', from: 'a', to: 'b', family: 'ipv4', count: 3, size: 56, df: false, intervalMs: 20, deadlineS: 2, expect: 'reachable', maxLossPct: 0, ...o,
});

const CASES: [string, Partial<PingCheck>][] = [
  ['reachable v4', { to: '10.71.0.2' }],
  ['reachable v6', { to: 'fd71::2', family: 'ipv6' }],
  ['reachable, expected unreachable (negative ping fails)', { to: '10.71.0.2', expect: 'unreachable' }],
  ['unassigned v4, deadline before ARP gives up (silence)', { to: '10.71.0.77' }],
  ['unassigned v4, ARP gives up (Destination Host Unreachable), expected unreachable', { to: '10.71.0.78', deadlineS: 4, intervalMs: 200, expect: 'unreachable' }],
  ['unassigned v6, neighbour discovery gives up, expected reachable', { to: 'fd71::77', family: 'ipv6', deadlineS: 4, intervalMs: 200 }],
  ['down link v4', { to: '10.71.0.3' }],
  ['down link v6, expected unreachable', { to: 'fd71::3', family: 'ipv6', expect: 'unreachable' }],
  ['blackhole route v4', { to: '10.72.0.1', expect: 'unreachable' }],
  ['blackhole route v6', { to: 'fd72::1', family: 'ipv6', expect: 'unreachable' }],
  ['unreachable route v4', { to: '10.73.0.1', expect: 'unreachable' }],
  ['unreachable route v6', { to: 'fd73::1', family: 'ipv6' }],
  ['prohibit route v4', { to: '10.74.0.1', expect: 'unreachable' }],
  ['no route v4, expected unreachable', { to: '10.99.0.1', expect: 'unreachable' }],
  ['no route v6, expected reachable', { to: 'fd99::1', family: 'ipv6' }],
  ['50% loss v4 within max_loss 60', { to: '10.71.0.12', count: 4, maxLossPct: 60 }],
  ['50% loss v4 over max_loss 0', { to: '10.71.0.12', count: 4 }],
  ['50% loss v6 within max_loss 60', { to: 'fd71::12', family: 'ipv6', count: 4, maxLossPct: 60 }],
  ['ICMP reject v4 (host prohibited), expected reachable', { to: '10.71.0.22' }],
  ['ICMP reject v6 (admin prohibited), expected unreachable', { to: 'fd71::22', family: 'ipv6', expect: 'unreachable' }],
  ['knobs: tos, ttl, source interface', { to: '10.71.0.2', tos: 0x28, ttl: 1, source: 'eth0' }],
  ['knobs: source address v6, one probe', { to: 'fd71::2', family: 'ipv6', source: 'fd71::1', count: 1 }],
  ['from a namespace that does not exist', { from: 'ghost', to: '10.71.0.2' }],
];

/**
 * What must be equal: verdict, message, counts (RTTs and durations differ run to run). Of the ICMP
 * errors only whether there were any: when neighbour discovery gives up, the kernel answers each
 * probe still queued on the unresolved entry, so their number is how many probes were sent before
 * it gave up — kernel timing (seen in CI: 12 in-process against 1 for ping, same verdict and words).
 */
const verdict = (r: CheckResult) => {
  const { rtt_min_ms: _a, rtt_avg_ms: _b, rtt_max_ms: _c, errors, ...figures } = r.figures;
  return { status: r.status, message: r.message, figures, ...(errors === undefined ? {} : { icmpErrors: Number(errors) > 0 }) };
};

for (const [title, over] of CASES) {
  privTest(`same verdict in-process and with a ping process: ${title}`, async (t) => {
    // Each run starts from the same state: the loss counter at zero and no neighbour entries
    // (a FAILED entry left by the first run would answer the second at once).
    const fresh = () => {
      if (over.to === '10.71.0.12' || over.to === 'fd71::12') resetNft();
      ip('-n', A, 'neigh', 'flush', 'all');
    };
    fresh();
    const mine = await runCheck(ping(over), ctx);
    fresh();
    const theirs = await runCheck(ping(over), { ...ctx, probes: 'process' });
    // Honest: each path really was the one named.
    t.true(mine.raw?.startsWith('# in-process ICMP'), mine.raw);
    t.regex(theirs.raw ?? '', /^\$ ip netns exec \S+ ping /);
    t.deepEqual(verdict(mine), verdict(theirs), `in-process:\n${mine.raw}\n\nprocess:\n${theirs.raw}`);
    t.log(`${mine.status}: ${mine.message ?? JSON.stringify(verdict(mine).figures)}`);
  }, { tools: TOOLS });
}

privTest('a full mesh at once: every pair passes in-process, each with its own per-probe RTTs', async (t) => {
  const checks: PingCheck[] = [];
  for (const from of ['a', 'b']) for (const to of ['a', 'b']) for (const family of ['ipv4', 'ipv6'] as const) {
    if (from !== to) checks.push(ping({ name: `${from}-${to}-${family}`, from, to, family, count: 5, intervalMs: 10 }));
  }
  const results = await runChecks(checks, { ...ctx, jobs: 64 }, new EventBus());
  for (const r of results) {
    t.is(r.status, 'passed', `${r.name}: ${r.message}\n${r.raw}`);
    t.is((r.details as { replies: unknown[] }).replies.length, 5, r.name);
    t.true(r.raw?.startsWith('# in-process ICMP'));
  }
}, { tools: TOOLS });

/** The most checks in flight at once during a runChecks call (from its start/done events). */
async function peakConcurrency(checks: PingCheck[], c: CheckContext): Promise<{ peak: number; results: CheckResult[] }> {
  const bus = new EventBus();
  let now = 0;
  let peak = 0;
  bus.on((e) => {
    if (e.type === 'check-start') peak = Math.max(peak, ++now);
    if (e.type === 'check-done') now--;
  });
  const results = await runChecks(checks, c, bus);
  return { peak, results };
}

privTest('the default --jobs bounds checks that start processes, not in-process pings; an explicit --jobs bounds both', async (t) => {
  // More pings than the default bound, each lasting ~0.4 s (3 probes 200 ms apart): unbounded,
  // every one of them is in flight before the first ends.
  const n = defaultJobs() + 10;
  const checks = Array.from({ length: n }, (_, i) => ping({ name: `p${i}`, to: '10.71.0.2', count: 3, intervalMs: 200 }));
  const { jobs: _jobs, ...noJobs } = ctx;
  const free = await peakConcurrency(checks, noJobs);
  t.true(free.results.every((r) => r.status === 'passed' && r.raw?.startsWith('# in-process ICMP')), JSON.stringify(free.results.map((r) => r.message)));
  t.true(free.peak > defaultJobs(), `in-process pings at once: ${free.peak}, default bound ${defaultJobs()}`);
  const bounded = await peakConcurrency(checks, { ...noJobs, jobs: 3 });
  t.is(bounded.peak, 3, 'an explicit --jobs 3 bounds in-process pings too');
  const processes = await peakConcurrency(checks, { ...noJobs, probes: 'process' });
  t.true(processes.results.every((r) => r.status === 'passed'));
  t.true(processes.peak <= defaultJobs() && processes.peak > 1, `ping processes at once: ${processes.peak}, default bound ${defaultJobs()}`);
}, { tools: TOOLS });
