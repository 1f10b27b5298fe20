/**
 * The chaos suite of issue 17 over every step of two labs — a two-host OVS lab (the quickstart:
 * OVS daemons per host) and a Linux-bridge lab (VXLAN) — run on every CI run:
 * - kill -9 after EVERY step index, then `gc`: nothing left (namespaces, /run/netns entries,
 *   mounts, processes, root-namespace links, state files);
 * - a foreign (untagged) namespace created at every step index under the name of a lab namespace
 *   still to come: `up` fails on it (exit 4) naming it, rolls everything else back, and leaves it
 *   (and its process) untouched; after the last namespace exists, a lab namespace REPLACED by a
 *   foreign one survives `down`.
 * Each iteration has its own lab name and state directory, two at a time.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { privTest, randomLabName } from '../../support/priv.js';
import { cli } from '../../support/cli.js';
import { twoHostRecipe } from '../../support/lab-recipes.js';
import { HeldNamespaces, leftovers, NOTHING, startCli, type Leftovers } from '../../support/chaos.js';

const OVS = ['ovs-vswitchd', 'ovsdb-server', 'ovs-vsctl', 'ovs-appctl', 'ovsdb-tool', 'ovs-ofctl', 'ethtool'];

interface Labs {
  name: string;
  text: (lab: string) => string;
  tools: string[];
}
const LABS: Labs[] = [
  { name: 'two-host OVS lab', text: (lab) => readFileSync('recipes/quickstart.yaml', 'utf8').replace(/^lab: quickstart$/m, `lab: ${lab}`), tools: OVS },
  { name: 'Linux-bridge lab', text: (lab) => twoHostRecipe(lab), tools: [] },
];

interface Iteration {
  lab: string;
  file: string;
  stateDir: string;
  cli(args: string[]): ReturnType<typeof cli>;
  /** Remove the iteration's files; after a failure also whatever the lab left (down, gc). */
  cleanup(failed?: boolean): void;
}

function iteration(text: (lab: string) => string): Iteration {
  const lab = randomLabName('c');
  const dir = mkdtempSync(join(tmpdir(), 'gl-chaos-'));
  const stateDir = join(dir, 'state');
  const file = join(dir, 'lab.yaml');
  writeFileSync(file, text(lab));
  const run = (args: string[]) => cli(['--state-dir', stateDir, ...args]);
  return {
    lab,
    file,
    stateDir,
    cli: run,
    cleanup(failed = true) {
      if (failed) {
        run(['down', lab]);
        run(['gc']);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The plan's steps of a recipe text (through the CLI, as a user would see them). */
function planOf(text: (lab: string) => string): { id: number; op: { op: string; ns?: string } }[] {
  const it = iteration(text);
  try {
    return JSON.parse(it.cli(['plan', '--format', 'json', it.file]).stdout).steps;
  } finally {
    it.cleanup(false);
  }
}

/** Run `fn` for each item, `width` at a time; returns the failures' messages. */
async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        try {
          await fn(item);
        } catch (e) {
          failures.push(`${String(item)}: ${(e as Error).message}`);
        }
      }
    }),
  );
  return failures;
}

const show = (l: Leftovers) => JSON.stringify(l);
const same = (a: Leftovers, b: Leftovers) => show(a) === show(b);

for (const L of LABS) {
  privTest(`chaos: kill -9 after every step of the ${L.name}, then gc: nothing left`, async (t: ExecutionContext) => {
    t.timeout(1_200_000);
    const steps = planOf(L.text);
    const failures = await pool(
      steps.map((s) => s.id),
      2,
      async (k) => {
        const it = iteration(L.text);
        let held: HeldNamespaces | undefined;
        let ok = false;
        try {
          const up = startCli(['--state-dir', it.stateDir, 'up', '--no-checks', it.file], { GENEVE_LAB_PAUSE_AFTER_STEP: String(k) });
          await up.waitFor(new RegExp(`paused after step ${k}\\b`));
          held = new HeldNamespaces(`gl-${it.lab}-`);
          up.child.kill('SIGKILL');
          await up.exit;
          const gc = it.cli(['gc']);
          if (gc.code !== 0) throw new Error(`gc exit ${gc.code}: ${gc.stderr}`);
          const left = leftovers(it.lab, it.stateDir, { inodes: held.inodes });
          if (!same(left, NOTHING)) throw new Error(`left after kill -9 at step ${k} and gc: ${show(left)}`);
          ok = true;
        } finally {
          held?.release();
          it.cleanup(!ok);
        }
      },
    );
    t.deepEqual(failures, [], `${steps.length} step indices`);
  }, { tools: L.tools });
}

/** An untagged namespace with a sleeping process inside, as a user would make it. */
function foreign(ns: string): { inode: number; kill(): void; alive(): boolean } {
  execFileSync('ip', ['netns', 'add', ns]);
  const p = spawn('ip', ['netns', 'exec', ns, 'sleep', '600'], { stdio: 'ignore' });
  return {
    inode: statSync(`/run/netns/${ns}`).ino,
    alive: () => p.exitCode === null && p.signalCode === null,
    kill() {
      p.kill('SIGKILL');
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        /* gone */
      }
    },
  };
}

privTest('chaos: a foreign namespace created at every step index is never touched; up exits 4 naming it', async (t) => {
  t.timeout(1_200_000);
  const text = LABS[1]!.text;
  const steps = planOf(text);
  const adds = steps.filter((s) => s.op.op === 'netns.add').map((s) => s.id);
  const lastAdd = Math.max(...adds);
  const suffixOf = (id: number, lab: string) => steps.find((s) => s.id === id)!.op.ns!.replace(/^gl-[^-]+-/, `gl-${lab}-`);
  // Before the last namespace exists: someone takes the name of the next one.
  const taken = await pool(
    steps.filter((s) => s.id < lastAdd).map((s) => s.id),
    2,
    async (k) => {
      const it = iteration(text);
      const nextAdd = adds.find((a) => a > k)!;
      const theirs = suffixOf(nextAdd, it.lab);
      let f: ReturnType<typeof foreign> | undefined;
      let ok = false;
      try {
        const up = startCli(['--state-dir', it.stateDir, 'up', '--no-checks', it.file], { GENEVE_LAB_PAUSE_AFTER_STEP: String(k) });
        await up.waitFor(new RegExp(`paused after step ${k}\\b`));
        f = foreign(theirs);
        up.child.kill('SIGCONT');
        const code = await up.exit;
        if (code !== 4) throw new Error(`exit ${code}, not 4: ${up.stderr()}`);
        if (!up.stderr().includes(theirs)) throw new Error(`the failure does not name ${theirs}: ${up.stderr()}`);
        if (statSync(`/run/netns/${theirs}`).ino !== f.inode || !f.alive()) throw new Error(`${theirs} or its process was touched`);
        const left = leftovers(it.lab, it.stateDir, { except: [theirs] });
        if (!same(left, NOTHING)) throw new Error(`left after the failed up: ${show(left)}`);
        ok = true;
      } finally {
        f?.kill();
        it.cleanup(!ok);
      }
    },
  );
  t.deepEqual(taken, [], `foreign namespace at each of steps 1..${lastAdd - 1}`);
  // From the last namespace on: a lab namespace replaced by a foreign one survives up and down.
  const replaced = await pool(
    steps.filter((s) => s.id >= lastAdd).map((s) => s.id),
    2,
    async (k) => {
      const it = iteration(text);
      const theirs = suffixOf(lastAdd, it.lab);
      let f: ReturnType<typeof foreign> | undefined;
      let ok = false;
      try {
        const up = startCli(['--state-dir', it.stateDir, 'up', '--no-checks', it.file], { GENEVE_LAB_PAUSE_AFTER_STEP: String(k) });
        await up.waitFor(new RegExp(`paused after step ${k}\\b`));
        execFileSync('ip', ['netns', 'del', theirs]);
        f = foreign(theirs);
        up.child.kill('SIGCONT');
        const code = await up.exit;
        if (code !== 0 && code !== 4) throw new Error(`up exit ${code}: ${up.stderr()}`);
        if (code === 4 && !up.stderr().includes(theirs)) throw new Error(`the failure does not name ${theirs}: ${up.stderr()}`);
        if (code === 0) {
          const down = it.cli(['down', it.lab]);
          if (down.code !== 0 || !/left alone/.test(down.stderr)) throw new Error(`down: ${down.code} ${down.stderr}`);
        }
        if (statSync(`/run/netns/${theirs}`).ino !== f.inode || !f.alive()) throw new Error(`${theirs} or its process was touched`);
        const left = leftovers(it.lab, it.stateDir, { except: [theirs] });
        if (!same(left, NOTHING)) throw new Error(`left: ${show(left)}`);
        ok = true;
      } finally {
        f?.kill();
        it.cleanup(!ok);
      }
    },
  );
  t.deepEqual(replaced, [], `namespace replaced at each of steps ${lastAdd}..${steps.length}`);
});
