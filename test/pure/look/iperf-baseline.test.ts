import test from 'ava';
import { contextFromLab } from '../../../lib/checks/context.js';
import { baselineCheck, withUnderlayBaseline } from '../../../lib/checks/iperf-baseline.js';
import type { CheckResult } from '../../../lib/checks/result.js';
import type { Executor } from '../../../lib/exec/executor.js';
import type { IperfCheck } from '../../../lib/model/types.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { baseRecipe } from '../recipe/helpers.js';

const { lab } = loadRecipeText(baseRecipe({ checks: '  - { name: tput, iperf: { from: left, to: right, duration: 2, min_ratio: 0.5 } }' }), 'b.yaml');
const ctx = () => contextFromLab({ ...lab }, {} as Executor);
const check = lab.checks[0] as IperfCheck;
const result = (c: IperfCheck, bps: number): CheckResult => ({ name: c.name, kind: 'iperf', what: `iperf3 ${c.from} → ${c.to}`, status: 'passed', figures: { bps }, durationMs: 1, raw: `raw of ${c.name}`, details: { protocol: 'tcp', bps, sentBps: bps, bytes: 1, seconds: 2, streams: 1, reverse: false } });

test('the baseline runs between the two hosts\' underlay addresses with the same settings', (t) => {
  t.is(check.minRatio, 0.5);
  const b = baselineCheck(check, ctx());
  t.like(b, { from: 'box-1', to: '192.0.2.12', family: 'ipv4', protocol: 'tcp', durationS: 2, parallel: 1 });
  t.false('minRatio' in b);
});

test('pass and fail by the ratio; the baseline is measured once per host pair and shown', async (t) => {
  const c = ctx();
  const runs: string[] = [];
  const run = (bps: number) => async (x: IperfCheck) => {
    runs.push(x.from);
    return result(x, x.from === 'box-1' ? 1e9 : bps);
  };
  const ok = await withUnderlayBaseline(check, c, run(6e8));
  t.is(ok.status, 'passed');
  t.like(ok.figures, { baseline: '1 Gbit/s', ratio: 0.6 });
  const bad = await withUnderlayBaseline(check, c, run(3e8));
  t.is(bad.status, 'failed');
  t.is(bad.message, 'throughput / underlay baseline: expected >= 0.5, observed 0.300 (300 Mbit/s over the overlay, 1 Gbit/s on the underlay box-1 → 192.0.2.12)');
  t.deepEqual(runs, ['box-1', 'left', 'left'], 'one baseline for both');
  t.regex(bad.raw!, /\[underlay baseline box-1 → 192\.0\.2\.12\]\nraw of tput \(underlay baseline box-1 → box-2\)/);
});

test('a baseline that cannot be measured makes the check an error, never a pass', async (t) => {
  const r = await withUnderlayBaseline(check, ctx(), async (x) => (x.from === 'box-1' ? { ...result(x, 0), status: 'error', message: 'iperf3 server failed to start' } : result(x, 5e8)));
  t.is(r.status, 'error');
  t.regex(r.message!, /the underlay baseline box-1 → 192\.0\.2\.12 could not be measured: iperf3 server failed to start/);
});
