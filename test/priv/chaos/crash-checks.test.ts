/**
 * Issue 17, problem 4: kill -9 during the checks — of `up` and of `run` — for each check kind
 * (ping, iperf, mtu, capture), then `gc`:
 * - `run` (contract: always torn down): gc tears the lab down: nothing left;
 * - `up`: the lab was built and stays up; gc ends the checks' helper processes (ping, iperf3,
 *   tcpdump) and removes their files (capture pcaps, which now live under the state directory,
 *   never in the system temp dir); then `down` leaves nothing.
 * The CLI pauses right after starting the helper (GENEVE_LAB_PAUSE_WITH_HELPER) so the kill
 * lands while it runs. Oracles: /proc, /run/netns, `ip` (test/support/chaos.ts).
 */
import test from 'ava';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privTest, randomLabName } from '../../support/priv.js';
import { cli } from '../../support/cli.js';
import { twoHostRecipe } from '../../support/lab-recipes.js';
import { HeldNamespaces, leftovers, NOTHING, processesIn, startCli } from '../../support/chaos.js';

const stateDir = mkdtempSync(join(tmpdir(), 'gl-crashc-state-'));
test.after.always(() => rmSync(stateDir, { recursive: true, force: true }));
const g = (args: string[]) => cli(['--state-dir', stateDir, ...args]);

const LONG_PING = '  - { name: p, ping: { from: left, to: right, count: 300, interval: 0.2 } }';
const KINDS: { kind: string; helper: string; checks: string; tools: string[] }[] = [
  { kind: 'ping', helper: 'ping', checks: LONG_PING, tools: ['ping'] },
  { kind: 'iperf', helper: 'iperf3', checks: '  - { name: tcp, iperf: { from: left, to: right, duration: 60 } }', tools: ['iperf3', 'ss'] },
  { kind: 'mtu', helper: 'ping', checks: '  - { name: m, mtu: { from: left, to: right } }', tools: ['ping'] },
  // Named after the lab (LAB is replaced): its pcap is then recognisable wherever it is written.
  { kind: 'capture', helper: 'tcpdump', checks: `${LONG_PING}\n  - { name: cap-LAB, capture: { host: box-2, interface: underlay, during: p, at_least: 1, expect: { vxlan.vni: 123 } } }`, tools: ['ping', 'tcpdump'] },
];

function recipe(t: { teardown(fn: () => void): void }, checks: string): { lab: string; file: string } {
  const lab = randomLabName('k');
  const dir = mkdtempSync(join(tmpdir(), 'gl-crashc-'));
  const file = join(dir, 'lab.yaml');
  writeFileSync(file, twoHostRecipe(lab).replace(/checks:\n[\s\S]*$/, `checks:\n${checks.replace('LAB', lab)}\n`));
  t.teardown(() => {
    g(['down', lab]);
    g(['gc']);
    rmSync(dir, { recursive: true, force: true });
  });
  return { lab, file };
}

for (const verb of ['up', 'run'] as const)
  for (const k of KINDS) {
    privTest(`problem 4: kill -9 during the ${k.kind} check of ${verb}, then gc: ${verb === 'run' ? 'torn down, nothing left' : 'helpers and files gone, the lab stays up'}`, async (t) => {
      const { lab, file } = recipe(t, k.checks);
      // Local pings are sent in-process now (no helper to leave behind); the ping kind exercises
      // the process path that DF/PMTU pings and SSH hosts still use.
      const env = { GENEVE_LAB_PAUSE_WITH_HELPER: k.helper, ...(k.kind === 'ping' ? { GENEVE_LAB_PROBES: 'process' } : {}) };
      const child = startCli(['--state-dir', stateDir, verb, file], env);
      await child.waitFor(new RegExp(`paused with ${k.helper} running`));
      const held = new HeldNamespaces(`gl-${lab}-`);
      t.teardown(() => held.release());
      const inodes = held.inodes;
      if (k.kind === 'capture') t.true(existsSync(join(stateDir, 'run', lab, 'captures')), 'the capture writes under the state directory');
      child.child.kill('SIGKILL');
      await child.exit;
      const st = JSON.parse(g(['status', '--json', lab]).stdout).labs;
      t.is(st[0].phase, 'checking');
      t.true(st[0].crashed, 'status says the checks crashed');
      const gc = g(['gc']);
      t.is(gc.code, 0, gc.stderr);
      if (verb === 'run') {
        t.regex(gc.stdout, new RegExp(`lab ${lab}`));
        t.deepEqual(leftovers(lab, stateDir, { inodes }), NOTHING);
        return;
      }
      t.regex(gc.stdout, new RegExp(`checks of lab ${lab} \\(the lab stays up\\)`));
      t.deepEqual(processesIn(inodes).filter((p) => p.comm === k.helper), [], `no ${k.helper} left running`);
      t.false(existsSync(join(stateDir, 'run', lab, 'captures')), 'capture files removed');
      t.deepEqual(leftovers(lab, stateDir).tempFiles, [], 'nothing in the system temp dir');
      const after = JSON.parse(g(['status', '--json', lab]).stdout).labs;
      t.is(after[0].phase, 'up');
      t.false(after[0].crashed);
      t.true(after[0].namespaces.every((n: { present: boolean }) => n.present), 'the lab is still up');
      t.is(g(['gc']).stdout.trim(), 'nothing to collect', 'a second gc finds nothing');
      t.is(g(['down', lab]).code, 0);
      t.deepEqual(leftovers(lab, stateDir, { inodes }), NOTHING);
    }, { tools: k.tools });
  }
