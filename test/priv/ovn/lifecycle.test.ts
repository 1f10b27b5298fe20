/**
 * OVN's daemons, databases, sockets and chassis records belong to the lab: a crash (kill -9
 * mid-`up`, with the central and an ovn-controller running) is collected by `gc`; a failing
 * step (an NB command OVN refuses; a control plane that never converges) rolls everything back.
 * Nothing is left in any namespace, the root namespace or the state directory.
 */
import { privTest } from '../../support/priv.js';
import { cliSpawn } from '../../support/cli.js';
import { netnsList } from '../../support/oracle.js';
import { NOTHING_LEFT, leftovers, recipeCopy, rootLinks } from '../ovs-recipes/support.js';
import { OVN_TOOLS, daemonsMentioning } from './support.js';

privTest('kill -9 mid-up (central and one ovn-controller running), then gc: no daemon, database, socket, namespace or run directory is left', async (t) => {
  t.timeout(10 * 60_000);
  const rootBefore = rootLinks();
  const c = recipeCopy(t, 'ovn-seed004.yaml');
  const plan = JSON.parse(c.g(['plan', '--format', 'json', c.file]).stdout) as { steps: { id: number; op: { op: string } }[] };
  const pauseAt = plan.steps.find((s) => s.op.op === 'ovn.controller.start')!.id;
  const child = cliSpawn(['--state-dir', c.stateDir, 'up', '--no-checks', c.file], { GENEVE_LAB_PAUSE_AFTER_STEP: String(pauseAt) });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  t.teardown(() => void child.kill('SIGKILL'));
  const deadline = Date.now() + 180_000;
  while (!/paused after step/.test(err) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  t.regex(err, new RegExp(`paused after step ${pauseAt}`), err);
  const running = daemonsMentioning(c.stateDir).map((d) => d.comm).sort();
  t.deepEqual(running.filter((x) => x.startsWith('ovn')), ['ovn-controller', 'ovn-northd'], running.join(' '));
  t.is(running.filter((x) => x === 'ovsdb-server').length, 4, 'NB, SB and two hosts\' OVS databases');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('close', r));

  const gc = c.g(['gc']);
  t.is(gc.code, 0, gc.stdout + gc.stderr);
  t.deepEqual(leftovers(c), NOTHING_LEFT);
  t.deepEqual(daemonsMentioning(c.stateDir), []);
  t.deepEqual(netnsList().filter((n) => n.includes(c.lab)), []);
  t.deepEqual(rootLinks(), rootBefore);
}, OVN_TOOLS);

privTest('a control plane that never converges (vm2 may only be bound on worker1) fails up with the port named, and rolls everything back', (t) => {
  t.timeout(10 * 60_000);
  const c = recipeCopy(t, 'ovn-seed004.yaml', (s) => s.replace('    - { name: network1, ports: [vm1, vm2] }', '    - { name: network1, ports: [vm1, vm2] }\n  nbctl: [[lsp-set-options, vm2, requested-chassis=worker1]]\n  timeout: 5'));
  const up = c.g(['up', '--no-checks', c.file]);
  t.is(up.code, 4, up.stdout + up.stderr);
  t.regex(up.stderr, /OVN control plane.*not converged within 5 s: logical ports not up: vm2/s);
  t.deepEqual(leftovers(c), NOTHING_LEFT);
  t.deepEqual(daemonsMentioning(c.stateDir), []);
}, OVN_TOOLS);

privTest('an NB command OVN refuses fails up with ovn-nbctl\'s own words and rolls the central back', (t) => {
  t.timeout(10 * 60_000);
  const c = recipeCopy(t, 'ovn-seed004.yaml', (s) => s.replace('    - { name: network1, ports: [vm1, vm2] }', '    - { name: network1, ports: [vm1, vm2] }\n  nbctl: [[lsp-add, no-such-switch, p1]]'));
  const up = c.g(['up', '--no-checks', c.file]);
  t.is(up.code, 4, up.stdout + up.stderr);
  t.regex(up.stderr, /ovn\.nbctl\[0\] \(lsp-add\)/);
  t.regex(up.stderr, /no-such-switch: switch name not found/);
  t.regex(up.stderr, /ovn-nbctl --db=unix:\S+nb\.sock --timeout=10 lsp-add no-such-switch p1/);
  t.deepEqual(leftovers(c), NOTHING_LEFT);
  t.deepEqual(daemonsMentioning(c.stateDir), []);
}, OVN_TOOLS);
