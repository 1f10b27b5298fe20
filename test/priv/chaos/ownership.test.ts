/**
 * Issue 17, problems 1 and 2: rollback, down and gc remove a namespace only when it is the lab's
 * — its tag, or the identity journaled when the lab created it — never by name alone.
 * 1. A namespace someone creates (untagged, with a process in it) under the name of one of the
 *    lab's guests while `up` runs: `up` fails on it (EEXIST) and its rollback leaves it, and its
 *    process, alone. Both backends.
 * 2. A lab namespace replaced by hand with an untagged one of the same name: `down` leaves the
 *    replacement alone and says so. Both backends.
 * Oracles: /run/netns, /proc and `ip` directly (test/support/chaos.ts), never the CLI's word.
 */
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privTest, randomLabName } from '../../support/priv.js';
import { twoHostRecipe } from '../../support/lab-recipes.js';
import { cli } from '../../support/cli.js';
import { leftovers, NOTHING, startCli } from '../../support/chaos.js';

const stateDir = mkdtempSync(join(tmpdir(), 'gl-own-state-'));
test.after.always(() => rmSync(stateDir, { recursive: true, force: true }));
const g = (args: string[]) => cli(['--state-dir', stateDir, ...args]);

/** An untagged namespace of "someone else" with a long-running process inside; removed at teardown. */
function foreignNamespace(t: { teardown(fn: () => void): void }, ns: string): { inode: number; pid: number } {
  execFileSync('ip', ['netns', 'add', ns]);
  const sleeper = spawn('ip', ['netns', 'exec', ns, 'sleep', '600'], { stdio: 'ignore' });
  t.teardown(() => {
    sleeper.kill('SIGKILL');
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      /* gone */
    }
  });
  return { inode: statSync(`/run/netns/${ns}`).ino, pid: sleeper.pid! };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function recipeFile(t: { teardown(fn: () => void): void }, lab: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gl-own-'));
  t.teardown(() => {
    g(['down', lab]);
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'lab.yaml');
  writeFileSync(file, twoHostRecipe(lab));
  return file;
}

for (const backend of ['netlink', 'iproute2']) {
  privTest(`problem 1 (${backend}): a namespace created in the lab's way during up fails up (exit 4, named) and its rollback leaves it and its process alone`, async (t) => {
    const lab = randomLabName('o');
    const file = recipeFile(t, lab);
    const up = startCli(['--backend', backend, '--state-dir', stateDir, 'up', '--no-checks', file], { GENEVE_LAB_PAUSE_AFTER_STEP: '1' });
    await up.waitFor(/paused after step 1/);
    // The last guest's namespace does not exist yet: someone else takes its name now.
    const theirs = `gl-${lab}-right`;
    const foreign = foreignNamespace(t, theirs);
    up.child.kill('SIGCONT');
    const code = await up.exit;
    t.is(code, 4, up.stderr());
    t.regex(up.stderr(), new RegExp(`${theirs}.*(already exists|File exists).*\\(EEXIST\\)`));
    t.regex(up.stderr(), /rolled back/);
    t.regex(up.stderr(), new RegExp(`namespace ${theirs} is not lab "${lab}"'s.*left alone`));
    t.is(statSync(`/run/netns/${theirs}`).ino, foreign.inode, 'the foreign namespace is still the same namespace');
    t.true(alive(foreign.pid), 'the process inside it was not killed');
    t.deepEqual(leftovers(lab, stateDir, { except: [theirs] }), NOTHING, 'everything of the lab itself was rolled back');
  });

  privTest(`problem 2 (${backend}): down leaves an untagged namespace that replaced one of the lab's, and says so`, async (t) => {
    const lab = randomLabName('o');
    const file = recipeFile(t, lab);
    const up = g(['--backend', backend, 'up', '--no-checks', file]);
    t.is(up.code, 0, up.stderr);
    const theirs = `gl-${lab}-left`;
    execFileSync('ip', ['netns', 'del', theirs]);
    const foreign = foreignNamespace(t, theirs);
    const down = g(['--backend', backend, 'down', lab]);
    t.is(down.code, 0, down.stderr);
    t.regex(down.stderr, new RegExp(`namespace ${theirs} is not lab "${lab}"'s.*left alone`));
    t.is(statSync(`/run/netns/${theirs}`).ino, foreign.inode, 'the replacement is untouched');
    t.true(alive(foreign.pid), 'its process is untouched');
    t.deepEqual(leftovers(lab, stateDir, { except: [theirs] }), NOTHING, 'every namespace of the lab itself is gone');
  });
}

privTest('a lab namespace whose tag was removed is still the lab\'s by its identity: down removes it', async (t) => {
  const lab = randomLabName('o');
  const file = recipeFile(t, lab);
  t.is(g(['up', '--no-checks', file]).code, 0);
  // `ip link set lo alias ""` removes the alias: only the journaled identity says it is the lab's.
  execFileSync('ip', ['-n', `gl-${lab}-left`, 'link', 'set', 'lo', 'alias', '']);
  const down = g(['down', lab]);
  t.is(down.code, 0, down.stderr);
  t.notRegex(down.stderr, /left alone/);
  t.deepEqual(leftovers(lab, stateDir), NOTHING);
});
