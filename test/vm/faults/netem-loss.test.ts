/**
 * Kernel tier (VM): netem loss on the underlay makes loss thresholds fail. Healthy, a 40-echo
 * ping allowing 10% loss and a 5 Mbit/s UDP iperf3 allowing 1% both pass; with 50% loss on
 * box-1's underlay interface the ping fails naming the loss it saw, and with 5% the UDP check
 * fails naming the datagrams lost. netem is applied with tc directly (not through lib/), so the
 * checks are judged against an impairment they did not set up themselves.
 */
import { faultLab, fillRecipe, ip, onlyChecks, show } from '../../priv/faults/harness.js';
import { kernelTest } from './kernel.js';
import { execFileSync } from 'node:child_process';

kernelTest('fault (netem): 50% loss FAILS a ping allowing 10%, 5% loss FAILS UDP allowing 1%; both pass without loss', async (t) => {
  const f = faultLab(t, 'netem-thresholds.yaml', {}, 'gn');
  const up = f.gl(['up', '--no-checks', '--json', f.file]);
  t.is(up.code, 0, up.stdout + up.stderr);
  const healthy = f.checks(['check', f.file]);
  t.is(healthy.code, 0, show(healthy.byName));

  const box1 = f.ns('box-1');
  const netem = (loss: string) => execFileSync('ip', ['netns', 'exec', box1, 'tc', 'qdisc', 'replace', 'dev', 'underlay', 'root', 'netem', 'loss', loss]);
  t.teardown(() => {
    try {
      execFileSync('ip', ['netns', 'exec', box1, 'tc', 'qdisc', 'del', 'dev', 'underlay', 'root'], { stdio: 'ignore' });
    } catch {
      // the lab is already gone
    }
  });
  const text = fillRecipe('netem-thresholds.yaml', f.lab);

  netem('50%');
  const p = f.checks(['check', f.variant('ping-only.yaml', onlyChecks(text, ['ping-loss']))]).byName['ping-loss']!;
  t.is(p?.status, 'failed', `50% loss against a 10% threshold must fail\n${JSON.stringify(p)}`);
  const m = /^expected reachable \(loss ≤ 10%\), saw ([0-9.]+)% loss: (\d+)\/\d+ replies/.exec(p.message ?? '');
  t.truthy(m, p.message);
  t.true(Number(m?.[1]) > 10);

  netem('5%');
  const u = f.checks(['check', f.variant('udp-only.yaml', onlyChecks(text, ['udp-loss']))]).byName['udp-loss']!;
  t.is(u?.status, 'failed', `5% loss against a 1% threshold must fail\n${JSON.stringify(u)}`);
  t.regex(u.message ?? '', /^expected loss ≤ 1%, saw [0-9.]+% \(\d+\/\d+ datagrams lost\)$/);

  ip(['netns', 'exec', box1, 'tc', 'qdisc', 'del', 'dev', 'underlay', 'root']);
  const again = f.checks(['check', f.file]);
  t.is(again.code, 0, `without the loss both pass again\n${show(again.byName)}`);
}, { features: ['geneve', 'netem'], tools: ['ping', 'iperf3', 'ss'] });
