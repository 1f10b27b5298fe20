/**
 * The OVN checks against real OVN output (test/fixtures/ovn): the capture expectation in names,
 * resolved through the SB and compared with the wire, with both sides in the message; and the
 * `ovn` check kind (table queries, text queries, ovn-trace, tunnels: mesh). Pure: a fake executor
 * answers with the captured output.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Executor, RunResult } from '../../../lib/exec/executor.js';
import { resolveOvnExpect, wireLegend, withoutOvn } from '../../../lib/checks/capture-ovn.js';
import { matchCapture } from '../../../lib/checks/capture-expect.js';
import { runOvnCheck } from '../../../lib/checks/ovn.js';
import { contextFromLab } from '../../../lib/checks/context.js';
import { loadRecipeFile } from '../../../lib/recipe/load.js';
import { decodeFrame } from '../../../lib/wire/decode.js';
import type { OvnCheck } from '../../../lib/model/ovn.js';
import { queryProblem, isReadOnlyCommand } from '../../../lib/ovn/readonly.js';

const fx = (n: string) => readFileSync(join(import.meta.dirname, '../../fixtures/ovn', n), 'utf8');

/** Answers ovn-sbctl/ovs-vsctl/ovn-trace like the real lab did; records what ran. */
function fakeExec(overrides: Record<string, Partial<RunResult>> = {}): Executor & { calls: string[][] } {
  const calls: string[][] = [];
  const answer = (argv: readonly string[]): Partial<RunResult> => {
    const line = argv.join(' ');
    for (const [k, v] of Object.entries(overrides)) if (line.includes(k)) return v;
    if (line.includes('list Datapath_Binding')) return { stdout: fx('sb-datapath-binding.json') };
    if (line.includes('--columns=logical_port,tunnel_key,datapath list Port_Binding')) return { stdout: fx('sb-port-binding-keys.json') };
    if (line.includes('find Port_Binding logical_port=vm2')) return { stdout: fx('sb-find-port-binding-vm2.json') };
    if (line.includes('find Interface type=geneve')) return { stdout: line.includes('worker1') ? fx('ovs-worker1-geneve-interfaces.json') : fx('ovs-worker1-geneve-interfaces.json').replace('192.0.2.101', '192.0.2.100') };
    if (argv[0] === 'ovn-trace') return { stdout: fx('trace-minimal.txt') };
    if (line.includes('get Datapath_Binding network1 tunnel_key')) return { stdout: '1\n' };
    return { exitCode: 1, stderr: `unexpected: ${line}` };
  };
  return {
    where: 'local',
    calls,
    async run(argv) {
      calls.push([...argv]);
      return { argv: [...argv], exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false, ...answer(argv) };
    },
    start() {
      throw new Error('not used');
    },
  };
}

/** The seed-004 article's own request frame (worker1 → worker2), with VNI and port keys patched in. */
const ARTICLE_FRAME =
  '525400ac675b52540013e0a208004500008ef9b0400040115a94c0a83264c0a832651d7d17c1007ae6a502406558000001000102800100010002' +
  '404400000002404400000001080045000054a3f0400040011551c0a8000bc0a8000c0800c67b04e31af194d96e5c0000000041a70e0000000000' +
  '101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637';
function ovnPacket(vni: number, ingress: number, egress: number) {
  const b = Buffer.from(ARTICLE_FRAME, 'hex');
  b.writeUIntBE(vni, 46, 3); // Geneve VNI (Ethernet 14 + IPv4 20 + UDP 8 + 4)
  b.writeUInt16BE(ingress & 0x7fff, 54); // the OVN option's body: ingress << 16 | egress
  b.writeUInt16BE(egress, 56);
  return decodeFrame(b, 1);
}

test('names resolve to the SB\'s keys (what ovn-sbctl get … tunnel-key shows)', async (t) => {
  const exec = fakeExec();
  const r = await resolveOvnExpect({ exec, runDir: '/r/lab/ovn-central' }, { ovn: { datapath: 'network1', ingress: 'vm1', egress: 'vm2' }, 'inner.src': '198.51.100.11' });
  t.deepEqual(r.expect, { 'inner.src': '198.51.100.11', 'geneve.vni': 1, 'geneve.ovn': { ingress: 2, egress: 1 } });
  t.is(r.resolved, 'datapath network1 → VNI 1, ingress vm1 → port key 2, egress vm2 → port key 1 (from the SB database)');
  t.true(exec.calls.every((c) => c[0] === 'ovn-sbctl' && c[1] === '--db=unix:/r/lab/ovn-central/sb.sock'), JSON.stringify(exec.calls));
});

test('a wrong expectation (egress vm1) fails with both sides: the key from the SB and the key on the wire, named', async (t) => {
  const exec = fakeExec();
  const r = await resolveOvnExpect({ exec, runDir: '/r' }, { ovn: { datapath: 'network1', ingress: 'vm1', egress: 'vm1' } });
  const packets = [ovnPacket(1, 2, 1), ovnPacket(1, 2, 1), ovnPacket(1, 2, 1)];
  const m = matchCapture(packets, r.expect, 3);
  t.false(m.ok);
  t.regex(m.message, /expected geneve\.vni 1, geneve\.ovn ingress 2 egress 2 in ≥3 packets, 0 matched; saw 3 geneve packets with geneve\.ovn ingress 2 egress 1 ×3/);
  t.is(wireLegend([...packets, ovnPacket(1, 1, 2), ovnPacket(1, 2, 0x8000)], r.keys), 'on the wire, by the SB: VNI 1 = network1; ingress 2 egress 1 = vm1 → vm2 ×3, ingress 1 egress 2 = vm2 → vm1 ×1, ingress 2 egress 32768 = vm1 → multicast group 32768 ×1');
  // The right expectation passes on the same packets.
  const ok = await resolveOvnExpect({ exec, runDir: '/r' }, { ovn: { datapath: 'network1', ingress: 'vm1', egress: 'vm2' } });
  t.true(matchCapture(packets, ok.expect, 3).ok);
});

test('a name the SB does not know is an error (never a pass), listing what it knows', async (t) => {
  const e = await t.throwsAsync(resolveOvnExpect({ exec: fakeExec(), runDir: '/r' }, { ovn: { ingress: 'vm9' } }));
  t.regex(e!.message, /no Port_Binding for ingress port "vm9" \(known: vm1, vm2\)/);
  const d = await t.throwsAsync(resolveOvnExpect({ exec: fakeExec(), runDir: '/r' }, { ovn: { datapath: 'ls9' } }));
  t.regex(d!.message, /no Datapath_Binding for "ls9" \(known: network1\)/);
  t.deepEqual(withoutOvn({ ovn: {}, a: 1 }), { a: 1 });
});

async function seedCtx(exec: Executor) {
  const { lab } = await loadRecipeFile(join(import.meta.dirname, '../../../recipes/ovn-seed004.yaml'));
  return { ...contextFromLab(lab, exec), runRoot: '/r' };
}
const check = (query: OvnCheck['query'], expect?: unknown): OvnCheck => ({ kind: 'ovn', name: 'q', query, ...(expect !== undefined ? { expect } : {}) });

test('ovn check: find → JSON rows, paths of { rows, count } asserted; a miss names field, expected and observed', async (t) => {
  const exec = fakeExec();
  const ctx = await seedCtx(exec);
  const ok = await runOvnCheck(check({ tool: 'sbctl', args: ['find', 'Port_Binding', 'logical_port=vm2'] }, { count: 1, 'rows.0.up': true, 'rows.0.tunnel_key': 1 }), ctx);
  t.is(ok.status, 'passed', ok.message);
  t.deepEqual(exec.calls.at(-1), ['ovn-sbctl', '--db=unix:/r/ovn-seed004/ovn-central/sb.sock', '--timeout=10', '--format=json', '--data=json', 'find', 'Port_Binding', 'logical_port=vm2']);
  const bad = await runOvnCheck(check({ tool: 'sbctl', args: ['find', 'Port_Binding', 'logical_port=vm2'] }, { 'rows.0.tunnel_key': 2 }), ctx);
  t.is(bad.status, 'failed');
  t.regex(bad.message!, /rows\.0\.tunnel_key: expected 2, observed 1/);
});

test('ovn check: text commands and ovn-trace take one matcher; a failing tool is an error', async (t) => {
  const ctx = await seedCtx(fakeExec());
  t.is((await runOvnCheck(check({ tool: 'sbctl', args: ['get', 'Datapath_Binding', 'network1', 'tunnel_key'] }, 1), ctx)).status, 'passed');
  const tr = await runOvnCheck(check({ tool: 'trace', args: ['--minimal', 'network1', 'inport == "vm1"'] }, { contains: 'output("vm2")' }), ctx);
  t.is(tr.status, 'passed', tr.message);
  const wrong = await runOvnCheck(check({ tool: 'trace', args: ['--minimal', 'network1', 'inport == "vm1"'] }, { contains: 'output("vm1")' }), ctx);
  t.is(wrong.status, 'failed');
  t.regex(wrong.message!, /output: expected contains "output\(\\"vm1\\"\)", observed .*output\(\\"vm2\\"\)/);
  const err = await runOvnCheck(check({ tool: 'sbctl', args: ['list', 'Nope'] }, { count: 0 }), await seedCtx(fakeExec({ 'list Nope': { exitCode: 1, stderr: 'ovn-sbctl: unknown table "Nope"' } })));
  t.is(err.status, 'error');
  t.regex(err.message!, /unknown table "Nope" — nothing could be observed/);
});

test('tunnels: mesh passes when each chassis has one Geneve port to every other, and names the gap when not', async (t) => {
  const ok = await runOvnCheck(check({ tool: 'mesh' }), await seedCtx(fakeExec()));
  t.is(ok.status, 'passed', ok.message);
  t.deepEqual(ok.figures, { chassis: 2, tunnel_ports: 2, per_chassis: 1 });
  const none = await runOvnCheck(check({ tool: 'mesh' }), await seedCtx(fakeExec({ 'ovs-worker2/db.sock': { stdout: '{"data":[],"headings":["name","type","options","error","external_ids"]}' } })));
  t.is(none.status, 'failed');
  t.regex(none.message!, /chassis worker2: Geneve tunnels \(remote_ip\): expected 1 port: 192\.0\.2\.100, observed 0 ports: none/);
});

test('read-only: show/list/find/get and *-list/*-get pass; anything that writes does not', (t) => {
  for (const c of ['show', 'list', 'find', 'get', 'lsp-list', 'lr-route-list', 'lsp-get-addresses', 'lflow-list', 'acl-list']) t.true(isReadOnlyCommand(c), c);
  for (const c of ['set', 'add', 'remove', 'clear', 'destroy', 'create', 'lsp-del', 'ls-add', 'chassis-del', 'lsp-set-addresses', 'sync', 'wait-until']) t.false(isReadOnlyCommand(c), c);
  t.regex(queryProblem('sbctl', ['--db=tcp:1.2.3.4:6642', 'show'])!, /not allowed here/);
  t.is(queryProblem('sbctl', ['--columns=name,tunnel_key', 'list', 'Chassis']), undefined);
  t.regex(queryProblem('trace', ['--detach', 'ls', 'x'])!, /--detach not allowed/);
  t.regex(queryProblem('trace', ['--minimal'])!, /needs a microflow/);
});
