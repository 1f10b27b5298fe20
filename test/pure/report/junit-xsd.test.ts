/**
 * `--junit` against the common JUnit schema (Jenkins xUnit's junit-10.xsd, test/fixtures/junit/),
 * checked by libxml2's `xmllint --schema`: check results (failure, error, skipped, a check this
 * kernel cannot run, inner checks), 0 checks, and a verb that failed at a build step — plus the
 * real CLI writing the report when `up` fails before any check.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { formatJunit, formatJunitError } from '../../../lib/report/junit.js';
import { ApplyError, PrerequisiteError } from '../../../lib/errors.js';
import type { CheckResult } from '../../../lib/checks/result.js';
import { cli, ROOT } from '../../support/cli.js';

const XSD = join(ROOT, 'test/fixtures/junit/junit-10.xsd');
const dir = mkdtempSync(join(tmpdir(), 'ct-junit-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/** xmllint's verdict on `xml`: undefined when it validates, else what xmllint said. */
function xsdErrors(xml: string, name: string): string | undefined {
  const f = join(dir, `${name}.xml`);
  writeFileSync(f, xml);
  const r = spawnSync('xmllint', ['--noout', '--schema', XSD, f], { encoding: 'utf8' });
  if (r.error) throw new Error(`xmllint is needed (Debian: libxml2-utils; scripts/install.sh installs it): ${r.error.message}`);
  return r.status === 0 ? undefined : r.stderr;
}

test('the validator itself rejects what the XSD forbids (a <testsuite> without tests=)', (t) => {
  t.truthy(xsdErrors('<testsuites><testsuite name="x" failures="0" errors="0"/></testsuites>', 'invalid'));
});

const results: CheckResult[] = [
  { name: 'ping', kind: 'ping', what: 'ping a → b', status: 'passed', figures: { loss: '0%' }, durationMs: 2000, raw: 'PING <x> & "y"' },
  { name: 'tcp', kind: 'iperf', what: 'iperf3 a → b', status: 'failed', message: 'too slow', figures: { bps: 1 }, durationMs: 2300 },
  { name: 'mtu', kind: 'mtu', what: 'path MTU', status: 'error', message: 'cannot probe\u0007', figures: {}, durationMs: 30 },
  { name: 'restore', kind: 'ovs', what: 'step', status: 'skipped', message: 'not run: step "x" failed', figures: {}, durationMs: 0 },
  {
    name: 'lossy', kind: 'impair', what: 'netem on h', status: 'failed', message: 'impairment on h: unsupported by this kernel (no netem qdisc)', unsupported: 'impairment on h: unsupported by this kernel (no netem qdisc)', figures: {}, durationMs: 5,
    children: [{ name: 'lossy › a', kind: 'ping', what: 'ping', status: 'error', message: 'not run: the impairment could not be applied', unsupported: 'impairment on h: unsupported by this kernel (no netem qdisc)', figures: {}, durationMs: 0 }],
  },
];

test('check results validate; a check the kernel cannot run is <skipped> with the reason; timestamp and hostname are set', (t) => {
  const xml = formatJunit('ct-lab', results, { timestamp: new Date('2026-01-02T03:04:05.678Z') });
  t.is(xsdErrors(xml, 'results'), undefined);
  t.regex(xml, new RegExp(`<testsuite name="ct-lab" tests="6" failures="1" errors="1" skipped="3" time="4.335" timestamp="2026-01-02T03:04:05" hostname="${hostname()}">`));
  t.regex(xml, /<testcase classname="ct-lab.impair" name="lossy" time="0.005">\n {6}<skipped message="impairment on h: unsupported by this kernel \(no netem qdisc\)"\/>/);
  t.regex(xml, /<testcase classname="ct-lab.impair.lossy" name="lossy › a" time="0.000">\n {6}<skipped message="impairment on h: unsupported/);
  t.false(/<failure[^>]*unsupported/.test(xml), 'not a failure');
});

test('0 checks: a testsuite with tests="0" that validates', (t) => {
  const xml = formatJunit('ct-empty', []);
  t.is(xsdErrors(xml, 'empty'), undefined);
  t.regex(xml, /<testsuite name="ct-empty" tests="0" failures="0" errors="0" skipped="0" time="0.000" timestamp="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d" hostname="[^"]+">/);
});

test('a build that failed at a step is one errored test case named after the step', (t) => {
  const e = new ApplyError(7, { subject: 'tunnel "tun0" on host "box-1"', request: 'ip link add tun0 type geneve', errno: 'EOPNOTSUPP' }, { undone: 6, failures: [] });
  const xml = formatJunitError('ct-lab', 'up', e, { durationMs: 1234 });
  t.is(xsdErrors(xml, 'apply'), undefined);
  t.regex(xml, /<testsuite name="ct-lab" tests="1" failures="0" errors="1" skipped="0" time="1.234"/);
  t.regex(xml, /<testcase classname="ct-lab.up" name="step 7: tunnel &quot;tun0&quot; on host &quot;box-1&quot;" time="1.234">\n {6}<error message="step 7 failed: tunnel [^"]*" type="apply_failed">/);
  const pre = formatJunitError('ct-lab', 'run', new PrerequisiteError([{ feature: 'geneve', fix: 'modprobe geneve' }]));
  t.is(xsdErrors(pre, 'prereq'), undefined);
  t.regex(pre, /<testcase classname="ct-lab.run" name="prerequisite_missing" time="0.000">\n {6}<error message="geneve: modprobe geneve" type="prerequisite_missing">/);
});

test('the CLI writes --junit when up fails before any check (invalid recipe): one errored test case', (t) => {
  const f = join(dir, 'cli.xml');
  const r = cli(['up', '--junit', f, 'test/fixtures/recipes/five-mistakes.yaml']);
  t.is(r.code, 2, r.stderr);
  const xml = readFileSync(f, 'utf8');
  t.is(xsdErrors(xml, 'cli'), undefined);
  // An invalid recipe still names its lab (its `lab:` line).
  t.regex(xml, /<testsuite name="five-mistakes" tests="1" failures="0" errors="1"/);
  t.regex(xml, /<testcase classname="five-mistakes\.up" name="invalid_recipe"[^>]*>\n {6}<error message="5 problems in recipe:" type="invalid_recipe">/);
});
