/**
 * VM tier (kernel datapath): seed 004 with real OVN on OVS's kernel datapath — the same recipe
 * as on this machine's userspace datapath (recipes/ovn-seed004.yaml, hosts on `auto`), where
 * `auto` now picks `system`: ovn-bridge-datapath-type=system, Geneve through the kernel's
 * genev_sys_6081. Ping vm1 → vm2 and the metadata on worker2's underlay against the SB's keys,
 * both directions; then nothing is left.
 *
 * Needs the openvswitch module: run inside the VM, `npm run build && node bin/geneve-lab.js vm
 * --timeout 1800 --exec -- node test/support/run-tests.js --inner -- test/vm/ovn/seed004.test.ts`.
 * Elsewhere the test is skipped LOUDLY.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI_ARGV, cli, ROOT } from '../../support/cli.js';
import { netnsList } from '../../support/oracle.js';
import { randomLabName } from '../../support/priv.js';
import { kernelTest } from '../faults/kernel.js';

const TOOLS = ['ovs-vswitchd', 'ovsdb-server', 'ovsdb-tool', 'ovs-vsctl', 'ovn-northd', 'ovn-controller', 'ovn-nbctl', 'ovn-sbctl', 'ovn-trace', 'ovn-appctl', 'tcpdump'];

kernelTest('seed 004 with real OVN on the OVS kernel datapath: ping vm1 → vm2, VNI and OVN option on the wire equal the SB\'s keys both ways, tunnels built by ovn-controller', (t) => {
  t.timeout(25 * 60_000); // several CLI runs under TCG
  const lab = randomLabName('vn');
  const dir = mkdtempSync(join(tmpdir(), 'gl-vmovn-'));
  const state = join(dir, 'state');
  const file = join(dir, 'ovn-seed004.yaml');
  writeFileSync(file, readFileSync(join(ROOT, 'recipes', 'ovn-seed004.yaml'), 'utf8').replace(/^lab: \S+$/m, `lab: ${lab}`));
  const g = (a: string[]) => cli(['--state-dir', state, ...a]);
  t.teardown(() => {
    g(['down', lab]);
    rmSync(dir, { recursive: true, force: true });
  });
  const plan = JSON.parse(g(['plan', '--format', 'json', file]).stdout) as { steps: { subject: string; op: { op: string; cmds?: { args: string[] }[]; neighbours?: unknown[] } }[] };
  const ids = plan.steps.filter((s) => s.subject.startsWith('OVN chassis') && s.op.op === 'ovs.cmds').flatMap((s) => s.op.cmds![0]!.args);
  t.true(ids.includes('external_ids:ovn-bridge-datapath-type=system'), ids.join(' '));
  t.false(plan.steps.some((s) => s.op.op === 'offload.set' && s.subject.startsWith('OVN')), 'no userspace-datapath checksum workaround');
  t.deepEqual(plan.steps.find((s) => s.op.op === 'ovn.ready')!.op.neighbours, [], 'the kernel resolves tunnel neighbours itself');

  // Under TCG `up` alone takes minutes (each daemon start is slow): more than `cli` allows (180 s).
  const run = spawnSync(process.execPath, [...CLI_ARGV, '--state-dir', state, 'run', '--json', '--verbose', file], { cwd: ROOT, encoding: 'utf8', timeout: 20 * 60_000 });
  const r = { code: run.status ?? -1, stdout: run.stdout ?? '', stderr: run.stderr ?? '' };
  t.is(r.code, 0, `${r.stderr}\n${r.stdout.slice(0, 6000)}`);
  const checks = JSON.parse(r.stdout).checks as { name: string; status: string; message?: string }[];
  t.deepEqual(
    checks.map((c) => [c.name, c.status]),
    ['vm1-to-vm2', 'request-metadata-matches-sb', 'reply-metadata-matches-sb', 'vm2-bound-on-worker2', 'network1-is-datapath-1', 'trace-vm1-to-vm2', 'tunnels', 'vswitchd-log worker1', 'vswitchd-log worker2'].map((n) => [n, 'passed']),
    JSON.stringify(checks, null, 1),
  );
  t.regex(r.stderr, /OVN control plane converged: 2 chassis registered, 2 logical ports up/);
  t.deepEqual(netnsList().filter((n) => n.startsWith(`gl-${lab}-`)), []);
}, { features: ['ovs-kernel'], tools: TOOLS });
