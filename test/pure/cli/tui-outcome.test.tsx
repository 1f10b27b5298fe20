/**
 * `up --tui --junit FILE` writes the report on every outcome (issue 18 §3), through the same
 * withJunitOutcome as `up`: the TUI session's controller (cli/tui-outcome.ts) remembers the last
 * `up`, the last checks run and every check result, whether the automatic run or a key started it.
 */
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { App } from '../../../lib/ui/App.js';
import { ApplyError, ExitCode, LabError } from '../../../lib/errors.js';
import type { LabEvent } from '../../../lib/engine/events.js';
import { withJunitOutcome } from '../../../cli/junit-outcome.js';
import { TuiOutcome } from '../../../cli/tui-outcome.js';
import { FakeController } from '../ui/fixtures/fake-controller.js';
import { iperfFailed, pingPassed, sampleLab } from '../ui/fixtures/lab.js';

const lab = sampleLab();
const dir = mkdtempSync(join(tmpdir(), 'tf-tui-junit-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = () => join(dir, `junit-${++n}.xml`);
const tick = (ms = 60) => new Promise((r) => setTimeout(r, ms));

const upDone: LabEvent[] = [
  { type: 'phase', phase: 'up', state: 'start', lab: 'quick' },
  { type: 'phase', phase: 'up', state: 'done', lab: 'quick' },
];
const checks = (...rs: (typeof pingPassed)[]): LabEvent[] => rs.flatMap((r): LabEvent[] => [{ type: 'check-start', check: lab.checks.find((c) => c.name === r.name)! }, { type: 'check-done', result: r }]);
const testcases = (xml: string) => [...xml.matchAll(/<testcase [^>]*name="([^"]+)"/g)].map((m) => m[1]!);

/** What upWithTui does around the TUI: the automatic up and checks, then finish() inside withJunitOutcome. */
async function session(ctrl: FakeController, during?: (o: TuiOutcome) => Promise<void>) {
  const f = file();
  let code: number | undefined;
  let error: unknown;
  try {
    code = await withJunitOutcome(f, 'up', async (writeJunit) => {
      const o = new TuiOutcome(ctrl);
      await o.controller.up().then(
        () => o.controller.runChecks(),
        () => undefined, // shown in the TUI as a notice
      );
      await during?.(o);
      return o.finish(writeJunit);
    });
  } catch (e) {
    error = e;
  }
  return { code, error, xml: existsSync(f) ? readFileSync(f, 'utf8') : undefined };
}

test('checks ran: every result is a test case; a failed check is exit 1', async (t) => {
  const r = await session(new FakeController(lab, { up: upDone, checks: checks(pingPassed, iperfFailed) }));
  t.is(r.code, ExitCode.checkFailed);
  t.truthy(r.xml, 'the report is written');
  t.deepEqual(testcases(r.xml!), ['left-to-right', 'throughput']);
  t.regex(r.xml!, /<testsuite name="quick" tests="2" failures="1" errors="0"/);
});

test('all checks passed: exit 0 and the report', async (t) => {
  const r = await session(new FakeController(lab, { up: upDone, checks: checks(pingPassed) }));
  t.is(r.code, 0);
  t.deepEqual(testcases(r.xml!), ['left-to-right']);
});

test('up failed at a build step: the error is thrown (its exit code) and the report has one errored test case named after the step', async (t) => {
  const err = new ApplyError(8, { subject: 'tunnel "tun0" on host "box-1"', request: 'ip link add', kernelMessage: 'boom' }, { undone: 7, failures: [] });
  const r = await session(new FakeController(lab, { upError: err }));
  t.is(r.error, err);
  t.is(r.code, undefined);
  t.regex(r.xml ?? '', /<testsuite name="quick" tests="1" failures="0" errors="1"/);
  t.deepEqual(testcases(r.xml!), ['step 8: tunnel &quot;tun0&quot; on host &quot;box-1&quot;']);
});

test('no checks ran: a testsuite with 0 tests', async (t) => {
  const r = await session(new FakeController(lab, { up: upDone }));
  t.is(r.code, 0);
  t.regex(r.xml ?? '', /<testsuite name="quick" tests="0"/);
});

test('a check re-run from the TUI replaces its earlier result; a later successful u clears an earlier failed one', async (t) => {
  const err = new LabError('preflight: iperf3 missing', ExitCode.missingPrerequisite);
  const ctrl = new FakeController(lab, { upError: err });
  const r = await session(ctrl, async (o) => {
    // The user fixed it and pressed u, then c, then Enter on the throughput check (now passing).
    (ctrl as unknown as { script: object }).script = { up: upDone, checks: checks(pingPassed, iperfFailed) };
    await o.controller.up();
    await o.controller.runChecks();
    ctrl.bus.emit({ type: 'check-done', result: { ...iperfFailed, status: 'passed', message: undefined } });
  });
  t.is(r.error, undefined);
  t.is(r.code, 0);
  t.deepEqual(testcases(r.xml!), ['left-to-right', 'throughput']);
  t.regex(r.xml!, /tests="2" failures="0" errors="0"/);
});

test('an action the controller refused because another one was running is not taken as the outcome', async (t) => {
  let release!: () => void;
  const ctrl = new FakeController(lab, { up: upDone, checks: checks(pingPassed) });
  const slowChecks = ctrl.runChecks.bind(ctrl);
  ctrl.runChecks = async () => {
    await new Promise<void>((r) => (release = r));
    await slowChecks();
  };
  const real = ctrl.up.bind(ctrl);
  let busy = false;
  ctrl.up = async () => {
    if (busy) throw new LabError('cannot start up: checks is still running', ExitCode.applyFailed);
    await real();
  };
  const f = file();
  const code = await withJunitOutcome(f, 'up', async (writeJunit) => {
    const o = new TuiOutcome(ctrl);
    await o.controller.up();
    busy = true;
    const running = o.controller.runChecks();
    await tick();
    await t.throwsAsync(o.controller.up(), { message: /still running/ }, 'u pressed while the checks run is refused');
    busy = false;
    release();
    await running;
    return o.finish(writeJunit);
  });
  t.is(code, 0);
  t.deepEqual(testcases(readFileSync(f, 'utf8')), ['left-to-right']);
});

test('keys pressed in the TUI feed the outcome: u then c in the app, quit, then the report', async (t) => {
  const ctrl = new FakeController(lab, { up: upDone, checks: checks(pingPassed, iperfFailed) });
  const o = new TuiOutcome(ctrl);
  const app = render(<App controller={o.controller} size={{ columns: 100, rows: 30 }} />);
  await tick(150);
  app.stdin.write('u');
  await tick(150);
  app.stdin.write('c');
  for (let i = 0; i < 50 && !/checks finished/.test(app.lastFrame() ?? ''); i++) await tick(40);
  app.unmount();
  const f = file();
  const code = await withJunitOutcome(f, 'up', async (w) => o.finish(w));
  t.deepEqual(ctrl.calls, ['up', 'checks']);
  t.is(code, ExitCode.checkFailed);
  t.deepEqual(testcases(readFileSync(f, 'utf8')), ['left-to-right', 'throughput']);
});
