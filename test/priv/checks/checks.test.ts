/**
 * Checks against the real thing: two namespaces joined by a veth pair
 * (203.0.113.0/24, 2001:db8::/64), "right" with MTU 1400 so the MTU check has something to find.
 * Real ping, real iperf3, real tc. Everything is removed in the after hook, even on failure.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { contextFromLab, type CheckContext } from '../../../lib/checks/context.js';
import { applyImpairment, clearImpairment, ImpairmentError } from '../../../lib/checks/impair.js';
import { runIperf } from '../../../lib/checks/iperf.js';
import { runCheck, runChecks } from '../../../lib/checks/run.js';
import { EventBus, type LabEvent } from '../../../lib/engine/events.js';
import { LocalExecutor } from '../../../lib/exec/executor.js';
import type { Check, IperfCheck, Lab, MtuCheck, PingCheck } from '../../../lib/model/types.js';
import { writeArtifacts } from '../../../lib/report/artifacts.js';
import { privReason, privTest, randomLabName } from '../../support/priv.js';
import { tempDir, vethPair } from '../../support/scratch.js';

const TOOLS = ['ping', 'iperf3', 'ss', 'tc'];
const name = randomLabName('ck');
const L = `gl-${name}-left`;
const R = `gl-${name}-right`;
const exec = new LocalExecutor();

function ip(...args: string[]) {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const lab: Lab = {
  name,
  nsPrefix: `gl-${name}-`,
  tag: `gl:${name}`,
  networks: [],
  hosts: [],
  switches: [],
  guests: [
    { name: 'left', ns: L, switch: 's', host: 'h', ifname: 'eth0', peerIfname: 'x', addresses: ['203.0.113.1/24', '2001:db8::1/64'], offload: {}, routes: [] },
    { name: 'right', ns: R, switch: 's', host: 'h', ifname: 'eth0', peerIfname: 'y', addresses: ['203.0.113.2/24', '2001:db8::2/64'], mtu: 1400, offload: {}, routes: [] },
  ],
  tunnels: [],
  checks: [],
  warnings: [],
};
let ctx: CheckContext;

if (!privReason(TOOLS)) {
  test.before(() => {
    ip('netns', 'add', L);
    ip('netns', 'add', R);
    vethPair({ ns: L, ifname: 'eth0', addresses: ['203.0.113.1/24', '2001:db8::1/64'] }, { ns: R, ifname: 'eth0', addresses: ['203.0.113.2/24', '2001:db8::2/64'] });
    ip('-n', R, 'link', 'set', 'eth0', 'mtu', '1400');
    for (const [ns, n] of [[L, 1], [R, 2]] as const) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      // An overlay over the veth (this kernel has vxlan, not geneve) so a capture has
      // encapsulated packets to decode.
      ip('-n', ns, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'local', `203.0.113.${n}`, 'remote', `203.0.113.${3 - n}`, 'dstport', '4789', 'dev', 'eth0');
      ip('-n', ns, 'addr', 'add', `198.51.100.${n}/24`, 'dev', 'vx0');
      ip('-n', ns, 'link', 'set', 'vx0', 'up');
    }
    ctx = contextFromLab(lab, exec);
  });
  test.after.always(() => {
    for (const ns of [L, R]) {
      try {
        // Kill anything still running inside (there should be nothing: asserted in the last test).
        const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean);
        for (const p of pids) process.kill(Number(p), 'SIGKILL');
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  });
}

const ping = (o: Partial<PingCheck>): PingCheck => ({
  kind: 'ping', name: 'ping', from: 'left', to: 'right', family: 'ipv4', count: 3, size: 56, df: false, intervalMs: 200, deadlineS: 3, expect: 'reachable', maxLossPct: 0, ...o,
});
const iperf = (o: Partial<IperfCheck>): IperfCheck => ({ kind: 'iperf', name: 'iperf', from: 'left', to: 'right', family: 'ipv4', protocol: 'tcp', durationS: 1, parallel: 1, reverse: false, ...o });
const mtu = (o: Partial<MtuCheck>): MtuCheck => ({ kind: 'mtu', name: 'mtu', from: 'right', to: 'left', family: 'ipv4', ...o });

privTest('ping reachable passes over IPv4 and IPv6, with real figures', async (t) => {
  for (const family of ['ipv4', 'ipv6'] as const) {
    const r = await runCheck(ping({ family }), ctx);
    t.is(r.status, 'passed', r.message);
    t.is(r.figures.received, 3);
    t.is(typeof r.figures.rtt_avg_ms, 'number');
  }
}, { tools: TOOLS });

privTest('ping to an unassigned lab address expecting reachable FAILS and says what it saw', async (t) => {
  const r = await runCheck(ping({ to: '203.0.113.77' }), ctx);
  t.is(r.status, 'failed');
  t.regex(r.message!, /^expected reachable \(loss ≤ 0%\), saw 100% loss: 0\/\d+ replies/);
  t.is(r.figures.received, 0);
}, { tools: TOOLS });

privTest('ping expecting unreachable passes on the unassigned address and fails on the peer', async (t) => {
  t.is((await runCheck(ping({ to: '203.0.113.77', expect: 'unreachable' }), ctx)).status, 'passed');
  t.is((await runCheck(ping({ to: '2001:db8::77', family: 'ipv6', expect: 'unreachable' }), ctx)).status, 'passed');
  const r = await runCheck(ping({ expect: 'unreachable' }), ctx);
  t.is(r.status, 'failed');
  t.is(r.message, 'expected unreachable (100% loss, no reply), saw 0% loss: 3/3 replies');
}, { tools: TOOLS });

privTest('a DF ping bigger than the sender\'s MTU fails with the kernel\'s MTU', async (t) => {
  const r = await runCheck(ping({ from: 'right', to: 'left', size: 1400, df: true }), ctx);
  t.is(r.status, 'failed');
  t.regex(r.message!, /message too long, mtu=1400/);
  t.is(r.figures.mtu_hint, 1400);
}, { tools: TOOLS });

privTest('iperf3 TCP: passes a reachable threshold, FAILS a threshold above what the link can do', async (t) => {
  const ok = await runCheck(iperf({ minBps: 10e6 }), ctx);
  t.is(ok.status, 'passed', ok.message);
  t.true((ok.figures.bps as number) > 10e6);
  t.is(typeof ok.figures.retransmits, 'number');
  const bad = await runCheck(iperf({ minBps: 10e12, reverse: true, family: 'ipv6', parallel: 2 }), ctx);
  t.is(bad.status, 'failed');
  t.regex(bad.message!, /^expected throughput ≥ 10 Tbit\/s, saw [0-9.]+ [GM]bit\/s/);
}, { tools: TOOLS });

privTest('iperf3 UDP at a set bitrate: loss and jitter measured; a min above the bitrate FAILS', async (t) => {
  const ok = await runCheck(iperf({ protocol: 'udp', bitrate: '20M', minBps: 10e6, maxLossPct: 20 }), ctx);
  t.is(ok.status, 'passed', ok.message);
  t.is(typeof ok.figures.jitter_ms, 'number');
  t.regex(String(ok.figures.loss), /^[0-9.]+%$/);
  const bad = await runCheck(iperf({ protocol: 'udp', bitrate: '20M', minBps: 100e6 }), ctx);
  t.is(bad.status, 'failed');
  t.regex(bad.message!, /^expected throughput ≥ 100 Mbit\/s, saw [12]\d(\.\d)? Mbit\/s( \(sender pushed [0-9.]+ Mbit\/s\))?$/);
  // A loss threshold below zero-ish on a flood the link cannot carry fails on loss.
  const lossy = await runCheck(iperf({ protocol: 'udp', bitrate: '20G', maxLossPct: 0 }), ctx);
  t.is(lossy.status, 'failed', JSON.stringify(lossy.figures));
  t.regex(lossy.message!, /^expected loss ≤ 0%, saw [0-9.]+% \(\d+\/\d+ datagrams lost\)$/);
}, { tools: TOOLS });

privTest('an iperf3 server that cannot start is an error within seconds, not a hang', async (t) => {
  // Occupy a port in "right" with a real iperf3 server, then ask the check to use it.
  const port = 20000 + Math.floor(Math.random() * 20000);
  const squatter = exec.start(['ip', 'netns', 'exec', R, 'iperf3', '-s', '-p', String(port)]);
  t.teardown(() => squatter.stop(500).then(() => undefined));
  for (let i = 0; i < 50; i++) {
    const s = execFileSync('ip', ['netns', 'exec', R, 'ss', '-Hltn', `sport = :${port}`], { encoding: 'utf8' });
    if (s.trim()) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const started = Date.now();
  const r = await runIperf(iperf({}), ctx, { port });
  t.true(Date.now() - started < 5000, `${Date.now() - started} ms`);
  t.is(r.status, 'error');
  t.regex(r.message!, new RegExp(`^iperf3 server in "right" \\(netns ${R}\\) on port ${port} failed to start: unable to start listener for connections: Address already in use$`));
  // A server that listens but cannot be reached (address not on the path): a FAILED verdict within seconds.
  const unreach = contextFromLab({ ...lab, guests: [lab.guests[0]!, { ...lab.guests[1]!, addresses: ['203.0.113.77/24'] }] }, exec);
  const t0 = Date.now();
  const u = await runCheck(iperf({ minBps: 1e6 }), unreach);
  t.true(Date.now() - t0 < 10_000, `${Date.now() - t0} ms`);
  t.is(u.status, 'failed');
  t.regex(u.message!, /^expected a completed iperf3 test from "left" to 203\.0\.113\.77:\d+ \(server listening\), saw: unable to connect to server/);
  // In a namespace that does not exist: ip netns exec's own message.
  const ghost = contextFromLab({ ...lab, guests: [lab.guests[0]!, { ...lab.guests[1]!, ns: `gl-${name}-ghost` }] }, exec);
  const g = await runCheck(iperf({}), ghost);
  t.is(g.status, 'error');
  t.regex(g.message!, /failed to start: Cannot open network namespace/);
}, { tools: TOOLS });

privTest('mtu: finds exactly 1400 from the 1400 side; expecting 1500 FAILS with both numbers', async (t) => {
  const ok = await runCheck(mtu({}), ctx); // expectation from guest "right" mtu 1400
  t.is(ok.status, 'passed', ok.message);
  t.is(ok.figures.path_mtu, 1400);
  t.is(ok.figures.expected_mtu, 1400);
  const bad = await runCheck(mtu({ expectMtu: 1500 }), ctx);
  t.is(bad.status, 'failed');
  t.is(bad.figures.path_mtu, 1400);
  t.regex(bad.message!, /^expected path MTU 1500 \(expect_mtu\), found 1400: DF packets of 1401 B are refused by the sender's kernel \(message too long, mtu 1400\)$/);
  const v6 = await runCheck(mtu({ family: 'ipv6', expectMtu: 1400 }), ctx);
  t.is(v6.status, 'passed', v6.message);
}, { tools: TOOLS });

privTest('mtu: from the 1500 side big packets die at the 1400 veth with no ICMP error — a black hole', async (t) => {
  // A veth accepts up to peer MTU + 4 bytes (room for a VLAN tag) and drops anything larger
  // with ENOBUFS and no ICMP: so from "left" the path really carries 1404-byte packets.
  const r = await runCheck(mtu({ from: 'left', to: 'right', expectMtu: 1400 }), ctx);
  t.is(r.status, 'failed');
  t.is(r.figures.path_mtu, 1404);
  t.is(r.figures.black_hole, true);
  t.is(
    r.message,
    'expected path MTU 1400 (expect_mtu), found 1404: DF packets of 1405 B are dropped without an ICMP error (sendmsg: No buffer space available) — a PMTU black hole: senders are never told to send smaller packets',
  );
}, { tools: TOOLS });

privTest('runChecks: concurrent pings and an iperf, events for each, results in order', async (t) => {
  const checks: Check[] = [ping({ name: 'a' }), ping({ name: 'b', family: 'ipv6' }), iperf({ name: 'c', minBps: 1e6 }), ping({ name: 'd', to: '203.0.113.77', expect: 'unreachable' })];
  const bus = new EventBus();
  const seen: LabEvent[] = [];
  bus.on((e) => seen.push(e));
  const rs = await runChecks(checks, ctx, bus);
  t.deepEqual(rs.map((r) => [r.name, r.status]), [['a', 'passed'], ['b', 'passed'], ['c', 'passed'], ['d', 'passed']]);
  t.is(seen.filter((e) => e.type === 'check-start').length, 4);
  t.is(seen.filter((e) => e.type === 'check-done').length, 4);
}, { tools: TOOLS });

privTest('capture around another check: started before it, stopped after it; a wrong VNI FAILS', async (t) => {
  const dir = tempDir(t, 'gl-cap-');
  const overlay = ping({ name: 'overlay', to: '198.51.100.2', count: 3 });
  const right: Check = { kind: 'capture', name: 'vni42', host: 'right', ifname: 'eth0', during: 'overlay', expect: { 'vxlan.vni': 42, 'inner.dst': '198.51.100.2' }, atLeast: 3 };
  const wrong: Check = { kind: 'capture', name: 'vni43', host: 'right', ifname: 'eth0', during: 'overlay', expect: { 'vxlan.vni': 43 }, atLeast: 1 };
  const checks = [right, overlay, wrong];
  const bus = new EventBus();
  const seen: string[] = [];
  bus.on((e) => {
    if (e.type === 'check-start') seen.push(`start ${e.check.name}`);
    if (e.type === 'check-done') seen.push(`done ${e.result.name}`);
  });
  const rs = await runChecks(checks, { ...contextFromLab({ ...lab, checks }, exec), artifactsDir: dir }, bus);
  t.deepEqual(seen, ['start vni42', 'start vni43', 'start overlay', 'done overlay', 'done vni42', 'done vni43']);
  t.deepEqual(rs.map((r) => [r.name, r.status]), [['vni42', 'passed'], ['overlay', 'passed'], ['vni43', 'failed']]);
  t.true((rs[0]!.figures.matched as number) >= 3, JSON.stringify(rs[0]!.figures));
  t.regex(rs[2]!.message!, /vxlan\.vni 43/);
}, { tools: [...TOOLS, 'tcpdump'] });

privTest('impairments: this kernel says "unsupported … run it in the VM"; a kernel with netem applies and clears', async (t) => {
  const target = { exec, ns: L, dev: 'eth0' };
  try {
    await applyImpairment(target, { delayMs: 5, lossPct: 1 });
  } catch (e) {
    t.true(e instanceof ImpairmentError);
    t.true((e as ImpairmentError).unsupported, (e as Error).message);
    t.regex((e as Error).message, /unsupported by this kernel .*run it in the VM/);
    return;
  }
  const shown = execFileSync('ip', ['netns', 'exec', L, 'tc', '-j', 'qdisc', 'show', 'dev', 'eth0'], { encoding: 'utf8' });
  await clearImpairment(target);
  t.regex(shown, /"kind":"netem"/);
}, { tools: TOOLS });

privTest('artifacts: ip -d -j of every lab namespace and the failed check\'s raw output', async (t) => {
  const dir = tempDir(t, 'gl-art-');
  const failed = await runCheck(ping({ to: '203.0.113.77' }), ctx);
  const files = await writeArtifacts(dir, lab, [failed], exec);
  t.true(files.length > 0);
  const links = JSON.parse(readFileSync(join(dir, 'netns', R, 'link.json'), 'utf8')) as { ifname: string; mtu: number; linkinfo?: { info_kind?: string } }[];
  t.like(links.find((l) => l.ifname === 'eth0'), { mtu: 1400, linkinfo: { info_kind: 'veth' } });
  t.regex(readFileSync(join(dir, 'checks', 'ping.txt'), 'utf8'), /result: failed[\s\S]*\$ ip netns exec .* ping -n -c 3/);
}, { tools: TOOLS });

privTest('nothing left running in the lab namespaces', (t) => {
  for (const ns of [L, R]) t.is(execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).trim(), '', ns);
}, { tools: TOOLS });
