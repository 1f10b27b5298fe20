/**
 * The command of issue 19's target 4, end to end as a user types it: `geneve-lab vm -- run
 * recipes/kernel-geneve.yaml` boots the disposable VM, starts the CLI there from its startup
 * snapshot (the fresh build the test runner made), builds the kernel geneve lab, passes its ping
 * and on-the-wire capture checks, tears it down, and the report and exit code reach the host.
 */
import { privTest } from '../../support/priv.js';
import { cli, ROOT } from '../../support/cli.js';
import { geneveLabArgv } from '../../../lib/vm/project.js';

privTest(
  'vm -- run recipes/kernel-geneve.yaml: the guest CLI starts from the snapshot, both checks pass, exit 0 on the host',
  async (t) => {
    const argv = geneveLabArgv(['run', '--json', 'recipes/kernel-geneve.yaml'], ROOT);
    t.is(argv[1], '--snapshot-blob', `the guest would not start from the snapshot: ${argv.join(' ')}`);
    const r = cli(['vm', '--', 'run', '--json', 'recipes/kernel-geneve.yaml']);
    t.is(r.code, 0, r.stderr + r.stdout);
    const out = JSON.parse(r.stdout) as { ok: boolean; lab: string; checks: { name: string; status: string; figures?: Record<string, number> }[] };
    t.true(out.ok);
    t.is(out.lab, 'kernel-geneve');
    t.deepEqual(out.checks.map((c) => [c.name, c.status]).sort(), [['across', 'passed'], ['on-the-wire', 'passed']]);
    const wire = out.checks.find((c) => c.name === 'on-the-wire')!;
    t.true((wire.figures?.matched ?? 0) >= 3, JSON.stringify(wire.figures));
  },
  { tools: ['qemu-system-x86_64'] },
);
