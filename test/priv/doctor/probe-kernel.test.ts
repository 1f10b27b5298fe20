/**
 * The kernel probe against this machine's kernel: doctor probes every feature; `up` asks only for
 * what its lab needs (each probe is a process or two — seconds in a TCG guest), and gets the same
 * verdicts for those features as the full probe gives, in the same order.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { IP_BATCH_PROBES, probeKernel, type KernelFeature } from '../../../lib/doctor/probes.js';
import { LocalExecutor, type Executor } from '../../../lib/exec/executor.js';
import { privTest } from '../../support/priv.js';
import { assertRequirements, requirements, startKernelProbe } from '../../../lib/doctor/doctor.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { PrerequisiteError } from '../../../lib/errors.js';
import { twoHostRecipe } from '../../support/lab-recipes.js';

const ALL: KernelFeature[] = ['netns', 'veth', 'bridge', 'vxlan', 'geneve', 'gretap', 'netem', 'ipv6', 'openvswitch', 'esp'];
// Other test files build labs at the same time, so the machine's namespace list is not this
// test's to compare whole: what the probe could leave is a gl-probe-* namespace (the named kind)
// or a probe process still running (unshare'd ip or tc, a child of this process).
const probeNamespaces = () =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.startsWith('gl-probe-'));
const children = () => {
  try {
    return execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => /unshare|ip -force -batch|tc qdisc/.test(line));
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
  t.deepEqual(children(), [], 'no probe process outlives the probe');

  // One batch for every link/address probe must judge each line as that command alone would:
  // the same command by itself, in a namespace of its own.
  // Every batched probe line, as its own `ip` command (ipv6 included: same words either way).
  const alone = Object.fromEntries(Object.entries(IP_BATCH_PROBES).map(([f, p]) => [f, p!.line.split(' ')]));
  t.deepEqual(Object.keys(alone).sort(), ['bridge', 'geneve', 'gretap', 'ipv6', 'veth', 'vxlan'], 'every batched probe is compared');
  for (const [feature, args] of Object.entries(alone) as [KernelFeature, string[]][]) {
    const r = spawnSync('unshare', ['--net', '--', 'ip', ...args], { encoding: 'utf8' });
    const batched = full.find((p) => p.feature === feature)!;
    t.is(batched.ok, r.status === 0, `${feature}: batch says ${batched.ok}, alone exit ${r.status}`);
    if (!batched.ok) t.is(batched.detail, r.stderr.trim().replace(/^Error: /, ''), `${feature}: the kernel's own words`);
  }
}, { tools: ['unshare'] });

privTest('up starts the probe early for what its lab needs; a probe list that does not answer every need is not trusted', async (t) => {
  const exec = new LocalExecutor();
  const lab = loadRecipeText(twoHostRecipe('early-probe', 'type: geneve\n    vni: 5'), 'early-probe.yaml').lab;
  const early = await startKernelProbe(lab, exec);
  t.truthy(early, 'root with ip: the probe starts');
  t.deepEqual(early!.map((p) => p.feature).sort(), [...requirements(lab).features].sort());
  const geneve = early!.find((p) => p.feature === 'geneve')!;
  // A list that says nothing of geneve (e.g. probed for another lab) must not pass geneve unasked.
  const partial = early!.filter((p) => p.feature !== 'geneve');
  const outcome = assertRequirements(lab, exec, partial);
  if (geneve.ok) await t.notThrowsAsync(outcome);
  else await t.throwsAsync(outcome, { instanceOf: PrerequisiteError, message: /no geneve support/ });
}, { tools: ['unshare'] });

privTest('on a machine reached through an executor (SSH), the probe uses one tagged named namespace, removed after, with the same verdicts', async (t) => {
  const local = new LocalExecutor();
  // The same machine, seen as a remote one: the probe cannot use unshare around its processes.
  const remote: Executor = { where: 'ssh root@probe-test', run: (argv, opts) => local.run(argv, opts), start: (argv, opts) => local.start(argv, opts) };
  const mine = new Set(probeNamespaces());
  const seen = new Set<string>();
  const watching: Executor = {
    ...remote,
    run: (argv, opts) => {
      const i = argv.indexOf('exec');
      if (argv[0] === 'ip' && argv[1] === 'netns' && i === 2) seen.add(argv[3]!);
      return remote.run(argv, opts);
    },
  };
  const viaRemote = await probeKernel(watching);
  const viaLocal = await probeKernel(local);
  t.deepEqual(viaRemote, viaLocal, 'the same verdicts and words either way');
  t.is(seen.size, 1, 'every probe command ran in one named namespace');
  t.regex([...seen][0]!, /^gl-probe-/);
  t.deepEqual(probeNamespaces().filter((n) => !mine.has(n)), [], 'the named probe namespace is removed');
}, { tools: ['unshare'] });
