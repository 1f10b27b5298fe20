import test from 'ava';
import { expectedMtuFor, MtuProbeError, mtuVerdict, probeOutcomeFromPing, searchPathMtu, type ProbeOutcome, type Prober } from '../../../lib/checks/mtu.js';
import type { Family, Lab } from '../../../lib/model/types.js';
import { pingRun } from './fixtures.js';

/** A model path: the sender's own MTU, the path MTU, and what happens to packets in between. */
function path(o: { family?: Family; local: number; path: number; beyond: 'icmp' | 'silent'; loseOnce?: number[] }): Prober & { calls: number[] } {
  const oh = o.family === 'ipv6' ? 48 : 28;
  const lose = new Set(o.loseOnce ?? []);
  const calls: number[] = [];
  const fn = (async (payload: number): Promise<ProbeOutcome> => {
    calls.push(payload);
    const size = payload + oh;
    if (size > o.local) return { passed: false, signal: 'local-mtu', mtu: o.local, detail: `local error: message too long, mtu=${o.local}` };
    if (size > o.path)
      return o.beyond === 'icmp'
        ? { passed: false, signal: 'icmp-too-big', mtu: o.path, detail: `Frag needed and DF set (mtu = ${o.path})` }
        : { passed: false, signal: 'vanished', detail: 'no reply' };
    if (lose.delete(payload)) return { passed: false, signal: 'vanished', detail: 'no reply' };
    return { passed: true };
  }) as unknown as Prober & { calls: number[] };
  fn.calls = calls;
  return fn;
}

test('the sender knows its MTU: three probes confirm the expected 1400', async (t) => {
  const p = path({ local: 1400, path: 1400, beyond: 'icmp' });
  const s = await searchPathMtu(p, { family: 'ipv4', expectedMtu: 1400 });
  t.is(s.pathMtu, 1400);
  t.is(s.refused?.mtu, 1401);
  t.is(s.refused?.outcome.signal, 'local-mtu');
  t.false(s.blackHole);
  t.deepEqual(p.calls, [16, 1372, 1373]);
  t.true(mtuVerdict({ mtu: 1400, source: 'expect_mtu' }, s).ok);
});

test('expecting 1500 on a 1400 path fails with both numbers', async (t) => {
  const s = await searchPathMtu(path({ local: 1400, path: 1400, beyond: 'icmp' }), { family: 'ipv4', expectedMtu: 1500 });
  t.is(s.pathMtu, 1400);
  const v = mtuVerdict({ mtu: 1500, source: 'expect_mtu' }, s);
  t.false(v.ok);
  if (!v.ok) t.is(v.message, "expected path MTU 1500 (expect_mtu), found 1400: DF packets of 1401 B are refused by the sender's kernel (message too long, mtu 1400)");
});

test('a router answering "frag needed" is not a black hole', async (t) => {
  const s = await searchPathMtu(path({ local: 1500, path: 1450, beyond: 'icmp' }), { family: 'ipv4', expectedMtu: 1450 });
  t.is(s.pathMtu, 1450);
  t.false(s.blackHole);
  t.true(mtuVerdict({ mtu: 1450, source: 'x' }, s).ok);
});

test('black hole: big packets vanish silently — found by bisection, and the check fails even at the expected MTU', async (t) => {
  const s = await searchPathMtu(path({ local: 1500, path: 1450, beyond: 'silent' }), { family: 'ipv4', expectedMtu: 1500 });
  t.is(s.pathMtu, 1450);
  t.true(s.blackHole);
  const v = mtuVerdict({ mtu: 1500, source: 'mtu of guest "left"' }, s);
  t.false(v.ok);
  if (!v.ok)
    t.is(v.message, 'expected path MTU 1500 (mtu of guest "left"), found 1450: DF packets of 1451 B vanish without an ICMP error — a PMTU black hole: senders are never told to send smaller packets');
  const s2 = await searchPathMtu(path({ local: 1500, path: 1450, beyond: 'silent' }), { family: 'ipv4', expectedMtu: 1450 });
  t.is(s2.pathMtu, 1450);
  t.true(s2.probes.length <= 16, `${s2.probes.length} probes`);
  const v2 = mtuVerdict({ mtu: 1450, source: 'x' }, s2);
  t.false(v2.ok);
  if (!v2.ok) t.regex(v2.message, /^path MTU is 1450 as expected, but DF packets of 1451 B vanish without an ICMP error: a PMTU black hole/);
});

test('one lost probe at the boundary does not shrink the MTU', async (t) => {
  const s = await searchPathMtu(path({ local: 1400, path: 1400, beyond: 'icmp', loseOnce: [1372] }), { family: 'ipv4', expectedMtu: 1400 });
  t.is(s.pathMtu, 1400);
  t.is(s.refused?.outcome.signal, 'local-mtu');
});

test('a path larger than expected: expected+1 passes, search goes up to what is really there', async (t) => {
  const s = await searchPathMtu(path({ local: 9000, path: 9000, beyond: 'icmp' }), { family: 'ipv4', expectedMtu: 1500 });
  t.is(s.pathMtu, 9000);
  const v = mtuVerdict({ mtu: 1500, source: 'expect_mtu' }, s);
  t.false(v.ok);
  if (!v.ok) t.regex(v.message, /expected path MTU 1500 \(expect_mtu\), found 9000/);
});

test('IPv6 overhead is 48 bytes', async (t) => {
  const p = path({ family: 'ipv6', local: 1400, path: 1400, beyond: 'icmp' });
  const s = await searchPathMtu(p, { family: 'ipv6', expectedMtu: 1400 });
  t.is(s.pathMtu, 1400);
  t.deepEqual(p.calls, [16, 1352, 1353]);
});

test('without an expectation the search still finds the MTU', async (t) => {
  const s = await searchPathMtu(path({ local: 1500, path: 1280, beyond: 'silent' }), { family: 'ipv4' });
  t.is(s.pathMtu, 1280);
  t.true(s.blackHole);
});

test('nothing passes: a clear error, not an MTU of 44', async (t) => {
  await t.throwsAsync(searchPathMtu(async () => ({ passed: false, signal: 'vanished', detail: 'no reply to 3 DF pings and no ICMP error' }), { family: 'ipv4', expectedMtu: 1400 }), {
    instanceOf: MtuProbeError,
    message: 'even small DF pings (44 B) do not pass: no reply to 3 DF pings and no ICMP error',
  });
});

test('ping runs classify into probe outcomes (real output)', (t) => {
  t.deepEqual(probeOutcomeFromPing(...pingRun('ping-ok')), { passed: true });
  t.like(probeOutcomeFromPing(...pingRun('ping-df-toobig')), { passed: false, signal: 'local-mtu', mtu: 1400 });
  t.like(probeOutcomeFromPing(...pingRun('ping-fragneeded')), { passed: false, signal: 'icmp-too-big', mtu: 1400 });
  t.like(probeOutcomeFromPing(...pingRun('ping-ipv6-packettoobig')), { passed: false, signal: 'icmp-too-big', mtu: 1400 });
  t.like(probeOutcomeFromPing(...pingRun('ping-df-blackhole')), { passed: false, signal: 'local-drop' });
  t.like(probeOutcomeFromPing(...pingRun('ping-unassigned')), { passed: false, signal: 'vanished' });
  t.like(probeOutcomeFromPing(...pingRun('ping-df-enobufs-none-sent')), { passed: false, signal: 'local-drop' });
  t.throws(() => probeOutcomeFromPing('', 'Cannot open network namespace "x": No such file or directory\n'), { instanceOf: MtuProbeError });
});

function lab(over: Partial<Lab> = {}): Lab {
  return {
    name: 'm', nsPrefix: 'gl-m-', tag: 'gl:m', networks: [{ name: 'under', mtu: 1500, ns: 'gl-m-under', bridge: 'br0' }],
    hosts: ['h1', 'h2'].map((h) => ({ name: h, ns: `gl-m-${h}`, placement: { kind: 'netns' as const }, interfaces: [{ network: 'under', ifname: 'eth0', peerIfname: `${h}-eth0`, addresses: [], mtu: 1500 }] })),
    switches: [{ name: 'br-h1', host: 'h1', kind: 'bridge', ifname: 'br0', addresses: [] }],
    guests: [{ name: 'left', ns: 'gl-m-left', switch: 'br-h1', host: 'h1', ifname: 'eth0', peerIfname: 'left0', addresses: ['10.0.0.1/24'], offload: {}, routes: [] }],
    tunnels: [{
      name: 'gnv', type: 'geneve', family: 'ipv4', network: 'under', options: [],
      ends: [
        { attach: { kind: 'switch', name: 'br-h1' }, host: 'h1', impl: 'kernel', ifname: 'gnv0', local: '192.0.2.1', remote: '192.0.2.2' },
        { attach: { kind: 'switch', name: 'br-h2' }, host: 'h2', impl: 'kernel', ifname: 'gnv0', local: '192.0.2.2', remote: '192.0.2.1' },
      ],
    }],
    checks: [], warnings: [], ...over,
  };
}

test('expected MTU: stated, else guest MTU, else underlay minus encapsulation overhead', (t) => {
  t.deepEqual(expectedMtuFor(lab(), { from: 'left', expectMtu: 1300 }), { mtu: 1300, source: 'expect_mtu' });
  t.deepEqual(expectedMtuFor(lab(), { from: 'left' }), { mtu: 1450, source: 'underlay 1500 − 50 B geneve/IPv4 overhead of tunnel "gnv"' });
  const l = lab();
  l.tunnels[0]!.family = 'ipv6';
  l.tunnels[0]!.options = [{ class: 0x102, type: 0x80, data: '00010002' }];
  t.is(expectedMtuFor(l, { from: 'left' })?.mtu, 1500 - 70 - 8);
  const g = lab();
  g.guests[0]!.mtu = 1500;
  t.deepEqual(expectedMtuFor(g, { from: 'left' }), { mtu: 1500, source: 'mtu of guest "left"' });
  t.is(expectedMtuFor(lab(), { from: 'h1' }), undefined);
});
