/**
 * VM tier: the recipes of issue 14 that need kernel geneve, through the real CLI.
 *  - recipes/geneve-critical-option-counter.yaml: OVS sends a critical option to a plain kernel
 *    geneve device, which drops it and counts rx_frame_errors — the counter check sees it grow;
 *    with a non-critical option the same counter check FAILS (nothing dropped), so it can fail.
 *  - recipes/kernel-ovs-geneve-log-gate.yaml: kernel geneve ↔ OVS with the vswitchd log gate on:
 *    green as shipped (the VM's fresh-start lines are allowed), red with the offending line named
 *    when vswitchd warns about something the recipe did not allow.
 * Elsewhere every test is skipped LOUDLY (no geneve netdev / no openvswitch module).
 */
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI_ARGV, ROOT } from '../../support/cli.js';
import { netnsList } from '../../support/oracle.js';
import { randomLabName } from '../../support/priv.js';
import { kernelTest } from '../faults/kernel.js';

const vmTest = (title: string, fn: (t: ExecutionContext) => void) =>
  kernelTest(title, fn, { features: ['geneve', 'ovs-kernel'], tools: ['ovs-vswitchd', 'ovsdb-server', 'ovs-vsctl', 'ovs-ofctl', 'tcpdump', 'ping'] });

interface JsonCheck {
  name: string;
  status: string;
  message?: string;
  figures: Record<string, unknown>;
}

function labOf(t: ExecutionContext, file: string, edit: (s: string) => string = (s) => s) {
  const lab = randomLabName('lk');
  const dir = mkdtempSync(join(tmpdir(), `gl-look-${lab}-`));
  const text = edit(readFileSync(join(ROOT, file), 'utf8').replace(/^lab: .*$/m, `lab: ${lab}`));
  const path = join(dir, 'recipe.yaml');
  writeFileSync(path, text);
  // Under TCG on a busy machine one CLI call with several checks can take minutes (every process
  // start is slow): a longer limit than test/support/cli.ts's 180 s.
  const gl = (args: string[]) => {
    const r = spawnSync(process.execPath, [...CLI_ARGV, '--state-dir', join(dir, 'state'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 900_000 });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  t.teardown(() => {
    gl(['down', lab]);
    rmSync(dir, { recursive: true, force: true });
  });
  const run = (args: string[]): { code: number; by: Record<string, JsonCheck>; checks: JsonCheck[] } => {
    // Under TCG one CLI call for up + checks + down can outlast the CLI helper's 180 s: `run` is
    // done as up, check, down, each timed.
    if (args[0] === 'run') {
      const t0 = Date.now();
      const up = gl(['up', '--no-checks', ...args.slice(1)]);
      if (up.code !== 0) throw new Error(`up failed (exit ${up.code}, ${Date.now() - t0} ms):\n${up.stdout}\n${up.stderr}`);
      const t1 = Date.now();
      const r = run(['check', ...args.slice(1)]);
      const down = gl(['down', lab]);
      process.stderr.write(`${lab}: up ${t1 - t0} ms, check ${Date.now() - t1} ms, down exit ${down.code}\n`);
      return r;
    }
    const r = gl([...args, '--json', '--artifacts', join(dir, 'artifacts')]);
    let checks: JsonCheck[];
    try {
      checks = (JSON.parse(r.stdout) as { checks: JsonCheck[] }).checks;
    } catch {
      throw new Error(`no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
    return { code: r.code, by: Object.fromEntries(checks.map((c) => [c.name, c])), checks };
  };
  return { lab, dir, path, gl, run, ns: (n: string) => `gl-${lab}-${n}` };
}
const show = (cs: JsonCheck[]) => cs.map((c) => `${c.status} ${c.name}: ${c.message ?? ''} ${JSON.stringify(c.figures)}`).join('\n');

vmTest('critical option to a plain kernel geneve device: ping unreachable, C flag on the wire, rx_frame_errors grows (counter check passes)', (t) => {
  const L = labOf(t, 'recipes/geneve-critical-option-counter.yaml');
  const r = L.run(['run', L.path]);
  t.is(r.code, 0, show(r.checks));
  for (const n of ['dropped', 'frame-errors', 'critical-on-the-wire', 'vswitchd-log box-1']) t.is(r.by[n]?.status, 'passed', show(r.checks));
  t.true(Number(r.by['frame-errors']!.figures.delta) >= 1, show(r.checks));
  t.deepEqual(netnsList().filter((n) => n.startsWith(`gl-${L.lab}-`)), []);
});

vmTest('the same with a NON-critical option: nothing is dropped, so the counter check FAILS and says 0 frame errors', (t) => {
  const L = labOf(t, 'recipes/geneve-critical-option-counter.yaml', (s) => s.replace('type: 0x80, data', 'type: 0x01, data').replace('type: 0x80 } }', 'type: 0x01 } }').replace('expect: unreachable', 'expect: reachable'));
  const r = L.run(['run', L.path]);
  t.is(r.code, 1, show(r.checks));
  t.is(r.by.dropped?.status, 'passed', show(r.checks));
  t.is(r.by['frame-errors']?.status, 'failed', show(r.checks));
  t.regex(r.by['frame-errors']!.message!, /rx_frame_errors delta \(\d+ → \d+\): expected >= 1, observed 0/);
  t.is(r.by['critical-on-the-wire']?.status, 'failed', 'no C flag without a critical option');
  const art = readFileSync(join(L.dir, 'artifacts', 'checks', 'frame-errors.txt'), 'utf8');
  t.regex(art, /ip -s -s -j link show dev tun0/, 'the raw output is in the artifacts');
});

vmTest('kernel geneve ↔ OVS with the log gate on: green as shipped (the VM\'s vswitchd lines are allowed)', (t) => {
  const L = labOf(t, 'recipes/kernel-ovs-geneve-log-gate.yaml');
  const r = L.run(['run', L.path]);
  t.is(r.code, 0, show(r.checks));
  t.deepEqual(r.checks.map((c) => c.name), ['settle', 'reachable', 'mib', 'kernel-end', 'ovs-end', 'port-added', 'vswitchd-log box-1']);
  t.true(r.checks.every((c) => c.status === 'passed'), show(r.checks));
});

vmTest('the log gate catches a real vswitchd warning and names the line', (t) => {
  const L = labOf(t, 'recipes/kernel-ovs-geneve-log-gate.yaml');
  const up = L.gl(['up', '--no-checks', L.path]);
  t.is(up.code, 0, up.stdout + up.stderr);
  // A real misconfiguration, made by hand behind the lab's back: OVS warns about it.
  const db = join(L.dir, 'state', 'run', L.lab, 'ovs-box-1', 'db.sock');
  execFileSync('ovs-vsctl', [`--db=unix:${db}`, 'set', 'Interface', 'tun0', 'options:frobnicate=yes']);
  const r = L.run(['check', L.path]);
  t.is(r.code, 1, show(r.checks));
  t.is(r.by['vswitchd-log box-1']?.status, 'failed', show(r.checks));
  t.regex(r.by['vswitchd-log box-1']!.message!, /WARN\/ERR\/EMER lines not allowed: expected none, observed \d+: .*frobnicate/);
});
