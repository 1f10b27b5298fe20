import test from 'ava';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privTest, randomLabName } from '../../support/priv.js';
import { netnsList, systemSnapshot, pingOk, ipRun } from '../../support/oracle.js';
import { twoHostRecipe } from '../../support/lab-recipes.js';
import { cli, cliSpawn } from '../../support/cli.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { Engine } from '../../../lib/engine/engine.js';
import { StateStore } from '../../../lib/engine/state.js';
import { LocalExecutor } from '../../../lib/exec/executor.js';
import { createIproute2Backend } from '../../../lib/backends/iproute2/index.js';
import { StepFailed, type Backend } from '../../../lib/backends/backend.js';
import { ApplyError, OpError } from '../../../lib/errors.js';
import { planLab } from '../../../lib/plan/plan.js';

const exec = new LocalExecutor();
const stateDir = mkdtempSync(join(tmpdir(), 'gl-state-'));
test.after.always(() => rmSync(stateDir, { recursive: true, force: true }));

function engineWith(backend: Backend) {
  return new Engine({ exec, backend, store: new StateStore(stateDir) });
}
const labNs = (lab: string) => netnsList().filter((n) => n.startsWith(`gl-${lab}-`));
/** Everything but other concurrently running tests' namespaces. */
const snapshot = (lab: string) => systemSnapshot((ns) => ns.startsWith(`gl-${lab}-`));

async function cleanup(lab: string) {
  await engineWith(createIproute2Backend(exec)).down(lab);
}

privTest('up builds the seed-003 lab, pings pass through the VXLAN tunnel, up again changes nothing, down leaves nothing', async (t) => {
  const lab = randomLabName();
  t.teardown(() => cleanup(lab));
  const before = snapshot(lab);
  const { lab: model } = loadRecipeText(twoHostRecipe(lab), 'inline.yaml');
  const engine = engineWith(createIproute2Backend(exec));
  const first = await engine.up(model);
  t.true(first.changed);
  t.deepEqual(labNs(lab).sort(), [`gl-${lab}--underlay`, `gl-${lab}-box-1`, `gl-${lab}-box-2`, `gl-${lab}-left`, `gl-${lab}-right`].sort());
  t.true(pingOk(`gl-${lab}-left`, '203.0.113.2'), 'IPv4 ping through the tunnel');
  t.true(pingOk(`gl-${lab}-left`, '2001:db8:100::2'), 'IPv6 ping through the tunnel');
  const again = await engine.up(model);
  t.false(again.changed, 'a second up on an identical lab is a no-op');
  t.is(labNs(lab).length, 5, 'nothing duplicated');
  const down = await engine.down(lab);
  t.deepEqual(down.failures, []);
  t.deepEqual(snapshot(lab), before, 'the system is exactly as before');
  t.false(existsSync(join(stateDir, 'labs', `${lab}.json`)), 'state removed');
});

privTest('up converges: a deleted namespace (drift) or a changed recipe recreates the lab', async (t) => {
  const lab = randomLabName();
  t.teardown(() => cleanup(lab));
  const engine = engineWith(createIproute2Backend(exec));
  await engine.up(loadRecipeText(twoHostRecipe(lab), 'a.yaml').lab);
  ipRun(['netns', 'del', `gl-${lab}-right`]);
  const r = await engine.up(loadRecipeText(twoHostRecipe(lab), 'a.yaml').lab);
  t.true(r.changed);
  t.true(pingOk(`gl-${lab}-left`, '203.0.113.2'));
  const changed = await engine.up(loadRecipeText(twoHostRecipe(lab, 'type: vxlan\n    vni: 124'), 'a.yaml').lab);
  t.true(changed.changed);
  t.true(pingOk(`gl-${lab}-left`, '203.0.113.2'));
});

/** Runs the real backend up to step `k`, then fails there as the kernel would. */
function failingAt(k: number): Backend {
  const real = createIproute2Backend(exec);
  return {
    ...real,
    name: 'faulty',
    async execute(steps, hooks) {
      await real.execute(steps.filter((s) => s.id < k), hooks);
      const step = steps.find((s) => s.id === k)!;
      await hooks.intent([step]);
      throw new StepFailed(step, new OpError({ subject: step.subject, request: 'injected', kernelMessage: 'injected fault', errno: 'EIO' }));
    },
  };
}

privTest('rollback after a failure at EVERY step leaves the system exactly as before', async (t) => {
  const lab = randomLabName();
  t.teardown(() => cleanup(lab));
  const { lab: model } = loadRecipeText(twoHostRecipe(lab), 'inline.yaml');
  const n = planLab(model).steps.length;
  const before = snapshot(lab);
  for (let k = 1; k <= n; k++) {
    const e = await t.throwsAsync(engineWith(failingAt(k)).up(model), { instanceOf: ApplyError });
    t.is(e!.stepId, k);
    t.deepEqual(e!.rollback.failures, [], `rollback after step ${k} complete`);
    t.regex(e!.message, /injected fault \(EIO\)/);
    t.deepEqual(snapshot(lab), before, `system unchanged after a failure at step ${k}/${n}`);
    t.false(existsSync(join(stateDir, 'labs', `${lab}.json`)), `no state left after step ${k}`);
  }
});

privTest('a real kernel error rolls back and names object, namespace, errno and the kernel message', async (t) => {
  const lab = randomLabName();
  t.teardown(() => cleanup(lab));
  // Two VXLAN devices with the same VNI and port in one namespace: the kernel refuses the second.
  // Validation refuses that recipe (semantic-conflicts.ts), so the model is changed behind its back.
  const twin = twoHostRecipe(lab, 'type: vxlan\n    vni: 123\n  - { name: tun1, between: [sw1, sw2], type: vxlan, vni: 124 }');
  const model = loadRecipeText(twin, 'dup.yaml').lab;
  model.tunnels[1]!.vxlan = { ...model.tunnels[1]!.vxlan, vni: 123 };
  const before = snapshot(lab);
  const e = await t.throwsAsync(engineWith(createIproute2Backend(exec)).up(model), { instanceOf: ApplyError });
  t.regex(e!.message, /tunnel "tun1" on host "box-1"/);
  t.regex(e!.message, new RegExp(`netns gl-${lab}-box-1`));
  t.regex(e!.message, /VNI/i);
  t.is(e!.failure.errno, 'EEXIST');
  t.regex(e!.message, /rolled back/);
  t.deepEqual(snapshot(lab), before);
});

privTest('kill -9 during up, then gc, leaves nothing behind', async (t) => {
  const lab = randomLabName();
  t.teardown(() => cleanup(lab));
  const dir = mkdtempSync(join(tmpdir(), 'gl-crash-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'lab.yaml');
  writeFileSync(file, twoHostRecipe(lab));
  const before = snapshot(lab);
  const child = cliSpawn(['--backend', 'iproute2', '--state-dir', stateDir, 'up', file], { GENEVE_LAB_PAUSE_AFTER_STEP: '20' });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d) => {
      err += String(d);
      if (err.includes('paused after step 20')) resolve();
    });
    child.on('exit', () => reject(new Error(`up exited before pausing: ${err}`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  t.true(labNs(lab).length > 0, 'the crashed up left objects behind');
  const status = cli(['--state-dir', stateDir, 'status', '--json', lab]);
  t.true(JSON.parse(status.stdout).labs[0].crashed, 'status says the lab crashed');
  const gc = cli(['--state-dir', stateDir, 'gc']);
  t.is(gc.code, 0, gc.stderr);
  t.regex(gc.stdout, new RegExp(`lab ${lab}`));
  t.deepEqual(labNs(lab), []);
  t.deepEqual(snapshot(lab), before);
});

privTest("objects the user made survive: a namespace in the lab's way stops up before any change; look-alikes survive down and gc", async (t) => {
  const lab = randomLabName();
  const other = randomLabName();
  const userNs = [`gl-${lab}-box-1`, `gl-${lab}-userns`, `gl-${lab}x-left`];
  t.teardown(async () => {
    for (const ns of userNs) if (netnsList().includes(ns)) ipRun(['netns', 'del', ns]);
    await cleanup(lab);
    await cleanup(other);
  });
  for (const ns of userNs) ipRun(['netns', 'add', ns]);
  // Inside one of them, a user link whose name and alias look like ours.
  ipRun(['-n', userNs[1]!, 'link', 'add', 'tun0', 'type', 'veth', 'peer', 'name', 'sw1']);
  ipRun(['-n', userNs[1]!, 'link', 'set', 'tun0', 'alias', `geneve-lab-user:${lab}`]);
  const before = snapshot(lab);

  const engine = engineWith(createIproute2Backend(exec));
  const e = await t.throwsAsync(engine.up(loadRecipeText(twoHostRecipe(lab), 'x.yaml').lab));
  t.regex(e!.message, new RegExp(`namespace gl-${lab}-box-1 already exists and does not belong to lab "${lab}"`));
  t.deepEqual(snapshot(lab), before, 'nothing was created');

  // Another lab that is up and healthy must survive gc as well.
  await engine.up(loadRecipeText(twoHostRecipe(other), 'o.yaml').lab);
  ipRun(['netns', 'del', userNs[0]!]);
  await engine.up(loadRecipeText(twoHostRecipe(lab), 'x.yaml').lab);
  await engine.down(lab);
  const gc = await engine.gc();
  t.deepEqual(gc.failures, []);
  for (const ns of userNs.slice(1)) t.true(netnsList().includes(ns), `${ns} survived`);
  t.true(pingOk(`gl-${other}-left`, '203.0.113.2'), 'the other lab still works after gc');
  t.is(netnsList().filter((n) => n.startsWith(`gl-${other}-`)).length, 5);
});
