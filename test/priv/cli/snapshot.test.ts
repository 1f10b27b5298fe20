/**
 * The CLI's startup snapshot (dist/geneve-lab.blob, cli/snapshot.ts) is what `geneve-lab vm -- …`
 * runs inside the guest. It must be the same program as bin/geneve-lab.js: same output, same exit
 * codes, same positioned recipe errors — and it must build and check a real lab, loading koffi
 * (the in-process netlink and ICMP paths) at run time although its modules were evaluated at
 * build time. Run on the host here; inside the VM the kernel tier runs its CLI calls through it.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privTest, randomLabName } from '../../support/priv.js';
import { cli, cliFrom, ROOT, type CliResult } from '../../support/cli.js';
import { snapshotOptions } from '../../../lib/vm/project.js';

const dir = mkdtempSync(join(tmpdir(), 'gl-snapshot-'));
const stateDir = join(dir, 'state');
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function fromSnapshot(args: string[]): CliResult {
  const snap = snapshotOptions(ROOT);
  if (!snap) throw new Error('dist/geneve-lab.blob is missing or stale: run `npm run build` (the test runner does) before this test');
  return cliFrom(snap, args);
}

test('the npm build made a snapshot this Node.js can load, newer than the compiled CLI', (t) => {
  t.truthy(snapshotOptions(ROOT), 'dist/geneve-lab.blob absent, stale or made by another Node.js');
});

const broken = join(dir, 'broken.yaml');
writeFileSync(broken, 'lab: broken\nhosts:\n  - name: h1\n    interfaces: [{ ipv4: 192.0.2.300/24 }]\n');

for (const args of [
  ['--version'],
  ['--help'],
  ['validate', 'recipes/kernel-geneve.yaml'],
  ['validate', '--json', 'recipes/ovn-geneve.yaml'],
  ['validate', broken],
  ['validate', join(dir, 'absent.yaml')],
  ['plan', 'recipes/kernel-geneve.yaml'],
  ['frobnicate'],
  ['run'],
]) {
  test(`same stdout, stderr and exit code as bin/geneve-lab.js: ${args.map((a) => a.replace(dir, '<tmp>')).join(' ')}`, (t) => {
    const want = cli(args);
    const got = fromSnapshot(args);
    t.is(got.code, want.code, got.stderr);
    t.is(got.stdout, want.stdout);
    t.is(got.stderr, want.stderr);
  });
}

test('a broken recipe is still reported with file, line, column and field from the snapshot', (t) => {
  const r = fromSnapshot(['validate', broken]);
  t.is(r.code, 2);
  t.regex(r.stderr, /broken\.yaml:4:\d+/);
  t.regex(r.stderr, /192\.0\.2\.300/);
});

privTest(
  'run of the quickstart from the snapshot: lab up, every check passes in-process (koffi loaded at run time), torn down',
  async (t) => {
    const lab = randomLabName('snap');
    const file = join(dir, `${lab}.yaml`);
    writeFileSync(file, readFileSync(join(ROOT, 'recipes', 'quickstart.yaml'), 'utf8').replace(/^lab: quickstart$/m, `lab: ${lab}`));
    t.teardown(() => cli(['--state-dir', stateDir, 'down', lab]));
    // --backend netlink: fail rather than fall back to iproute2 if koffi did not load.
    const r = fromSnapshot(['--state-dir', stateDir, '--backend', 'netlink', 'run', '--json', file]);
    t.is(r.code, 0, r.stderr + r.stdout);
    const out = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; kind: string; status: string; raw?: string }[] };
    t.true(out.ok);
    t.true(out.checks.length >= 4);
    for (const c of out.checks) t.is(c.status, 'passed', c.name);
    const pings = out.checks.filter((c) => c.kind === 'ping');
    t.is(pings.length, 2);
    for (const p of pings) t.regex(p.raw ?? '', /in-process ICMP/, `${p.name} was not sent in-process`);
    const status = fromSnapshot(['--state-dir', stateDir, 'status', '--json', lab]);
    t.deepEqual(JSON.parse(status.stdout).labs, [], 'nothing of the lab is left');
  },
  { tools: ['ovs-vswitchd', 'ovsdb-server', 'ovs-vsctl', 'ovs-appctl', 'ovsdb-tool', 'ovs-ofctl', 'ethtool'] },
);
