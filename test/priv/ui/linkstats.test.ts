/**
 * Real counters: a veth pair across two namespaces, ping across it, and the sampler must see
 * the packets (rates > 0 on both ends, the exact ICMP byte count in the totals).
 */
import { LocalExecutor } from '../../../lib/exec/executor.js';
import { readLinkStats, ratesBetween, type CounterSample } from '../../../lib/stats/linkstats.js';
import { sampleLinks } from '../../../lib/stats/sampler.js';
import { privTest, randomLabName } from '../../support/priv.js';
import { scratchNamespaces, vethPair } from '../../support/scratch.js';

privTest('linkstats reads real counters of a veth pair while pinging', async (t) => {
  const name = randomLabName('ui');
  const a = `gl-${name}-a`;
  const b = `gl-${name}-b`;
  scratchNamespaces(t, a, b);
  vethPair({ ns: a, ifname: 'va', addresses: ['192.0.2.1/24'] }, { ns: b, ifname: 'vb', addresses: ['192.0.2.2/24'] });

  const exec = new LocalExecutor();
  const before = await readLinkStats(exec, a);
  const t0 = Date.now();
  const ping = await exec.run(['ip', 'netns', 'exec', a, 'ping', '-c', '20', '-i', '0.05', '-s', '1000', '-q', '192.0.2.2'], { timeoutMs: 10_000 });
  t.is(ping.exitCode, 0, ping.stderr);
  const after = await readLinkStats(exec, a);
  const [va] = ratesBetween(before, after, t0, Date.now()).filter((r) => r.ifname === 'va');
  t.truthy(va);
  // 20 echo requests of 1000 B payload = 1042-byte frames; ARP/ND may add a few more.
  t.true(va!.totals.txPackets - before.find((l) => l.ifname === 'va')!.txPackets >= 20);
  t.true(va!.totals.txBytes - before.find((l) => l.ifname === 'va')!.txBytes >= 20 * 1042);
  t.true(va!.txPps > 0 && va!.rxPps > 0);
  t.is(va!.totals.errors.rx_frame_errors, 0, '-s -s gives the detailed error counters');

  // The ~1 s sampler sees traffic on both namespaces while a ping runs.
  const samples: CounterSample[][] = [];
  const errors: Error[] = [];
  const stop = sampleLinks(exec, [{ ns: a, ifname: 'va' }, { ns: b, ifname: 'vb' }], (s) => samples.push(s), { intervalMs: 500, onError: (e) => errors.push(e) });
  try {
    await exec.run(['ip', 'netns', 'exec', a, 'ping', '-c', '30', '-i', '0.05', '-q', '192.0.2.2'], { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 600));
  } finally {
    stop();
  }
  t.deepEqual(errors, []);
  t.true(samples.length >= 2, `got ${samples.length} samples`);
  const busy = samples.flat().filter((s) => s.txPps > 0);
  t.true(busy.some((s) => s.ns === a && s.ifname === 'va'));
  t.true(samples.flat().some((s) => s.ns === b && s.ifname === 'vb' && s.rxPps > 0));
}, { tools: ['ping'] });

privTest('sampler reports an unreadable namespace through onError and keeps going', async (t) => {
  const errors: Error[] = [];
  const stop = sampleLinks(new LocalExecutor(), [{ ns: `gl-${randomLabName('ui')}-missing`, ifname: 'x' }], () => {}, { intervalMs: 200, onError: (e) => errors.push(e) });
  await new Promise((r) => setTimeout(r, 500));
  stop();
  t.true(errors.length >= 2);
  t.regex(errors[0]!.message, /reading link counters in netns gl-.*-missing failed: .*(No such file|Cannot open)/);
});
