/**
 * Every complete recipe in README.md and docs/*.md runs (`run`: up, checks, down) where this
 * machine can run it. Which ones can is decided the way `up` decides before changing anything
 * (kernel features, tools, the planner's refusals): a block that needs what this machine lacks is
 * a loud SKIP with the reason, never a pass; recipes on SSH machines (addresses outside the lab)
 * are never contacted from here. Each block gets its own lab name and state directory.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, ROOT } from '../../support/cli.js';
import { docRecipes } from '../../support/doc-recipes.js';
import { isRoot, privReason, randomLabName } from '../../support/priv.js';
import { spawnSync } from 'node:child_process';
import { netnsList } from '../../support/oracle.js';

const dir = mkdtempSync(join(tmpdir(), 'gl-docs-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

interface Block { title: string; file: string; lab: string; notHere?: string }

function blocks(): Block[] {
  const out: Block[] = docRecipes(ROOT).map((b) => {
    const lab = randomLabName('dc');
    const text = b.text.replace(/^lab: \S+/, `lab: ${lab}`);
    const file = join(dir, `${b.lab}-${b.line}.yaml`);
    writeFileSync(file, text);
    const notHere = privReason() ?? (/^\s*ssh:/m.test(text) ? 'its hosts are SSH machines outside any lab (never contacted from a test)' : undefined);
    return { title: `${b.file}:${b.line} (${b.lab}) runs here: up, every check passes, down leaves nothing`, file, lab, ...(notHere ? { notHere } : {}) };
  });
  const probe = out.filter((b) => !b.notHere).map((b) => b.file);
  if (!probe.length) return out;
  // up's own prerequisite check, in a child: ava wants the tests declared synchronously.
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'test/support/doc-recipes-probe.ts'), join(dir, 'probe-state'), ...probe], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`the prerequisite probe failed (${r.status}): ${r.stderr}`);
  const why = JSON.parse(r.stdout) as Record<string, string | null>;
  return out.map((b) => (why[b.file] ? { ...b, notHere: why[b.file]! } : b));
}

const all = blocks();

for (const b of all) {
  if (b.notHere) {
    process.stderr.write(`\n!!! DOC RECIPE NOT RUN HERE (${b.notHere}): ${b.title}\n`);
    test.skip(`${b.title} [NOT RUN: ${b.notHere}]`, () => {});
    continue;
  }
  test.serial(b.title, (t) => {
    const state = join(dir, `state-${b.lab}`);
    const r = cli(['--state-dir', state, 'run', '--json', b.file]);
    t.is(r.code, 0, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout) as { checks: { name: string; status: string }[] };
    t.true(doc.checks.length > 0);
    t.deepEqual(doc.checks.filter((c) => c.status !== 'passed'), [], JSON.stringify(doc.checks, null, 1));
    t.deepEqual(netnsList().filter((n) => n.startsWith(`gl-${b.lab}-`)), [], 'run tore the lab down');
  });
}

if (isRoot)
  test('the README quickstart example is among the recipes that run on this machine', (t) => {
    const readme = all.find((b) => b.title.startsWith('README.md:') && /\(quickstart\)/.test(b.title));
    t.truthy(readme, 'README has its example');
    t.is(readme!.notHere, undefined, "README's example must run on a machine set up by scripts/install.sh");
  });
