/**
 * Fault suite: an iperf3 threshold above what the link can do. In the same run, a threshold the
 * link can carry passes, so the failure is the threshold's, not a broken lab's; the message
 * gives the required and the measured rate, and the measured rate is the one in the figures.
 */
import { privTest } from '../../support/priv.js';
import { faultLab, show } from './harness.js';
import { formatBitrate } from '../../../lib/checks/units.js';

privTest('fault: iperf3 min 100Gbit FAILS with required vs measured; min 1Mbit on the same lab passes', async (t) => {
  const f = faultLab(t, 'iperf-threshold.yaml', {}, 'fi');
  const r = f.checks(['run', f.file]);
  const b = r.byName;
  t.is(r.code, 1, show(b));
  t.is(b['within-reach']?.status, 'passed', show(b));
  t.true((b['within-reach']!.figures.bps as number) > 1e6);
  const over = b['beyond-the-link']!;
  t.is(over?.status, 'failed', `a 100 Gbit/s threshold must fail on a veth/VXLAN lab\n${show(b)}`);
  const m = /^expected throughput ≥ 100 Gbit\/s, saw ([0-9.]+ [kMG]?bit\/s)/.exec(over.message!);
  t.truthy(m, over.message);
  t.is(m?.[1], formatBitrate(over.figures.bps as number), 'the message reports the measured rate (JSON carries it as a number)');
  t.true((over.figures.bps as number) > 0 && (over.figures.bps as number) < 100e9);
}, { tools: ['iperf3', 'ss'] });
