/**
 * `down`, stateless `down` and `gc` through the engine with the netlink backend, which removes
 * namespaces in-process in one batch (lib/engine/namespaces.ts): the same safety as the
 * process-based path — processes inside lab namespaces are stopped first (also one that
 * ignores SIGTERM), namespaces that are not the lab's survive with their processes, and a
 * stray namespace carrying the lab's tag goes too — and no process is spawned to do it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { privTest, randomLabName } from '../../support/priv.js';
import { netnsList, ipRun, pingOk } from '../../support/oracle.js';
import { twoHostRecipe } from '../../support/lab-recipes.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { Engine } from '../../../lib/engine/engine.js';
import { StateStore } from '../../../lib/engine/state.js';
import { LocalExecutor, type RunOptions, type RunResult } from '../../../lib/exec/executor.js';
import { createNetlinkBackend } from '../../../lib/backends/netlink/index.js';

/** A LocalExecutor that records every command it is asked to run. */
class CountingExecutor extends LocalExecutor {
  readonly argvs: (readonly string[])[] = [];
  override run(argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
    this.argvs.push(argv);
    return super.run(argv, opts);
  }
}

async function setup(t: ExecutionContext) {
  const lab = randomLabName('td');
  const stateDir = mkdtempSync(join(tmpdir(), 'gl-td-'));
  const exec = new CountingExecutor();
  const backend = await createNetlinkBackend({ exec });
  const engine = new Engine({ exec, backend, store: new StateStore(stateDir) });
  const procs: ChildProcess[] = [];
  const extraNs: string[] = [];
  t.teardown(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const ns of extraNs) if (netnsList().includes(ns)) ipRun(['netns', 'del', ns]);
    for (const ns of netnsList().filter((n) => n.startsWith(`gl-${lab}-`))) ipRun(['netns', 'del', ns]);
    await backend.close();
    rmSync(stateDir, { recursive: true, force: true });
  });
  /** A long-running process inside `ns`; with `stubborn` it ignores SIGTERM. */
  const startIn = async (ns: string, stubborn = false) => {
    const script = stubborn ? 'trap "" TERM; while :; do sleep 1; done' : 'exec sleep 300';
    const p = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', script], { stdio: 'ignore' });
    procs.push(p);
    // Running inside the namespace (not just started) before the test goes on.
    const want = `net:[${statSync(`/run/netns/${ns}`).ino}]`;
    for (let i = 0; i < 100; i++) {
      try {
        if (readlinkSync(`/proc/${p.pid}/ns/net`) === want) return p;
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`process did not enter ${ns}`);
  };
  /** Whether the process has exited within `ms` (bounded, so a survivor fails the test instead of hanging it). */
  const exited = (p: ChildProcess, ms = 8000) =>
    p.exitCode !== null || p.signalCode !== null
      ? Promise.resolve(true)
      : new Promise<boolean>((r) => {
          const timer = setTimeout(() => r(false), ms);
          p.once('exit', () => (clearTimeout(timer), r(true)));
        });
  return { lab, exec, backend, engine, tag: engine.tagFor(lab), startIn, exited, extraNs };
}

privTest('netlink down: processes inside (even one ignoring SIGTERM) are stopped, look-alikes survive, a stray tagged namespace goes, no process spawned', async (t) => {
  const { lab, exec, engine, tag, startIn, exited, extraNs } = await setup(t);
  await engine.up(loadRecipeText(twoHostRecipe(lab), 'td.yaml').lab);
  t.true(pingOk(`gl-${lab}-left`, '203.0.113.2'));

  // Not the lab's: a look-alike name without a tag, and one tagged as ANOTHER lab.
  const untagged = `gl-${lab}-userns`;
  const otherTag = `gl-${lab}-other`;
  // The lab's own tag but unknown to the state (as if the state lost track of it).
  const stray = `gl-${lab}-stray`;
  extraNs.push(untagged, otherTag, stray);
  for (const ns of extraNs) ipRun(['netns', 'add', ns]);
  ipRun(['-n', otherTag, 'link', 'set', 'lo', 'alias', `geneve-lab:${lab}x`]);
  ipRun(['-n', stray, 'link', 'set', 'lo', 'alias', tag]);

  const inLab = await startIn(`gl-${lab}-left`);
  const stubborn = await startIn(`gl-${lab}-box-1`, true);
  const inStray = await startIn(stray);
  const inForeign = await startIn(untagged);

  exec.argvs.length = 0;
  const down = await engine.down(lab);
  t.deepEqual(down.failures, []);
  t.deepEqual(exec.argvs, [], 'down spawned no process');
  t.deepEqual(netnsList().filter((n) => n.startsWith(`gl-${lab}-`)).sort(), [otherTag, untagged].sort(), 'only the namespaces that are not the lab\'s are left');
  t.deepEqual(await Promise.all([exited(inLab), exited(stubborn), exited(inStray)]), [true, true, true], 'every process inside a lab namespace has exited');
  t.is(inLab.signalCode, 'SIGTERM');
  t.is(stubborn.signalCode, 'SIGKILL', 'a process ignoring SIGTERM is killed');
  t.is(inForeign.exitCode, null, 'the process in the foreign namespace still runs');
  t.is(inForeign.signalCode, null);
});

privTest('netlink: down without a state file and gc remove only namespaces carrying the tag, with their processes', async (t) => {
  const { lab, exec, engine, tag, startIn, exited, extraNs } = await setup(t);
  const orphanLab = `${lab}o`;
  const orphanTag = engine.tagFor(orphanLab);
  // A tagged lab whose state is gone (stateless down), an orphaned lab of this state
  // directory (gc), and a namespace tagged for another state directory (gc must keep it).
  const owned = [`gl-${lab}-a`, `gl-${lab}-b`];
  const orphan = `gl-${orphanLab}-a`;
  const otherScope = `gl-${lab}-scope`;
  const untagged = `gl-${lab}-plain`;
  extraNs.push(...owned, orphan, otherScope, untagged);
  for (const ns of extraNs) ipRun(['netns', 'add', ns]);
  for (const ns of owned) ipRun(['-n', ns, 'link', 'set', 'lo', 'alias', tag]);
  ipRun(['-n', orphan, 'link', 'set', 'lo', 'alias', orphanTag]);
  ipRun(['-n', otherScope, 'link', 'set', 'lo', 'alias', `geneve-lab:${lab}@00000000`]);
  const inOwned = await startIn(owned[0]!);
  const inOrphan = await startIn(orphan);

  exec.argvs.length = 0;
  const down = await engine.down(lab);
  t.true(down.found);
  t.is(down.undone, 2);
  t.deepEqual(down.failures, []);
  t.true(await exited(inOwned), 'the process inside the tagged namespace has exited');
  for (const ns of owned) t.false(netnsList().includes(ns), `${ns} removed`);
  t.true(netnsList().includes(untagged) && netnsList().includes(otherScope) && netnsList().includes(orphan));

  const gc = await engine.gc();
  t.deepEqual(gc.failures, []);
  t.true(gc.namespaces.includes(orphan), 'gc collects the orphaned lab');
  t.true(await exited(inOrphan), 'the process inside the orphaned namespace has exited');
  t.false(netnsList().includes(orphan));
  t.true(netnsList().includes(untagged), 'untagged look-alike survives gc');
  t.true(netnsList().includes(otherScope), 'a namespace of another state directory survives gc');
  t.deepEqual(exec.argvs, [], 'down and gc spawned no process');
});

privTest('netlink: a namespace deleted and re-created under the same name behind the backend\'s back is never taken for ours', async (t) => {
  const { lab, backend, engine, tag, extraNs } = await setup(t);
  const ns = `gl-${lab}-re`;
  extraNs.push(ns);
  await backend.run({ id: 1, subject: `namespace "${ns}"`, op: { op: 'netns.add', ns, tag }, undo: null });
  t.is(await backend.netnsTag(ns), tag, 'our tag, read through the socket kept since creation');
  // Someone else removes it and makes their own namespace with that name.
  ipRun(['netns', 'del', ns]);
  ipRun(['netns', 'add', ns]);
  ipRun(['-n', ns, 'link', 'set', 'lo', 'alias', 'someone-else']);
  t.is(await backend.netnsTag(ns), 'someone-else', 'the tag of the namespace now under that name, not of the old one');
  const down = await engine.down(lab);
  t.false(down.found, 'nothing of the lab is found');
  t.true(netnsList().includes(ns), 'the other namespace survives down');
});
