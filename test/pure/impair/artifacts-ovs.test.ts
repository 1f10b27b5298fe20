/**
 * Failure artifacts include OVS's own view of every simulated host running OVS daemons, and
 * the files of an impair step's inner checks. (The real daemons: test/priv/impair.)
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckResult } from '../../../lib/checks/result.js';
import type { Executor } from '../../../lib/exec/executor.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { ovsInstances, writeArtifacts } from '../../../lib/report/artifacts.js';

const lab = loadRecipeText(
  `lab: oa
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24 }] }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24 }] }
switches: [{ name: sw1, host: box-1, kind: ovs }, { name: sw2, host: box-2 }]
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24] }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels: [{ name: tun0, between: [sw1, sw2] }]
checks: [{ ping: { from: left, to: right } }]
`,
  'oa.yaml',
).lab;

function fake(): Executor & { calls: { argv: string[]; env?: Record<string, string> }[] } {
  const calls: { argv: string[]; env?: Record<string, string> }[] = [];
  return {
    where: 'local',
    calls,
    async run(argv, o) {
      calls.push({ argv: [...argv], ...(o?.env ? { env: o.env } : {}) });
      const a = argv.slice(4);
      const out = (stdout: string, exitCode = 0, stderr = '') => ({ argv: [...argv], exitCode, stdout, stderr, durationMs: 1, timedOut: false });
      if (a[0] === 'ovs-vsctl' && a.includes('list-br')) return out('br-phy0\nsw1\n');
      if (a[0] === 'ovs-vsctl') return out('8b1d...\n    Bridge sw1\n');
      if (a[0] === 'ovs-ofctl') return out(` cookie=0x0, table=0, priority=0 actions=NORMAL (${a.at(-1)})\n`);
      if (a.includes('tnl/ports/show')) return out('', 2, 'ovs-appctl: cannot connect\n');
      return out('[]\n');
    },
    start() {
      throw new Error('unused');
    },
  };
}

test('only hosts that run OVS, with the run directory the planner gives their daemons', (t) => {
  t.deepEqual(ovsInstances(lab, '/st/run'), [{ host: 'box-1', ns: 'gl-oa-box-1', runDir: '/st/run/oa/ovs-box-1' }]);
});

test('a failed check leaves vsctl show, flows per bridge, tunnel ports and datapath flows of each OVS host', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-art-ovs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ex = fake();
  const inner: CheckResult = { name: 'lossy › iperf left→right', kind: 'iperf', what: 'iperf3', status: 'failed', message: 'expected ≥ 20 Mbit/s, saw 3 Mbit/s', figures: {}, durationMs: 1, raw: 'IPERF-RAW' };
  const stepResult: CheckResult = { name: 'lossy', kind: 'impair', what: 'netem loss 30%', status: 'failed', message: 'm', figures: {}, durationMs: 2, children: [inner] };
  await writeArtifacts(dir, lab, [stepResult], ex, { ovsRunRoot: '/st/run' });
  const ovsDir = join(dir, 'ovs', 'box-1');
  t.regex(readFileSync(join(ovsDir, 'vsctl-show.txt'), 'utf8'), /Bridge sw1/);
  t.regex(readFileSync(join(ovsDir, 'flows-sw1.txt'), 'utf8'), /actions=NORMAL \(sw1\)/);
  t.regex(readFileSync(join(ovsDir, 'flows-br-phy0.txt'), 'utf8'), /actions=NORMAL \(br-phy0\)/);
  t.regex(readFileSync(join(ovsDir, 'tnl-ports.txt'), 'utf8'), /tnl\/ports\/show failed \(exit 2\)\novs-appctl: cannot connect/);
  t.truthy(readFileSync(join(ovsDir, 'dp-flows.txt'), 'utf8'));
  t.true(ex.calls.some((c) => c.argv.join(' ').endsWith('-t /st/run/oa/ovs-box-1/ovs-vswitchd.ctl tnl/neigh/show')));
  t.truthy(readFileSync(join(ovsDir, 'tnl-neigh.txt'), 'utf8'));
  t.true(ex.calls.some((c) => c.argv.join(' ').endsWith('-t /st/run/oa/ovs-box-1/ovs-vswitchd.ctl ovs/route/show')));
  t.truthy(readFileSync(join(ovsDir, 'tnl-routes.txt'), 'utf8'));
  const show = ex.calls.find((c) => c.argv.includes('show') && c.argv.includes('ovs-vsctl'))!;
  t.deepEqual(show.argv, ['ip', 'netns', 'exec', 'gl-oa-box-1', 'ovs-vsctl', '--db=unix:/st/run/oa/ovs-box-1/db.sock', '--timeout=5', 'show']);
  t.is(ex.calls.find((c) => c.argv.includes('ovs-ofctl'))!.env?.OVS_RUNDIR, '/st/run/oa/ovs-box-1', 'ofctl finds the bridges\' mgmt sockets');
  t.true(ex.calls.some((c) => c.argv.join(' ').endsWith('-t /st/run/oa/ovs-box-1/ovs-vswitchd.ctl tnl/ports/show')));
  t.false(ex.calls.some((c) => c.argv.includes('gl-oa-box-2') && c.argv.some((a) => a.startsWith('ovs-'))), 'no OVS dumps for a host without OVS');
  // The step and its failed inner check each get their file; the summary nests the inner one.
  t.regex(readFileSync(join(dir, 'checks', 'lossy_iperf_left_right.txt'), 'utf8'), /IPERF-RAW/);
  t.truthy(readFileSync(join(dir, 'checks', 'lossy.txt'), 'utf8'));
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  t.is(summary.checks[0].children[0].name, 'lossy › iperf left→right');
  t.is(summary.checks[0].children[0].raw, undefined);
});
