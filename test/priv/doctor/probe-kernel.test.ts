/**
 * The kernel probe against this machine's kernel: doctor probes every feature; `up` asks only for
 * what its lab needs (each probe is a process or two — seconds in a TCG guest), and gets the same
 * verdicts for those features as the full probe gives, in the same order.
 */
import { execFileSync } from 'node:child_process';
import { probeKernel, type KernelFeature } from '../../../lib/doctor/probes.js';
import { LocalExecutor } from '../../../lib/exec/executor.js';
import { privTest } from '../../support/priv.js';

const ALL: KernelFeature[] = ['netns', 'veth', 'bridge', 'vxlan', 'geneve', 'gretap', 'netem', 'ipv6', 'openvswitch', 'esp'];
// Other test files build labs at the same time, so the machine's namespace list is not this
// test's to compare whole: what the probe could leave is a gl-probe-* namespace (the named kind)
// or its namespace holder (setpriv → unshare → sleep, a child of this process).
const probeNamespaces = () =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.startsWith('gl-probe-'));
const children = () => {
  try {
    return execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => /setpriv|unshare|sleep infinity/.test(line));
  } catch {
    return []; // ps exits 1 when there is no such process
  }
};

privTest('doctor probes every feature; up probes only those its lab needs, with the same verdicts', async (t) => {
  const exec = new LocalExecutor();
  const before = probeNamespaces();
  const full = await probeKernel(exec);
  t.deepEqual(full.map((p) => p.feature), ALL);
  t.true(full.find((p) => p.feature === 'veth')!.ok, 'veth works on any kernel these tests run on');
  for (const p of full.filter((x) => !x.ok)) t.true(p.detail.length > 0, `${p.feature}: a failed probe says why`);

  const needed: KernelFeature[] = ['netns', 'veth', 'geneve', 'ipv6'];
  const some = await probeKernel(exec, needed);
  t.deepEqual(some.map((p) => p.feature), needed);
  for (const p of some) {
    const same = full.find((x) => x.feature === p.feature)!;
    t.is(p.ok, same.ok, `${p.feature}: ${p.detail} / ${same.detail}`);
  }
  t.deepEqual(probeNamespaces(), before, 'probing leaves no probe namespace behind');
  // The holder is killed at dispose; its exit is reaped asynchronously, so allow it a moment.
  for (let i = 0; i < 50 && children().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(children(), [], 'no namespace holder process outlives the probe');
}, { tools: ['setpriv', 'unshare', 'nsenter'] });
