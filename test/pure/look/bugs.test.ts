/**
 * Issue 14's bugs of this area, each with the test that failed before its fix:
 *  - iperf to a literal address validated, then errored "unknown endpoint" at run time;
 *  - a capture `interface` naming nothing in the lab validated and failed only at run time.
 */
import test from 'ava';
import { contextFromLab } from '../../../lib/checks/context.js';
import { runCheck } from '../../../lib/checks/run.js';
import type { Background, Executor, RunResult } from '../../../lib/exec/executor.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { fixture } from '../checks/fixtures.js';
import { baseRecipe, errorsOf, tryLoad } from '../recipe/helpers.js';

/** Answers ss (listening once a server started), iperf3 with a real client JSON; records server namespaces. */
class Fake implements Executor {
  readonly where = 'local';
  serverNs: string[] = [];
  private port?: number;
  private ok(argv: readonly string[], stdout = ''): RunResult {
    return { argv: [...argv], exitCode: 0, stdout, stderr: '', durationMs: 1, timedOut: false };
  }
  async run(argv: readonly string[]): Promise<RunResult> {
    const a = argv[0] === 'ip' && argv[1] === 'netns' ? argv.slice(4) : argv;
    if (a[0] === 'ss') return this.ok(argv, a[1]?.startsWith('-Hltn') && this.port ? `LISTEN 0 5 *:${this.port} *:* users:(("iperf3",pid=1,fd=3))\n` : '');
    if (a[0] === 'iperf3') return this.ok(argv, fixture('iperf-tcp.json'));
    return { ...this.ok(argv), exitCode: 1, stderr: `${a[0]}: unexpected` };
  }
  start(argv: readonly string[]): Background {
    this.serverNs.push(argv[1] === 'netns' ? argv[3]! : '');
    this.port = Number(argv[argv.indexOf('-p') + 1]);
    const r = this.ok(argv, '{}');
    return { pid: 1, argv: [...argv], done: new Promise(() => {}), stop: async () => r };
  }
}

test('iperf to a literal address: the server runs on the node that has it (was: "unknown endpoint")', async (t) => {
  const { lab } = loadRecipeText(baseRecipe({ checks: '  - { name: lit, iperf: { from: left, to: 203.0.113.2, duration: 1 } }' }), 'lit.yaml');
  const fake = new Fake();
  const r = await runCheck(lab.checks[0]!, contextFromLab(lab, fake));
  t.is(r.status, 'passed', r.message);
  t.deepEqual(fake.serverNs, ['gl-t-right']);
  t.regex(r.what, /left → 203\.0\.113\.2/);
});

test('iperf/transfer to an address no lab node has: a validation error at the address, not a run-time surprise', (t) => {
  for (const kind of ['iperf', 'transfer']) {
    const errs = errorsOf(tryLoad(baseRecipe({ checks: `  - ${kind}: { from: left, to: 203.0.113.99 }` })));
    t.is(errs.length, 1, JSON.stringify(errs));
    t.is(errs[0]!.path, `checks[0].${kind}.to`);
    t.regex(errs[0]!.message, /203\.0\.113\.99 is not an address of any guest, host or switch of the lab/);
    t.true(errs[0]!.line > 0);
  }
  // ping may go anywhere (it needs no server).
  t.truthy(tryLoad(baseRecipe({ checks: '  - ping: { from: left, to: 203.0.113.99, expect: unreachable }' })).ok);
});

test('a capture interface that names nothing in the lab is a validation error listing what exists', (t) => {
  const errs = errorsOf(tryLoad(baseRecipe({ checks: '  - { name: p, ping: { from: left, to: right } }\n  - capture: { host: box-2, interface: eth9, during: p }' })));
  t.is(errs.length, 1, JSON.stringify(errs));
  t.is(errs[0]!.path, 'checks[1].capture.interface');
  t.is(errs[0]!.line, 22);
  t.regex(errs[0]!.message, /host "box-2" has no interface "eth9".*its links: lo, underlay, sw2, right/);
  // A network name, a tunnel/guest/switch name and tcpdump's "any" are all fine.
  for (const iface of ['underlay', 'tun0', 'right', 'sw2', 'any'])
    t.truthy(tryLoad(baseRecipe({ checks: `  - { name: p, ping: { from: left, to: right } }\n  - capture: { host: box-2, interface: ${iface}, during: p }` })).ok, iface);
});
