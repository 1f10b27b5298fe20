import test from 'ava';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { requirements, assertRequirements } from '../../../lib/doctor/doctor.js';
import { PrerequisiteError } from '../../../lib/errors.js';
import { LocalExecutor } from '../../../lib/exec/executor.js';
import type { FeatureProbe } from '../../../lib/doctor/probes.js';
import { twoHostRecipe } from '../../support/lab-recipes.js';

const geneveLab = loadRecipeText(twoHostRecipe('r1', 'type: geneve\n    vni: 5'), 'r1.yaml').lab;
const all = (ok: boolean, but: string[] = []): FeatureProbe[] =>
  (['netns', 'veth', 'bridge', 'vxlan', 'geneve', 'gretap', 'netem', 'ipv6', 'openvswitch'] as const).map((feature) => ({
    feature,
    ok: but.includes(feature) ? !ok : ok,
    detail: 'probe',
  }));

test('a kernel geneve tunnel needs the geneve feature; ping checks need ping', (t) => {
  const r = requirements(geneveLab);
  t.true(r.features.includes('geneve'));
  t.false(r.features.includes('vxlan'));
  t.true(r.tools.includes('ping'));
});

test('a missing kernel feature is a PrerequisiteError naming it and the fix (exit 3)', async (t) => {
  const e = await t.throwsAsync(assertRequirements(geneveLab, new LocalExecutor(), all(true, ['geneve'])), { instanceOf: PrerequisiteError });
  t.is(e!.exitCode, 3);
  t.regex(e!.message, /this kernel has no geneve support/);
  t.regex(e!.message, /geneve-lab vm -- up RECIPE/);
});

test('everything present: no error', async (t) => {
  await t.notThrowsAsync(assertRequirements(geneveLab, new LocalExecutor(), all(true)));
});

test('kernel tunnels and OVS switches on SSH hosts need nothing of this machine (the boxes build them)', async (t) => {
  const text = twoHostRecipe('r2', 'type: geneve\n    vni: 5')
    .replace('  - name: box-1\n', '  - name: box-1\n    ssh: vagrant@192.0.2.11\n')
    .replace('  - name: box-2\n', '  - name: box-2\n    ssh: vagrant@192.0.2.12\n');
  const remote = loadRecipeText(text, 'r2.yaml').lab;
  t.true(remote.hosts.every((h) => h.placement.kind === 'ssh'), 'the recipe really has SSH hosts');
  const r = requirements(remote);
  t.false(r.features.includes('geneve'));
  // This machine without geneve can still drive two boxes that have it.
  await t.notThrowsAsync(assertRequirements(remote, new LocalExecutor(), all(true, ['geneve'])));
  // The same lab on simulated hosts still needs it here.
  await t.throwsAsync(assertRequirements(geneveLab, new LocalExecutor(), all(true, ['geneve'])), { instanceOf: PrerequisiteError });
});
