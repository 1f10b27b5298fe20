/**
 * Issue 17, problem 10 (second half): `gc` recognises and removes stale /run/netns entries of
 * its labs — files with no namespace mounted whose names the lab's state knows — even when the
 * lab's SSH hosts cannot be reached any more (the fake machines were gone). Entries it does not
 * know, and real namespaces, are left alone.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privTest, randomLabName } from '../../support/priv.js';
import { cli } from '../../support/cli.js';

const stateDir = mkdtempSync(join(tmpdir(), 'gl-stale-state-'));
test.after.always(() => rmSync(stateDir, { recursive: true, force: true }));

privTest('gc removes stale /run/netns entries a crashed lab\'s state names, even with its SSH hosts gone; nothing else', async (t) => {
  const lab = randomLabName('s');
  const ours = [`gl-${lab}-g1`, `gl-${lab}-g2`];
  const notKnown = `gl-${lab}-other`;
  const real = `gl-${lab}-g3`;
  const noRoute = `gl-${lab}x-client`; // an ssh client namespace without any route: unreachable at once
  t.teardown(() => {
    for (const f of [...ours, notKnown]) if (existsSync(`/run/netns/${f}`)) unlinkSync(`/run/netns/${f}`);
    for (const ns of [real, noRoute]) execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  });
  mkdirSync('/run/netns', { recursive: true });
  for (const f of [...ours, notKnown]) writeFileSync(`/run/netns/${f}`, '');
  execFileSync('ip', ['netns', 'add', real]);
  execFileSync('ip', ['netns', 'add', noRoute]);
  const steps = [...ours, real].map((ns, i) => ({ id: i + 1, subject: `guest "g${i + 1}"`, host: 'box-1', op: { op: 'netns.add', ns, tag: `geneve-lab:${lab}` }, undo: { op: 'netns.del', ns } }));
  mkdirSync(join(stateDir, 'labs'), { recursive: true });
  writeFileSync(
    join(stateDir, 'labs', `${lab}.json`),
    JSON.stringify({
      version: 1, lab, tag: `geneve-lab:${lab}`, model: {}, planHash: 'x', backend: 'iproute2', steps,
      remotes: [{ host: 'box-1', target: 'root@198.51.100.99', clientNetns: noRoute, connectTimeoutSec: 2, configFile: '/dev/null' }],
      phase: 'applying', pid: 2 ** 22 + 999, updatedAt: '',
    }),
  );
  const gc = cli(['--state-dir', stateDir, 'gc', '--json']);
  const out = JSON.parse(gc.stdout);
  t.deepEqual(out.namespaces.sort(), ours.sort(), gc.stderr);
  for (const f of ours) t.false(existsSync(`/run/netns/${f}`), `${f} removed`);
  t.true(existsSync(`/run/netns/${notKnown}`), 'an entry the state does not name stays');
  t.notThrows(() => execFileSync('ip', ['-n', real, 'link'], { stdio: 'pipe' }), 'a real namespace is never removed as "stale"');
  t.is(out.failures.length, 1, 'the unreachable host is reported');
});
