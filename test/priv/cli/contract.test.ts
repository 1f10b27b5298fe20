/**
 * Issue 18 §3, for real (namespaces, veth, kernel VXLAN, through the CLI as users run it):
 * - `up --junit` on a build that fails at a step writes one errored test case named after that
 *   step, valid against Jenkins xUnit's junit-10.xsd, and `--json` prints the error document
 *   (apply_failed, the step) that `schema --output up` describes;
 * - `run --json` / `up --json` / `check --json` / `status --json` / `down --json` of a working lab
 *   conform to the published schemas, and `run --junit` validates against the XSD.
 */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privTest, randomLabName } from '../../support/priv.js';
import { cli, ROOT } from '../../support/cli.js';
import { twoHostRecipe } from '../../support/lab-recipes.js';
import { leftovers, NOTHING, startCli } from '../../support/chaos.js';
import { schemaValidator, nonSnakeKeys } from '../../support/ajv.js';

const stateDir = mkdtempSync(join(tmpdir(), 'ct-contract-state-'));
test.after.always(() => rmSync(stateDir, { recursive: true, force: true }));
const g = (args: string[]) => cli(['--state-dir', stateDir, ...args]);
const XSD = join(ROOT, 'test/fixtures/junit/junit-10.xsd');

/** The schema the CLI itself publishes for `verb`. */
function published(verb: string): (doc: unknown) => string | undefined {
  const r = cli(['schema', '--output', verb]);
  if (r.code !== 0) throw new Error(`schema --output ${verb}: ${r.stderr}`);
  return schemaValidator(JSON.parse(r.stdout));
}

function xsdErrors(file: string): string | undefined {
  const r = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
  if (r.error) throw new Error(`xmllint is needed (libxml2-utils): ${r.error.message}`);
  return r.status === 0 ? undefined : r.stderr;
}

function labFiles(t: { teardown(fn: () => void): void }, lab: string) {
  const dir = mkdtempSync(join(tmpdir(), 'ct-contract-'));
  const file = join(dir, 'lab.yaml');
  writeFileSync(file, twoHostRecipe(lab));
  t.teardown(() => {
    g(['down', lab]);
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, file };
}

privTest('up --junit on a build that fails at a step: one errored test case named after the step; --json is the apply_failed document', async (t) => {
  const lab = randomLabName('ct-');
  const { dir, file } = labFiles(t, lab);
  const junit = join(dir, 'junit.xml');
  const up = startCli(['--state-dir', stateDir, 'up', '--json', '--junit', junit, file], { GENEVE_LAB_PAUSE_AFTER_STEP: '1' });
  await up.waitFor(/paused after step 1/);
  // The last guest's namespace does not exist yet: something else takes its name, so its step fails.
  const theirs = `gl-${lab}-right`;
  execFileSync('ip', ['netns', 'add', theirs]);
  t.teardown(() => {
    if (existsSync(`/run/netns/${theirs}`)) execFileSync('ip', ['netns', 'del', theirs]);
  });
  up.child.kill('SIGCONT');
  const code = await up.exit;
  t.is(code, 4, up.stderr());

  const doc = JSON.parse(up.stdout());
  t.is(published('up')(doc), undefined, up.stdout());
  t.deepEqual(nonSnakeKeys(doc), []);
  t.like(doc, { schema: 'geneve-lab/up/v1', lab, verb: 'up', ok: false, exit_code: 4, error: { code: 'apply_failed' } });
  t.is(typeof doc.error.step, 'number');
  t.regex(doc.error.failure.subject, /right/);

  const xml = readFileSync(junit, 'utf8');
  t.is(xsdErrors(junit), undefined, xml);
  t.regex(xml, new RegExp(`<testsuite name="${lab}" tests="1" failures="0" errors="1" skipped="0" time="[0-9.]+" timestamp="[0-9T:-]+" hostname="[^"]+">`));
  const name = `step ${doc.error.step}: ${doc.error.failure.subject}`.replace(/"/g, '&quot;');
  t.true(xml.includes(`<testcase classname="${lab}.up" name="${name}"`), xml);
  t.regex(xml, /<error message="step \d+ failed: [^"]*" type="apply_failed">/);
  t.deepEqual(leftovers(lab, stateDir, { except: [theirs] }), NOTHING, 'rolled back');
});

privTest('run/up/check/status/down --json of a real lab conform to the published schemas; run --junit validates', async (t) => {
  const lab = randomLabName('ct-');
  const { dir, file } = labFiles(t, lab);
  const junit = join(dir, 'run.xml');
  const run = g(['run', '--json', '--junit', junit, file]);
  t.is(run.code, 0, run.stdout + run.stderr);
  const doc = JSON.parse(run.stdout);
  t.is(published('run')(doc), undefined, run.stdout);
  t.deepEqual(nonSnakeKeys(doc), []);
  t.like(doc, { schema: 'geneve-lab/run/v1', lab, verb: 'run', ok: true, exit_code: 0, torn_down: true, summary: { total: 1, passed: 1 } });
  const ping = doc.checks[0];
  t.is(typeof ping.figures.loss_pct, 'number', JSON.stringify(ping.figures));
  t.is(typeof ping.figures.rtt_avg_ms, 'number');
  t.is(typeof ping.duration_ms, 'number');
  t.is(xsdErrors(junit), undefined, readFileSync(junit, 'utf8'));
  t.regex(readFileSync(junit, 'utf8'), new RegExp(`<testsuite name="${lab}" tests="1" failures="0" errors="0"`));

  // The same lab through up / check / status / down, the global options after the verb.
  for (const [verb, args, code] of [
    ['up', ['up', file, '--json', '--state-dir', stateDir], 0],
    ['check', ['check', lab, '--json', '--state-dir', stateDir], 0],
    ['status', ['status', lab, '--json', '--state-dir', stateDir], 0],
    ['down', ['down', lab, '--json', '--state-dir', stateDir], 0],
    ['check', ['check', lab, '--json', '--state-dir', stateDir], 5],
  ] as const) {
    const r = cli([...args]);
    t.is(r.code, code, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    const d = JSON.parse(r.stdout);
    t.is(published(verb)(d), undefined, `${verb}: ${r.stdout}`);
    t.deepEqual(nonSnakeKeys(d), [], verb);
    t.like(d, { schema: `geneve-lab/${verb}/v1`, verb, exit_code: code, ok: code === 0 });
  }
  t.deepEqual(leftovers(lab, stateDir), NOTHING);
}, { tools: ['ping'] });
