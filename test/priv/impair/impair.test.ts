/**
 * Impairments on this machine, whose kernel has no netem (environment.md): a recipe that
 * impairs a link at `up` is refused before any change with "unsupported by this kernel … run
 * it in the VM" (CLI requirement gate), and even without that gate the engine's apply fails
 * on the qdisc step and rolls back to nothing (both backends). An impair check step reports
 * the same words as a FAILED check while the rest of the lab is checked, and the failure
 * artifacts hold OVS's own state of the hosts running OVS. Where netem exists these tests
 * skip loudly: test/vm/checks/impair-recipe.test.ts covers that side.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privTest, randomLabName, isRoot } from '../../support/priv.js';
import { netnsList, systemSnapshot } from '../../support/oracle.js';
import { twoHostRecipe } from '../../support/lab-recipes.js';
import { cli } from '../../support/cli.js';
import { tempDir } from '../../support/scratch.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { Engine } from '../../../lib/engine/engine.js';
import { StateStore } from '../../../lib/engine/state.js';
import { LocalExecutor } from '../../../lib/exec/executor.js';
import { createIproute2Backend } from '../../../lib/backends/iproute2/index.js';
import { createNetlinkBackend } from '../../../lib/backends/netlink/index.js';
import type { Backend } from '../../../lib/backends/backend.js';
import { ApplyError } from '../../../lib/errors.js';

const exec = new LocalExecutor();
const stateDir = mkdtempSync(join(tmpdir(), 'gl-imp-state-'));
test.after.always(() => rmSync(stateDir, { recursive: true, force: true }));
const g = (args: string[]) => cli(['--state-dir', stateDir, ...args]);
const labNs = (lab: string) => netnsList().filter((n) => n.startsWith(`gl-${lab}-`));
const snapshot = (lab: string) => systemSnapshot((ns) => ns.startsWith(`gl-${lab}-`));

/** Does this kernel have netem? Tried in a throwaway namespace. */
function kernelHasNetem(): boolean {
  if (!isRoot) return false;
  const ns = `gl-netem-probe-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('tc', ['-n', ns, 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      /* never created */
    }
  }
}
const NETEM = kernelHasNetem();
/** A test that only means something on a kernel without netem (this machine). */
const noNetemTest = (title: string, fn: Parameters<typeof privTest>[1], opts?: Parameters<typeof privTest>[2]) =>
  NETEM ? test.skip(`${title} (SKIPPED: this kernel has netem; the VM tier covers it)`, () => {}) : privTest(title, fn, opts);

const impairedRecipe = (lab: string) =>
  twoHostRecipe(lab).replace('{ name: left, switch: sw1, addresses: [203.0.113.1/24, "2001:db8:100::1/64"] }', '{ name: left, switch: sw1, addresses: [203.0.113.1/24, "2001:db8:100::1/64"], impair: { delay: 20ms, loss: 1% } }');

const UNSUPPORTED = /unsupported by this kernel[\s\S]*run it in the VM/;

noNetemTest('up of a recipe with an impairment is refused before any change: "unsupported by this kernel … run it in the VM"', async (t) => {
  const lab = randomLabName('im');
  const dir = tempDir(t, 'gl-imp-');
  t.teardown(() => g(['down', lab]));
  const file = join(dir, 'impaired.yaml');
  writeFileSync(file, impairedRecipe(lab));
  const before = snapshot(lab);
  const r = g(['up', file]);
  t.not(r.code, 0);
  t.regex(r.stderr, /netem/);
  t.regex(r.stderr, /this kernel has no netem support[\s\S]*run the lab in the VM/, r.stderr);
  t.notRegex(r.stderr, /at .*\.(ts|js):\d+/, 'no stack trace');
  t.deepEqual(labNs(lab), []);
  t.deepEqual(snapshot(lab), before, 'nothing changed');
  t.false(existsSync(join(stateDir, 'labs', `${lab}.json`)), 'no lab state written');
}, { tools: ['tc'] });

for (const [name, make] of [
  ['iproute2', async () => createIproute2Backend(exec)],
  ['netlink', async () => createNetlinkBackend({ exec })],
] as [string, () => Promise<Backend>][]) {
  noNetemTest(`without the CLI gate, ${name}: the qdisc.netem step fails with the unsupported message and rollback leaves nothing`, async (t) => {
    const lab = randomLabName('ie');
    const backend = await make();
    const engine = new Engine({ exec, backend, store: new StateStore(stateDir) });
    t.teardown(async () => {
      await engine.down(lab).catch(() => undefined);
      await backend.close();
    });
    const before = snapshot(lab);
    const { lab: model } = loadRecipeText(impairedRecipe(lab), 'impaired.yaml');
    const e = await t.throwsAsync(engine.up(model), { instanceOf: ApplyError });
    t.regex(e!.message, /guest "left" impairment/);
    t.regex(e!.message, UNSUPPORTED, e!.message);
    t.deepEqual(labNs(lab), [], 'rolled back');
    t.deepEqual(snapshot(lab), before);
  }, { tools: ['tc'] });
}

noNetemTest('an impair check step FAILS with the unsupported message, the other checks still run, and artifacts hold the OVS state', async (t) => {
  const lab = randomLabName('is');
  const dir = tempDir(t, 'gl-imp-');
  t.teardown(() => g(['down', lab]));
  const file = join(dir, 'step.yaml');
  const artifacts = join(dir, 'artifacts');
  writeFileSync(
    file,
    readFileSync('recipes/quickstart.yaml', 'utf8')
      .replace(/^lab: quickstart$/m, `lab: ${lab}`)
      .replace(/^checks:[\s\S]*$/m, `checks:
  - name: plain
    ping: { from: left, to: right, family: ipv4 }
  - name: lossy
    impair: { on: { host: box-2, interface: underlay }, loss: 1%, delay: 10ms }
    then:
      - ping: { from: left, to: right, family: ipv4 }
`),
  );
  const before = snapshot(lab);
  const junit = join(dir, 'junit.xml');
  const r = g(['run', '--json', '--junit', junit, '--artifacts', artifacts, file]);
  t.not(r.code, 0, 'a failed check fails the run');
  // JUnit: a step this kernel cannot run is <skipped> with the reason (and its inner check too), not a failure.
  const xml = readFileSync(junit, 'utf8');
  t.regex(xml, /<testcase classname="[^"]+\.impair" name="lossy"[^>]*>\n {6}<skipped message="impairment on host &quot;box-2&quot; interface &quot;underlay&quot;: unsupported by this kernel/);
  t.regex(xml, /<testcase classname="[^"]+\.impair\.lossy" name="lossy › ping[^"]*"[^>]*>\n {6}<skipped message="[^"]*unsupported by this kernel/);
  t.regex(xml, /<testsuite name="[^"]+" tests="\d+" failures="0" errors="0" skipped="2"/);
  const out = JSON.parse(r.stdout);
  const checks = out.checks as { name: string; status: string; message?: string; children?: { name: string; status: string; message?: string }[] }[];
  t.deepEqual(checks.map((c) => [c.name, c.status]), [['plain', 'passed'], ['lossy', 'failed'], ['vswitchd-log box-1', 'passed'], ['vswitchd-log box-2', 'passed']], r.stdout);
  t.regex(checks[1]!.message!, /^impairment on host "box-2" interface "underlay": unsupported by this kernel \(no netem qdisc.*run it in the VM/);
  t.deepEqual(checks[1]!.children!.map((c) => [c.name, c.status, c.message]), [['lossy › ping left→right ipv4', 'error', 'not run: the impairment could not be applied']]);
  // Failure artifacts: the step's file, and OVS's own view of both OVS hosts.
  t.true(existsSync(join(artifacts, 'checks', 'lossy.txt')));
  for (const host of ['box-1', 'box-2']) {
    const d = join(artifacts, 'ovs', host);
    t.regex(readFileSync(join(d, 'vsctl-show.txt'), 'utf8'), /Bridge "?sw[12]"?[\s\S]*Port "?tun0"?[\s\S]*type: geneve/);
    const flows = readdirSync(d).filter((f) => f.startsWith('flows-')).sort();
    t.deepEqual(flows, [`flows-br-underlay.txt`, `flows-sw${host.slice(-1)}.txt`].sort(), readdirSync(d).join(', '));
    t.regex(readFileSync(join(d, `flows-sw${host.slice(-1)}.txt`), 'utf8'), /actions=NORMAL/);
    t.regex(readFileSync(join(d, 'tnl-ports.txt'), 'utf8'), /genev_sys_6081 \(\d+\) ref_cnt=\d+/);
  }
  t.deepEqual(labNs(lab), [], 'run tears down');
  t.deepEqual(snapshot(lab), before);
}, { tools: ['tc', 'ovs-vsctl', 'ovs-vswitchd', 'ovsdb-server', 'ovs-ofctl', 'ovs-appctl'] });
