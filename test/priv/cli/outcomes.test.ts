/**
 * Issue 17, problems 5, 6 and 7: exit codes that mean what they say, and output that may vanish.
 * 5. stdout/stderr closed under the CLI (`status | true`, `up --verbose 2>&1 | head -3`): no stack
 *    trace, the usual exit code, and `up` finishes the lab (never a half lab).
 * 6. A missing ovs-vswitchd / iperf3 / tcpdump is exit 3 before any change (and doctor, under the
 *    same PATH, says MISS); not root is exit 3 "needs root" for every verb that needs it; check or
 *    down of a lab that is not up is exit 5; a second `up` while one holds the lab is exit 6;
 *    `--state-dir /dev/null` is exit 2 with a clear message (never 70).
 * 7. `run` of a lab that `up` built refuses (exit 2, "lab X is up") and leaves it up.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { privTest, randomLabName } from '../../support/priv.js';
import { cli, CLI_ARGV, ROOT } from '../../support/cli.js';
import { twoHostRecipe } from '../../support/lab-recipes.js';
import { leftovers, NOTHING, startCli } from '../../support/chaos.js';

const stateDir = mkdtempSync(join(tmpdir(), 'gl-out-state-'));
test.after.always(() => rmSync(stateDir, { recursive: true, force: true }));
const g = (args: string[], env: Record<string, string> = {}) => cli(['--state-dir', stateDir, ...args], env);
const OVS = ['ovs-vswitchd', 'ovsdb-server', 'ovs-vsctl', 'ovs-appctl', 'ovsdb-tool', 'ovs-ofctl', 'ethtool'];

function recipeFile(t: { teardown(fn: () => void): void }, text: (lab: string) => string, prefix = 'u'): { lab: string; file: string } {
  const lab = randomLabName(prefix);
  const dir = mkdtempSync(join(tmpdir(), 'gl-out-'));
  const file = join(dir, 'lab.yaml');
  writeFileSync(file, text(lab));
  t.teardown(() => {
    g(['down', lab]);
    rmSync(dir, { recursive: true, force: true });
  });
  return { lab, file };
}
const quickstart = (lab: string) => readFileSync('recipes/quickstart.yaml', 'utf8').replace(/^lab: quickstart$/m, `lab: ${lab}`);

/** A PATH of every program of the system's bin directories except `without`. */
function pathWithout(t: { teardown(fn: () => void): void }, without: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'gl-path-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const bin of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'])
    for (const f of existsSync(bin) ? readdirSync(bin) : [])
      if (!without.includes(f) && !existsSync(join(dir, f))) symlinkSync(join(bin, f), join(dir, f));
  return dir;
}

/** A shell pipeline around the CLI; returns the CLI's own exit code and what reached the end of the pipe. */
function pipeline(cliArgs: string[], tail: string): { code: number; out: string } {
  const argv = [process.execPath, ...CLI_ARGV, '--state-dir', stateDir, ...cliArgs];
  const r = spawnSync('bash', ['-c', `"$@" ${tail}; exit \${PIPESTATUS[0]}`, 'bash', ...argv], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
  return { code: r.status ?? -1, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

privTest('problem 5: status into a closed pipe ends quietly with exit 0', async (t) => {
  const { lab, file } = recipeFile(t, (l) => twoHostRecipe(l));
  t.is(g(['up', '--no-checks', file]).code, 0);
  for (const tail of ['| true', '| head -1']) {
    const r = pipeline(['status', lab], tail);
    t.is(r.code, 0, `status ${tail}: ${r.out}`);
    t.notRegex(r.out, /EPIPE|internal error|\n\s+at /, `status ${tail}`);
  }
});

privTest('problem 5: up --verbose 2>&1 | head -3 finishes the lab (no half lab) and exits 0', async (t) => {
  const { lab, file } = recipeFile(t, quickstart);
  const r = pipeline(['up', '--verbose', file], '2>&1 | head -3');
  t.is(r.code, 0, r.out);
  t.is(r.out.trim().split('\n').length, 3);
  const st = JSON.parse(g(['status', '--json', lab]).stdout).labs;
  t.is(st[0].phase, 'up', 'the lab was finished, not left half built');
  t.is(st[0].namespaces.length, 5);
  t.true(st[0].namespaces.every((n: { present: boolean }) => n.present));
}, { tools: OVS });

privTest('problem 6: a missing ovs-vswitchd is exit 3 before any change, and doctor under the same PATH says so', async (t) => {
  const { lab, file } = recipeFile(t, quickstart);
  const PATH = pathWithout(t, ['ovs-vswitchd']);
  const up = g(['up', file], { PATH });
  t.is(up.code, 3, up.stderr);
  t.regex(up.stderr, /ovs-vswitchd is not installed \(or not on PATH\)/);
  t.deepEqual(leftovers(lab, stateDir), NOTHING, 'nothing was created');
  const doctor = cli(['doctor', '--json'], { PATH });
  const item = (JSON.parse(doctor.stdout) as { items: { feature: string; ok: boolean }[] }).items.find((i) => i.feature === 'ovs-vswitchd');
  t.false(item?.ok, 'doctor reports it missing under the same PATH');
}, { tools: OVS });

for (const [tool, checks] of [
  ['iperf3', '  - { name: tcp, iperf: { from: left, to: right, duration: 1 } }'],
  ['tcpdump', '  - { name: p, ping: { from: left, to: right } }\n  - capture: { host: box-2, interface: underlay, during: p, expect: { vxlan.vni: 123 } }'],
] as const) {
  privTest(`problem 6: a missing ${tool} is exit 3 before any change (not a failed check)`, async (t) => {
    const { lab, file } = recipeFile(t, (l) => twoHostRecipe(l).replace(/checks:\n[\s\S]*$/, `checks:\n${checks}\n`));
    const r = g(['run', file], { PATH: pathWithout(t, [tool]) });
    t.is(r.code, 3, r.stdout + r.stderr);
    t.regex(r.stderr, new RegExp(`${tool} is not installed`));
    t.deepEqual(leftovers(lab, stateDir), NOTHING);
  });
}

const nobodyCli = join(ROOT, 'bin/geneve-lab.js');
const built = existsSync(join(ROOT, 'dist/cli/main.js'));
privTest('problem 6: not root is exit 3 "needs root" for up, run, check, down, gc and status', async (t) => {
  if (!built) {
    t.log('!!! dist/ is not built (npm run build): the non-root CLI cannot be run from sources as nobody');
    t.fail('dist/ missing: run `npm run build` first');
    return;
  }
  const { file } = recipeFile(t, (l) => twoHostRecipe(l));
  chmodSync(dirname(file), 0o755); // nobody reads the recipe (a mkdtemp directory is 0700)
  for (const args of [['up', file], ['run', file], ['check', 'some-lab'], ['down', 'some-lab'], ['gc'], ['status']]) {
    const r = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, nobodyCli, '--state-dir', stateDir, ...args], { encoding: 'utf8', cwd: '/' });
    t.is(r.status, 3, `${args[0]}: ${r.stderr}`);
    t.regex(r.stderr, new RegExp(`geneve-lab ${args[0]} needs root`), args[0]);
  }
}, { tools: ['setpriv'] });

privTest('problem 6: check and down of a lab that is not up are exit 5 (lab_not_up), with --json carrying the code', async (t) => {
  const lab = randomLabName('n');
  const check = g(['check', lab]);
  t.is(check.code, 5, check.stderr);
  t.regex(check.stderr, new RegExp(`lab "${lab}" is not up`));
  const down = g(['down', lab]);
  t.is(down.code, 5, down.stderr);
  t.regex(down.stderr, /not up: nothing to remove/);
  const json = JSON.parse(g(['check', '--json', lab]).stdout);
  t.like(json, { schema: 'geneve-lab/check/v1', lab, ok: false, exit_code: 5, error: { code: 'lab_not_up' } });
});

privTest('problem 6: a second up while another holds the lab is exit 6 (lab_busy); nothing of the first is touched', async (t) => {
  const { lab, file } = recipeFile(t, (l) => twoHostRecipe(l));
  const first = startCli(['--state-dir', stateDir, 'up', '--no-checks', file], { GENEVE_LAB_PAUSE_AFTER_STEP: '5' });
  await first.waitFor(/paused after step 5\b/);
  const before = leftovers(lab, stateDir).namespaces;
  const second = g(['up', '--no-checks', file]);
  t.is(second.code, 6, second.stderr);
  t.regex(second.stderr, new RegExp(`lab "${lab}" is in use by geneve-lab process ${first.child.pid} \\(up\\)`));
  t.deepEqual(leftovers(lab, stateDir).namespaces, before, 'the loser changed nothing');
  t.is(g(['down', lab]).code, 6, 'down waits its turn too');
  first.child.kill('SIGCONT');
  t.is(await first.exit, 0, first.stderr());
  t.is(JSON.parse(g(['status', '--json', lab]).stdout).labs[0].phase, 'up');
});

privTest('problem 6: --state-dir /dev/null is a clear usage error (exit 2), not an internal error', async (t) => {
  for (const dir of ['/dev/null', '/dev/null/sub']) {
    const r = cli(['--state-dir', dir, 'status']);
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, /--state-dir .*(is not a directory|not a directory)/);
    t.notRegex(r.stderr, /internal error/);
  }
});

privTest('problem 7: run of a lab that up built refuses (exit 2) and leaves it up', async (t) => {
  const { lab, file } = recipeFile(t, (l) => twoHostRecipe(l));
  t.is(g(['up', '--no-checks', file]).code, 0);
  const r = g(['run', file]);
  t.is(r.code, 2, r.stdout + r.stderr);
  t.regex(r.stderr, new RegExp(`lab "${lab}" is up .*use \`geneve-lab check ${lab}\`, or \`geneve-lab down ${lab}\` first`));
  const st = JSON.parse(g(['status', '--json', lab]).stdout).labs;
  t.is(st[0].phase, 'up');
  t.true(st[0].namespaces.every((n: { present: boolean }) => n.present), 'still up');
});

