/**
 * The doc recipes the host tier cannot run (test/priv/cli/docs-recipes.test.ts skips them loudly:
 * they need kernel features a machine of this kind lacks — see ../shared/reference/environment.md)
 * run here, in the VM: `run` (up, every check, down), nothing left behind. Together the two tiers
 * run every complete recipe of README.md and docs/ except those on SSH machines outside any lab.
 * Which blocks: those whose requirements (lib/doctor's `requirements`, what `up` probes) include a
 * feature of VM_ONLY. Elsewhere (no kernel geneve) every test here is skipped LOUDLY.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ROOT } from '../../support/cli.js';
import { docRecipes } from '../../support/doc-recipes.js';
import { netnsList } from '../../support/oracle.js';
import { randomLabName } from '../../support/priv.js';
import { cliIn } from '../../support/ssh-recipes.js';
import { kernelTest, type Feature } from '../faults/kernel.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { requirements } from '../../../lib/doctor/doctor.js';
import type { KernelFeature } from '../../../lib/doctor/probes.js';

/** What the development machine's kernel lacks (environment.md) and the VM's Debian kernel has. */
const VM_ONLY: readonly KernelFeature[] = ['geneve', 'gretap', 'netem', 'esp', 'openvswitch'];

/** The kernel tier's probes for those needs (kernel geneve always: it is what marks the VM). */
function vmFeatures(needs: KernelFeature[]): Feature[] {
  const map: Partial<Record<KernelFeature, Feature>> = { esp: 'esp', netem: 'netem', openvswitch: 'ovs-kernel' };
  return ['geneve', ...needs.flatMap((n) => (map[n] ? [map[n]!] : []))];
}

const dir = mkdtempSync(join(tmpdir(), 'gl-vmdocs-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const blocks = docRecipes(ROOT).flatMap((b) => {
  if (/^\s*ssh:/m.test(b.text)) return [];
  const needs = requirements(loadRecipeText(b.text, `${b.file}:${b.line}`).lab).features.filter((f) => VM_ONLY.includes(f));
  return needs.length ? [{ ...b, needs }] : [];
});

test('the docs have recipes that only the VM can run (else this file tests nothing)', (t) => {
  t.true(blocks.length >= 1, 'no doc recipe needs a VM-only kernel feature: update VM_ONLY or drop this file');
});

for (const b of blocks) {
  kernelTest(
    `${b.file}:${b.line} (${b.lab}, needs ${b.needs.join(', ')}) runs in the VM: up, every check passes, down leaves nothing`,
    (t) => {
      t.timeout(15 * 60_000);
      const lab = randomLabName('dv');
      const file = join(dir, `${b.lab}-${b.line}.yaml`);
      writeFileSync(file, b.text.replace(/^lab: \S+/, `lab: ${lab}`));
      const r = cliIn(undefined, ['--state-dir', join(dir, `state-${lab}`), 'run', '--json', file], 14 * 60_000);
      t.is(r.code, 0, r.stdout + r.stderr);
      const doc = JSON.parse(r.stdout) as { checks: { name: string; status: string }[] };
      t.true(doc.checks.length > 0);
      t.deepEqual(doc.checks.filter((c) => c.status !== 'passed'), [], JSON.stringify(doc.checks, null, 1));
      t.deepEqual(netnsList().filter((n) => n.startsWith(`gl-${lab}-`)), [], 'run tore the lab down');
    },
    { features: vmFeatures(b.needs), tools: ['iperf3', 'tcpdump', 'ovs-vswitchd', 'ipsec'] },
  );
}
