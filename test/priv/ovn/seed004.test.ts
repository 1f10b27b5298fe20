/**
 * Seed 004 with real OVN, through the real CLI on this machine's userspace datapath: central +
 * worker1 + worker2, logical switch network1, ping vm1 → vm2, the OVN metadata on worker2's
 * underlay compared with the SB's tunnel keys in both directions. Every OVN daemon runs inside
 * its host's namespace with its files under the lab's run directory, and `down` leaves nothing.
 * A wrong expectation fails with both values shown.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { privTest } from '../../support/priv.js';
import { NOTHING_LEFT, leftovers, recipeCopy, rootLinks, runJson } from '../ovs-recipes/support.js';
import { OVN_TOOLS, daemonsMentioning, netnsId, rootNetns } from './support.js';

privTest('seed 004 with real OVN: ping vm1 → vm2; the Geneve VNI and OVN option on worker2\'s underlay equal the SB\'s tunnel keys, both directions; control-plane queries pass', (t) => {
  t.timeout(10 * 60_000);
  const rootBefore = rootLinks();
  const c = recipeCopy(t, 'ovn-seed004.yaml');
  const r = runJson(c);
  t.is(r.code, 0, r.out);
  t.deepEqual(
    Object.values(r.checks).map((x) => [x.name, x.status]),
    ['vm1-to-vm2', 'request-metadata-matches-sb', 'reply-metadata-matches-sb', 'vm2-bound-on-worker2', 'network1-is-datapath-1', 'trace-vm1-to-vm2', 'tunnels', 'vswitchd-log worker1', 'vswitchd-log worker2'].map((n) => [n, 'passed']),
    r.out,
  );
  t.true((r.checks['request-metadata-matches-sb']!.figures.matched as number) >= 3);
  // `up` (text output) reports the convergence.
  const up = c.g(['up', '--no-checks', c.file]);
  t.is(up.code, 0, up.stdout + up.stderr);
  t.regex(up.stderr, /OVN control plane converged: 2 chassis registered, 2 logical ports up, every chassis synced \(ovn-nbctl --wait=hv sync\) — \d+\.\d s after the first ovn-controller started \(\d+\.\d s after the central; final wait \d+\.\d s\)/);
  t.is(c.g(['down', c.lab]).code, 0);
  t.deepEqual(leftovers(c), NOTHING_LEFT, 'run and down tear everything down: namespaces, daemons, run directories');
  t.deepEqual(rootLinks(), rootBefore, 'nothing in the root namespace');
}, OVN_TOOLS);

privTest('a wrong expectation (egress: vm1) fails the capture check with the SB\'s key and the key seen on the wire', (t) => {
  t.timeout(10 * 60_000);
  const c = recipeCopy(t, 'ovn-seed004.yaml', (s) => s.replace('ovn: { datapath: network1, ingress: vm1, egress: vm2 }', 'ovn: { datapath: network1, ingress: vm1, egress: vm1 }'));
  const r = runJson(c);
  t.is(r.code, 1, r.out);
  const bad = r.checks['request-metadata-matches-sb']!;
  t.is(bad.status, 'failed', r.out);
  // Expected: vm1's key twice (from the SB); seen: vm1's key as ingress and vm2's as egress (on the wire).
  const m = /ingress vm1 → port key (\d+), egress vm1 → port key (\d+) \(from the SB database\)/.exec(bad.message ?? '');
  t.truthy(m, bad.message);
  const [vm1] = [Number(m![1])];
  t.is(Number(m![2]), vm1);
  t.regex(bad.message!, new RegExp(`expected .*geneve\\.ovn ingress ${vm1} egress ${vm1} in ≥3 packets, 0 matched`));
  t.regex(bad.message!, new RegExp(`geneve\\.ovn [^;]*ingress ${vm1} egress (\\d+) ×3`));
  t.regex(bad.message!, new RegExp(`on the wire, by the SB: VNI \\d+ = network1; .*ingress ${vm1} egress \\d+ = vm1 → vm2 ×3`));
  t.is(r.checks['reply-metadata-matches-sb']!.status, 'passed', 'the other direction still matches');
  t.deepEqual(leftovers(c), NOTHING_LEFT);
}, OVN_TOOLS);

privTest('while up: NB, SB, ovn-northd in central\'s namespace and one ovn-controller per worker in its own, files under the lab\'s run dir; down removes daemons, chassis records and files', (t) => {
  t.timeout(10 * 60_000);
  const c = recipeCopy(t, 'ovn-seed004.yaml');
  const up = c.g(['up', '--no-checks', c.file]);
  t.is(up.code, 0, up.stdout + up.stderr);
  const ns = (h: string) => netnsId(`gl-${c.lab}-${h}`);
  const ovn = daemonsMentioning(c.stateDir).filter((d) => /^ovn-|ovsdb-server/.test(d.comm) && /ovn-/.test(d.args));
  const where = ovn.map((d) => [d.comm, d.netns === ns('central') ? 'central' : d.netns === ns('worker1') ? 'worker1' : d.netns === ns('worker2') ? 'worker2' : d.netns === rootNetns() ? 'ROOT' : d.netns]).sort();
  t.deepEqual(where, [['ovn-controller', 'worker1'], ['ovn-controller', 'worker2'], ['ovn-northd', 'central'], ['ovsdb-server', 'central'], ['ovsdb-server', 'central']].sort(), JSON.stringify(ovn, null, 1));
  const runDir = join(c.stateDir, 'run', c.lab);
  for (const f of ['ovn-central/ovnnb.db', 'ovn-central/ovnsb.db', 'ovn-central/sb.sock', 'ovn-central/.geneve-lab-ovn', 'ovn-worker1/ovn-controller.pid', 'ovn-worker2/ovn-controller.log']) t.true(existsSync(join(runDir, f)), f);
  const sb = join(runDir, 'ovn-central', 'sb.sock');
  const chassis = () => execFileSync('ovn-sbctl', [`--db=unix:${sb}`, '--timeout=5', '--bare', '--columns=name', 'list', 'Chassis'], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
  t.deepEqual(chassis(), ['worker1', 'worker2']);
  // The SB listens on central's underlay address (the workers' ovn-remote), not in the root namespace.
  t.regex(execFileSync('ip', ['netns', 'exec', `gl-${c.lab}-central`, 'ss', '-ltn'], { encoding: 'utf8' }), /192\.0\.2\.10:6642/);
  t.notRegex(execFileSync('ss', ['-ltn'], { encoding: 'utf8' }), /:664[12]\b/);
  // Checks on the running lab, twice (idempotent reads).
  for (let i = 0; i < 2; i++) {
    const chk = c.g(['check', '--json', c.file]);
    t.is(chk.code, 0, chk.stdout + chk.stderr);
  }
  const down = c.g(['down', c.lab]);
  t.is(down.code, 0, down.stdout + down.stderr);
  t.deepEqual(leftovers(c), NOTHING_LEFT);
  t.deepEqual(daemonsMentioning(c.stateDir), []);
}, OVN_TOOLS);
