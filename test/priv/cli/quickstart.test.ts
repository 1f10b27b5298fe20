import test from 'ava';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privTest, randomLabName } from '../../support/priv.js';
import { cli } from '../../support/cli.js';
import { netnsList, systemSnapshot } from '../../support/oracle.js';
import { execFileSync } from 'node:child_process';

const stateDir = mkdtempSync(join(tmpdir(), 'gl-cli-state-'));
test.after.always(() => rmSync(stateDir, { recursive: true, force: true }));
const g = (args: string[]) => cli(['--state-dir', stateDir, ...args]);

/** The quickstart recipe under a random lab name, so parallel runs never collide. */
function quickstartCopy(t: { teardown(fn: () => void): void }, transform: (s: string) => string = (s) => s) {
  const lab = randomLabName('q');
  const dir = mkdtempSync(join(tmpdir(), 'gl-q-'));
  const file = join(dir, 'quickstart.yaml');
  writeFileSync(file, transform(readFileSync('recipes/quickstart.yaml', 'utf8').replace(/^lab: quickstart$/m, `lab: ${lab}`)));
  t.teardown(() => {
    g(['down', lab]);
    rmSync(dir, { recursive: true, force: true });
  });
  return { lab, file };
}

const leftovers = (lab: string) => netnsList().filter((n) => n.startsWith(`gl-${lab}-`));
const procsIn = (lab: string) =>
  execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(`gl-${lab}-`) && !l.includes('ps -eo'));

privTest('quickstart: run brings the lab up, its pings pass, and tears it down leaving nothing', async (t) => {
  const { lab, file } = quickstartCopy(t);
  const before = systemSnapshot((ns) => ns.startsWith(`gl-${lab}-`));
  const r = g(['run', file]);
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /PASS\s+left-to-right-v4/);
  t.regex(r.stdout, /PASS\s+left-to-right-v6/);
  t.regex(r.stdout, /all checks passed; torn down/);
  t.deepEqual(leftovers(lab), []);
  t.deepEqual(procsIn(lab), []);
  t.deepEqual(systemSnapshot((ns) => ns.startsWith(`gl-${lab}-`)), before);
});

privTest('up / status / check / up again / down through the CLI, with --json and JUnit', async (t) => {
  const { lab, file } = quickstartCopy(t);
  const dir = mkdtempSync(join(tmpdir(), 'gl-junit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // --verbose with --json: the JSON alone on stdout, the stamped progress on stderr.
  const up = g(['up', '--json', '--verbose', file]);
  t.is(up.code, 0, up.stderr);
  const upJson = JSON.parse(up.stdout);
  t.regex(up.stderr, /^\[ *\d+\.\d s\]   ✓ \[1\] network "underlay": netns\.add \(\d+ ms\)$/m);
  t.regex(up.stderr, /^\[ *\d+\.\d s\]   ✓ check left-to-right-v4: passed \(\d+ ms\)$/m);
  t.true(upJson.up.changed);
  // The recipe's two pings, then the default vswitchd log gate of each OVS host.
  t.deepEqual(upJson.checks.map((c: any) => [c.name, c.status]), [['left-to-right-v4', 'passed'], ['left-to-right-v6', 'passed'], ['vswitchd-log box-1', 'passed'], ['vswitchd-log box-2', 'passed']]);
  const st = JSON.parse(g(['status', '--json', lab]).stdout).labs;
  t.is(st[0].phase, 'up');
  t.is(st[0].namespaces.length, 5);
  t.true(st[0].namespaces.every((n: any) => n.present));
  const check = g(['check', lab, '--junit', join(dir, 'junit.xml')]);
  t.is(check.code, 0, check.stderr);
  const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
  t.regex(junit, /<testsuite name="[^"]+" tests="4" failures="0" errors="0"/);
  const again = JSON.parse(g(['up', '--json', '--no-checks', file]).stdout);
  t.false(again.up.changed, 'up on a running identical lab changes nothing');
  const down = g(['down', '--verbose', file]);
  t.is(down.code, 0, down.stderr);
  t.regex(down.stderr, /^\[ *\d+\.\d s\]   ✓ undo \[\d+\] .*: netns\.del \(\d+ ms\)$/m);
  t.deepEqual(leftovers(lab), []);
  const downAgain = g(['down', lab]);
  t.is(downAgain.code, 5, 'down of a lab that is not up: exit 5 (lab_not_up)');
  t.regex(downAgain.stderr, /not up: nothing to remove/);
});

privTest('a failing check exits 1 with what was expected and what was seen', async (t) => {
  // The right guest gets an address outside the left guest's subnet, so the ping cannot pass.
  const { lab, file } = quickstartCopy(t, (s) => s.replace('203.0.113.2/24', '198.51.100.2/24').replace(/- name: left-to-right-v6[\s\S]*$/, ''));
  const r = g(['run', file]);
  t.is(r.code, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /FAIL\s+left-to-right-v4/);
  t.regex(r.stdout, /expected reachable/);
  t.deepEqual(leftovers(lab), []);
});

privTest('a recipe needing a kernel feature this machine lacks fails before any change, exit 3, with the fix', async (t) => {
  const probe = execFileSync('sh', ['-c', 'ip netns add gl-probe-x$$ && (ip -n gl-probe-x$$ link add g type geneve id 1 remote 192.0.2.1 2>&1; ip netns del gl-probe-x$$)'], { encoding: 'utf8' });
  if (!/Unknown device type/.test(probe)) {
    t.log('this kernel HAS geneve: the missing-feature path is covered by the pure requirement tests instead');
    t.pass();
    return;
  }
  // The quickstart runs on OVS (which does Geneve in userspace); the kernel's own Geneve device
  // is what this kernel lacks, so use the kernel-geneve recipe under a random lab name.
  const lab = randomLabName('q');
  const dir = mkdtempSync(join(tmpdir(), 'gl-q-'));
  const file = join(dir, 'kernel-geneve.yaml');
  writeFileSync(file, readFileSync('recipes/kernel-geneve.yaml', 'utf8').replace(/^lab: kernel-geneve$/m, `lab: ${lab}`));
  t.teardown(() => {
    g(['down', lab]);
    rmSync(dir, { recursive: true, force: true });
  });
  const r = g(['up', file]);
  t.is(r.code, 3, r.stderr);
  t.regex(r.stderr, /this kernel has no geneve support/);
  t.regex(r.stderr, /geneve-lab vm -- up/);
  t.deepEqual(leftovers(lab), [], 'nothing was created');
});
