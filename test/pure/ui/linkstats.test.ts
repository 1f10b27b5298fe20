import test from 'ava';
import { readFileSync } from 'node:fs';
import { computeRates, linkStatsArgv, parseIpLinkStats, ratesBetween, readLinkStats, totalErrors } from '../../../lib/stats/linkstats.js';
import { watchTargets } from '../../../lib/stats/targets.js';
import type { Executor } from '../../../lib/exec/executor.js';
import { sampleLab } from './fixtures/lab.js';

// Captured on this machine: `ip -s -s -j -n NS link show` on one end of a veth pair before and
// after `ping -c 10 -s 1000` (10 × 1042-byte frames each way).
const fx = (n: string) => readFileSync(new URL(`./fixtures/${n}`, import.meta.url), 'utf8');
const t0 = parseIpLinkStats(fx('ip-s-s-link-t0.json'), 'ns-a');
const t1 = parseIpLinkStats(fx('ip-s-s-link-t1.json'), 'ns-a');

test('parses real ip -s -s -j output: names, counters, detailed error counters', (t) => {
  t.deepEqual(t0.map((l) => l.ifname), ['lo', 'veth-a']);
  const v = t0[1]!;
  t.is(v.ns, 'ns-a');
  t.is(v.operstate, 'UP');
  t.is(v.mtu, 1500);
  t.is(v.txPackets, 11);
  t.is(v.txBytes, 958);
  t.is(v.errors.rx_frame_errors, 0);
  t.is(v.errors.rx_crc_errors, 0);
  t.is(v.errors.tx_carrier_errors, 0);
  t.false('rx_bytes' in v.errors);
});

test('parses single -s output (only errors/dropped present)', (t) => {
  const l = parseIpLinkStats(fx('ip-s-link-single-s.json'), 'ns-b').find((x) => x.ifname === 'veth-b')!;
  t.true(l.rxPackets >= 21);
  t.is(l.errors.rx_errors, 0);
  t.is(l.errors.rx_frame_errors, undefined);
});

test('rates between two real samples: 10 pings of 1042-byte frames over 2 s', (t) => {
  const rates = ratesBetween(t0, t1, 1_000, 3_000);
  const v = rates.find((r) => r.ifname === 'veth-a')!;
  t.is(v.intervalMs, 2000);
  t.is(v.txPps, 5);
  t.is(v.txBps, (11378 - 958) / 2);
  t.true(v.rxPps >= 5, 'at least the 10 echo replies (plus ARP/ND the kernel sent)');
  t.false(v.reset);
  t.deepEqual(Object.values(v.errorsDelta).filter((d) => d > 0), []);
  t.is(rates.find((r) => r.ifname === 'lo')!.txPps, 0);
});

test('error counters that grow are reported as deltas', (t) => {
  const a = t0[1]!;
  const b = { ...t1[1]!, errors: { ...t1[1]!.errors, rx_frame_errors: 3, rx_errors: 3 } };
  const r = computeRates(a, b, 0, 1000);
  t.is(r.errorsDelta.rx_frame_errors, 3);
  t.is(totalErrors(b.errors), 3);
});

test('a counter going backwards (link re-created) gives zero rates, not negative ones', (t) => {
  const r = computeRates(t1[1]!, t0[1]!, 0, 1000);
  t.true(r.reset);
  t.is(r.txBps, 0);
  t.is(r.txPps, 0);
});

test('links missing from one sample are skipped', (t) => {
  t.deepEqual(ratesBetween(t0.slice(0, 1), t1, 0, 1000).map((r) => r.ifname), ['lo']);
});

test('bad JSON names the namespace', (t) => {
  t.throws(() => parseIpLinkStats('oops', 'gl-x'), { message: /netns gl-x/ });
  t.throws(() => parseIpLinkStats('{}', 'gl-x'), { message: /JSON array/ });
});

test('argv: -n only for a named namespace', (t) => {
  t.deepEqual(linkStatsArgv('gl-a'), ['ip', '-s', '-s', '-j', '-n', 'gl-a', 'link', 'show']);
  t.deepEqual(linkStatsArgv(''), ['ip', '-s', '-s', '-j', 'link', 'show']);
});

test('readLinkStats runs the argv through the executor and reports ip errors clearly', async (t) => {
  const seen: string[][] = [];
  const exec = (stdout: string, exitCode = 0, stderr = ''): Executor => ({
    where: 'fake',
    run: async (argv) => {
      seen.push([...argv]);
      return { argv: [...argv], exitCode, stdout, stderr, durationMs: 1, timedOut: false };
    },
    start: () => {
      throw new Error('not used');
    },
  });
  const ok = await readLinkStats(exec(fx('ip-s-s-link-t1.json')), 'gl-a');
  t.is(ok.length, 2);
  t.deepEqual(seen[0], ['ip', '-s', '-s', '-j', '-n', 'gl-a', 'link', 'show']);
  await t.throwsAsync(readLinkStats(exec('', 1, 'Cannot open network namespace "gl-a": No such file or directory'), 'gl-a'), {
    message: /netns gl-a failed: Cannot open network namespace/,
  });
});

test('watch targets: every tunnel end and underlay interface, OVS ends marked', (t) => {
  const w = watchTargets(sampleLab());
  t.deepEqual(
    w.map((x) => `${x.label}:${x.ns}/${x.ifname}:${x.source}`),
    ['tun0@box-1:gl-quick-box-1/gnv0:kernel', 'tun0@box-2:gl-quick-box-2/gnv0:ovs', 'eth0@box-1:gl-quick-box-1/eth0:kernel', 'eth0@box-2:gl-quick-box-2/eth0:kernel'],
  );
});

import { sampleLinks } from '../../../lib/stats/sampler.js';

test('sampler: one namespace read per poll, rates between polls, errors reported and sampling goes on', async (t) => {
  const outputs = [fx('ip-s-s-link-t0.json'), 'FAIL', fx('ip-s-s-link-t1.json')];
  const clock = [0, 1000, 2000];
  const argvs: string[][] = [];
  const exec: Executor = {
    where: 'fake',
    run: async (argv) => {
      argvs.push([...argv]);
      const out = outputs.shift() ?? fx('ip-s-s-link-t1.json');
      return out === 'FAIL'
        ? { argv: [...argv], exitCode: 1, stdout: '', stderr: 'Cannot open network namespace', durationMs: 1, timedOut: false }
        : { argv: [...argv], exitCode: 0, stdout: out, stderr: '', durationMs: 1, timedOut: false };
    },
    start: () => {
      throw new Error('not used');
    },
  };
  const got: string[] = [];
  const errors: string[] = [];
  await new Promise<void>((resolve) => {
    const stop = sampleLinks(
      exec,
      [{ ns: 'ns-a', ifname: 'veth-a' }, { ns: 'ns-a', ifname: 'lo' }],
      (s) => {
        got.push(s.map((x) => `${x.ifname}:${x.txPps}`).join(','));
        if (got.length === 2) {
          stop();
          resolve();
        }
      },
      { intervalMs: 5, now: () => clock.shift() ?? 9999, onError: (e) => errors.push(e.message) },
    );
  });
  t.is(argvs.length, 3, 'both links of one namespace read with one command per poll');
  t.deepEqual(got[0], '', 'the failed poll has no counters, so no rates');
  t.deepEqual(got[1], 'lo:0,veth-a:5', 'the next poll compares with the last good reading (10 packets over 2 s)');
  t.regex(errors[0]!, /netns ns-a failed: Cannot open network namespace/);
});
