/**
 * Issue 17, problem 3: Ctrl-C (SIGINT) and SIGTERM are never a half-built lab.
 * - during `up`'s apply, at several moments: no further step, rollback (saying what it undid),
 *   exit 130 (SIGTERM 143), nothing left — namespaces, OVS daemons, mounts, state files;
 * - during the checks of `up`: the checks stop, their helper processes end, the lab stays up
 *   (it was built), exit 130;
 * - during the checks of `run`: the lab is torn down, exit 130;
 * - during a rollback: a second Ctrl-C says "rolling back, press again to abandon (gc will
 *   finish)", the third abandons at once (exit 130), and `gc` finishes: nothing left.
 * Oracles: /run/netns, /proc and `ip` (test/support/chaos.ts).
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privTest, randomLabName } from '../../support/priv.js';
import { cli } from '../../support/cli.js';
import { HeldNamespaces, leftovers, netnsInodes, NOTHING, processesIn, startCli, until } from '../../support/chaos.js';

const OVS = ['ovs-vswitchd', 'ovsdb-server', 'ovs-vsctl', 'ovs-appctl', 'ovsdb-tool', 'ovs-ofctl', 'ethtool'];
const stateDir = mkdtempSync(join(tmpdir(), 'gl-int-state-'));
test.after.always(() => rmSync(stateDir, { recursive: true, force: true }));
const g = (args: string[]) => cli(['--state-dir', stateDir, ...args]);

/** The quickstart (two OVS hosts) under a random name; `pings` makes each check ping that many times. */
function quickstart(t: { teardown(fn: () => void): void }, pings?: number): { lab: string; file: string } {
  const lab = randomLabName('i');
  const dir = mkdtempSync(join(tmpdir(), 'gl-int-'));
  let text = readFileSync('recipes/quickstart.yaml', 'utf8').replace(/^lab: quickstart$/m, `lab: ${lab}`);
  if (pings) text = text.replace(/family: ipv4 \}/, `family: ipv4, count: ${pings}, interval: 0.2 }`);
  const file = join(dir, 'lab.yaml');
  writeFileSync(file, text);
  t.teardown(() => {
    g(['down', lab]);
    g(['gc']);
    rmSync(dir, { recursive: true, force: true });
  });
  return { lab, file };
}

for (const [step, sig, code] of [
  [1, 'SIGINT', 130],
  [9, 'SIGINT', 130], // box-1's OVS daemons run, its bridge exists
  [30, 'SIGTERM', 143], // a guest half made
  [41, 'SIGINT', 130], // the last step
] as const) {
  privTest(`problem 3: ${sig} after step ${step} of up rolls back, says what it undid, exits ${code}, leaves nothing`, async (t) => {
    const { lab, file } = quickstart(t);
    const up = startCli(['--state-dir', stateDir, 'up', file], { GENEVE_LAB_PAUSE_AFTER_STEP: String(step) });
    await up.waitFor(new RegExp(`paused after step ${step}\\b`));
    const held = new HeldNamespaces(`gl-${lab}-`);
    t.teardown(() => held.release());
    const inodes = held.inodes;
    up.child.kill(sig);
    t.is(await up.exit, code, up.stderr());
    t.regex(up.stderr(), new RegExp(`interrupted \\(${sig}\\) while building lab "${lab}": rolled back: \\d+ changes? undone, nothing left behind`));
    t.regex(up.stderr(), /undone \[1\] network "underlay": netns\.del/, 'the rollback lists what it undid');
    t.deepEqual(leftovers(lab, stateDir, { inodes }), NOTHING);
  }, { tools: OVS });
}

privTest('problem 3: Ctrl-C during the checks of up stops them and their helpers; the lab stays up (exit 130)', async (t) => {
  const { lab, file } = quickstart(t, 200);
  // The process path (DF/PMTU pings, SSH hosts): a ping helper process to stop. In-process pings: below.
  const up = startCli(['--state-dir', stateDir, 'up', file], { GENEVE_LAB_PROBES: 'process' });
  // The long ping runs in the left guest's namespace: interrupt while it does.
  await until(() => processesIn(netnsInodes(`gl-${lab}-left`)).some((p) => p.comm === 'ping'), 120_000, 'the ping check to start');
  const held = new HeldNamespaces(`gl-${lab}-`);
  t.teardown(() => held.release());
  const inodes = held.inodes;
  up.child.kill('SIGINT');
  t.is(await up.exit, 130, up.stderr());
  t.regex(up.stderr(), /during the checks of lab .*the checks were stopped and their helper processes ended; the lab is still up/);
  // The lab stays up: its OVS daemons run on; no check helper does.
  t.deepEqual(processesIn(inodes).filter((p) => !p.comm.startsWith('ovs')), [], 'no ping left running');
  const st = JSON.parse(g(['status', '--json', lab]).stdout).labs;
  t.is(st[0].phase, 'up', 'the lab is up, not "checking"');
  t.true(st[0].namespaces.every((n: { present: boolean }) => n.present));
  t.is(g(['down', lab]).code, 0);
  t.deepEqual(leftovers(lab, stateDir, { inodes }), NOTHING);
}, { tools: [...OVS, 'ping'] });

privTest('problem 3: Ctrl-C during in-process pings of up stops them; the lab stays up (exit 130), no process left', async (t) => {
  const { lab, file } = quickstart(t, 200);
  const up = startCli(['--state-dir', stateDir, 'up', file]);
  await until(() => JSON.parse(g(['status', '--json', lab]).stdout || '{"labs":[]}').labs?.[0]?.phase === 'checking', 120_000, 'the checks to start');
  await new Promise((r) => setTimeout(r, 1500)); // well inside the 200-probe ping
  const held = new HeldNamespaces(`gl-${lab}-`);
  t.teardown(() => held.release());
  const inodes = held.inodes;
  up.child.kill('SIGINT');
  t.is(await up.exit, 130, up.stderr());
  t.deepEqual(processesIn(inodes).filter((p) => !p.comm.startsWith('ovs')), [], 'nothing of the checks left running');
  t.is(JSON.parse(g(['status', '--json', lab]).stdout).labs[0].phase, 'up', 'the lab is up, not "checking"');
  t.is(g(['down', lab]).code, 0);
  t.deepEqual(leftovers(lab, stateDir, { inodes }), NOTHING);
}, { tools: [...OVS] });

privTest('problem 3: Ctrl-C during the checks of run tears the lab down (exit 130)', async (t) => {
  const { lab, file } = quickstart(t, 200);
  const run = startCli(['--state-dir', stateDir, 'run', file], { GENEVE_LAB_PROBES: 'process' });
  await until(() => processesIn(netnsInodes(`gl-${lab}-`)).some((p) => p.comm === 'ping'), 120_000, 'the ping check to start');
  const held = new HeldNamespaces(`gl-${lab}-`);
  t.teardown(() => held.release());
  const inodes = held.inodes;
  run.child.kill('SIGINT');
  t.is(await run.exit, 130, run.stderr());
  t.regex(run.stderr(), /the checks were stopped and the lab was torn down/);
  t.deepEqual(leftovers(lab, stateDir, { inodes }), NOTHING);
}, { tools: [...OVS, 'ping'] });

privTest('problem 3: a second Ctrl-C during rollback explains, a third abandons (exit 130), and gc finishes', async (t) => {
  const { lab, file } = quickstart(t);
  const up = startCli(['--state-dir', stateDir, 'up', file], { GENEVE_LAB_PAUSE_AFTER_STEP: '17', GENEVE_LAB_PAUSE_BEFORE_UNDO: '1' });
  await up.waitFor(/paused after step 17\b/);
  const held = new HeldNamespaces(`gl-${lab}-`);
  t.teardown(() => held.release());
  const inodes = held.inodes;
  up.child.kill('SIGINT');
  await up.waitFor(/paused before undoing/);
  up.child.kill('SIGINT');
  await up.waitFor(/rolling back, press again to abandon \(gc will finish\)/);
  up.child.kill('SIGINT');
  t.is(await up.exit, 130, up.stderr());
  t.regex(up.stderr(), /abandoned: run `geneve-lab gc`/);
  t.true(leftovers(lab, stateDir).namespaces.length > 0, 'abandoned: the lab is still there');
  const gc = g(['gc']);
  t.is(gc.code, 0, gc.stderr);
  t.regex(gc.stdout, new RegExp(`lab ${lab}`));
  t.deepEqual(leftovers(lab, stateDir, { inodes }), NOTHING);
}, { tools: OVS });
