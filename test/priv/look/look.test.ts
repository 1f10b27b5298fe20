/**
 * Priv tier (real namespaces, real OVS userspace datapath, real nftables/tc/iperf3): the check
 * kinds that look and the probe knobs, against the real thing.
 *  - the docs example (docs/recipes.md, "Checks that look") passes as written, including the
 *    default vswitchd log gate; broken variants fail naming subject, expected and observed in the
 *    table, --json, JUnit, and leave the raw output in --artifacts;
 *  - the log gate catches a real vswitchd warning;
 *  - the snapshot API the scenario runner uses (counter since, state unchanged/changed_since);
 *  - tc filter hit counters; transfer expect undelivered; ping pmtu/interface/source.
 */
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contextFromLab, type CheckContext } from '../../../lib/checks/context.js';
import { runCheck } from '../../../lib/checks/run.js';
import { snapshotAfterStep, snapshotStore, takeSnapshot } from '../../../lib/checks/snapshot.js';
import { LocalExecutor } from '../../../lib/exec/executor.js';
import type { CounterCheck, StateCheck, TransferCheck, LogCheck } from '../../../lib/model/look-checks.js';
import type { Lab } from '../../../lib/model/types.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { cli, ROOT } from '../../support/cli.js';
import { netnsList } from '../../support/oracle.js';
import { privTest, randomLabName } from '../../support/priv.js';

const TOOLS = { tools: ['ovs-vswitchd', 'ovsdb-server', 'ovs-vsctl', 'ovs-ofctl', 'nft', 'tc', 'tcpdump', 'ping', 'iperf3'] };
const exec = new LocalExecutor();

interface JsonCheck {
  name: string;
  status: string;
  message?: string;
  figures: Record<string, unknown>;
  details?: { assertions?: { field: string; expected: string; observed: string; ok: boolean }[]; subject?: string };
}

/** A recipe block of docs/recipes.md by its lab name: look-demo (kernel VXLAN), look-ovs (OVS geneve). */
function docExample(name = 'look-demo'): string {
  const doc = readFileSync(join(ROOT, 'docs/recipes.md'), 'utf8');
  const block = [...doc.matchAll(new RegExp('```yaml\\n(lab: ' + name + '\\n[\\s\\S]*?)```', 'g'))][0]?.[1];
  if (!block) throw new Error(`docs/recipes.md has no ${name} example`);
  return block;
}

function labOf(t: ExecutionContext, text: string) {
  const lab = randomLabName('lk');
  const dir = mkdtempSync(join(tmpdir(), `gl-look-${lab}-`));
  const path = join(dir, 'recipe.yaml');
  const body = text.replace(/^lab: .*$/m, `lab: ${lab}`);
  writeFileSync(path, body);
  const state = join(dir, 'state');
  const gl = (args: string[]) => cli(['--state-dir', state, ...args]);
  t.teardown(() => {
    gl(['down', lab]);
    rmSync(dir, { recursive: true, force: true });
    const left = netnsList().filter((n) => n.startsWith(`gl-${lab}-`));
    if (left.length) throw new Error(`left behind: ${left.join(', ')}`);
  });
  const run = (args: string[], file = path) => {
    const r = gl([...args, '--json', '--junit', join(dir, 'junit.xml'), '--artifacts', join(dir, 'artifacts'), file]);
    let checks: JsonCheck[];
    try {
      checks = (JSON.parse(r.stdout) as { checks: JsonCheck[] }).checks;
    } catch {
      throw new Error(`no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
    return { code: r.code, by: Object.fromEntries(checks.map((c) => [c.name, c])), checks, stderr: r.stderr };
  };
  const model = (): Lab => loadRecipeText(body, path).lab;
  const ctx = (): CheckContext => ({ ...contextFromLab(model(), exec), runRoot: join(state, 'run') });
  const variant = (name: string, edit: (s: string) => string) => {
    const f = join(dir, name);
    writeFileSync(f, edit(body));
    return f;
  };
  return { lab, dir, path, gl, run, model, ctx, variant, ns: (n: string) => `gl-${lab}-${n}` };
}
const show = (cs: JsonCheck[]) => cs.map((c) => `${c.status} ${c.name}: ${c.message ?? ''} ${JSON.stringify(c.figures)}`).join('\n');

privTest('the docs examples of the checks that look pass as written on the real thing, the default log gate included', (t) => {
  const L = labOf(t, docExample());
  const r = L.run(['run']);
  t.is(r.code, 0, show(r.checks));
  t.deepEqual(r.checks.map((c) => c.name), ['reach', 'vni', 'route', 'rx', 'frames', 'big', 'mib', 'arp-ttl', 'inner']);
  t.true(r.checks.every((c) => c.status === 'passed'), show(r.checks));
  t.true(Number(r.by.rx!.figures.delta) >= 5 && Number(r.by.big!.figures.delta) >= 5, show(r.checks));
  t.is(r.by.mib!.figures.bytes, 1048576);
  const O = labOf(t, docExample('look-ovs'));
  const o = O.run(['run']);
  t.is(o.code, 0, show(o.checks));
  t.deepEqual(o.checks.map((c) => c.name), ['reach', 'dp-flows', 'of-flows', 'tun-key', 'port', 'added', 'vswitchd-log box-1', 'vswitchd-log box-2']);
  t.true(o.checks.every((c) => c.status === 'passed'), show(o.checks));
}, TOOLS);

privTest('broken expectations fail naming what was looked at, expected and observed — table, --json, JUnit — with raw output in --artifacts', (t) => {
  const L = labOf(t, docExample());
  const up = L.gl(['up', '--no-checks', L.path]);
  t.is(up.code, 0, up.stdout + up.stderr);
  const broken = L.variant('broken.yaml', (s) =>
    s
      .replace('linkinfo.info_data.id: 5000', 'linkinfo.info_data.id: 5001')
      .replace('field: rx_packets, min: 5', 'field: rx_packets, min: 5000')
      .replace('expect: { inner.ttl: 9 }', 'expect: { inner.ttl: 10 }'),
  );
  const r = L.run(['check'], broken);
  t.is(r.code, 1);
  const vni = r.by.vni!;
  t.is(vni.status, 'failed');
  t.regex(vni.message!, new RegExp(`^ip -d -j link show dev tun0 in netns gl-${L.lab}-box-2:\\n  linkinfo\\.info_data\\.id: expected 5001, observed 5000$`));
  t.deepEqual(vni.details?.assertions?.find((a) => !a.ok), { field: 'linkinfo.info_data.id', expected: '5001', observed: '5000', ok: false });
  t.regex(r.by.rx!.message!, /rx_packets delta \(\d+ → \d+\): expected >= 5000, observed \d+/);
  t.is(r.by.inner!.status, 'failed');
  t.regex(r.by.inner!.message!, /to have inner\.ttl 10, 0 of \d+ did; saw \d+ encapsulated .* with inner\.ttl 9 ×\d+/);
  const junit = readFileSync(join(L.dir, 'junit.xml'), 'utf8');
  t.regex(junit, /linkinfo\.info_data\.id: expected 5001, observed 5000/);
  const art = readFileSync(join(L.dir, 'artifacts', 'checks', 'vni.txt'), 'utf8');
  t.regex(art, /\$ ip netns exec gl-\S+-box-2 ip -d -j link show dev tun0/);
  t.regex(art, /"info_kind":"vxlan"/, 'the tool\'s raw JSON is there');
  const det = JSON.parse(readFileSync(join(L.dir, 'artifacts', 'checks', 'vni.details.json'), 'utf8'));
  t.is(det.assertions[0].observed, '5000');

  const O = labOf(t, docExample('look-ovs'));
  t.is(O.gl(['up', '--no-checks', O.path]).code, 0);
  const ob = O.variant('broken.yaml', (s) => s.replace('contains: "tnl_push"', 'contains: "no-such-action"').replace('field: rx_packets, min: 3', 'field: rx_dropped, min: 1'));
  const o = O.run(['check'], ob);
  t.is(o.code, 1);
  t.regex(o.by['dp-flows']!.message!, /ovs-appctl dpctl\/dump-flows \(OVS of host "box-1"\):\n  output: expected contains "no-such-action", observed not found in \d+ lines of output/);
  // A counter the source does not export (userspace tunnel ports print "?") is an error, not a pass.
  t.is(o.by.port!.status, 'error');
  t.regex(o.by.port!.message!, /counter "rx_dropped" is not exported by this source/);
  t.true(existsSync(join(O.dir, 'artifacts', 'checks', 'dp-flows.txt')));
}, TOOLS);

privTest('the vswitchd log gate catches a real warning, names the line, a host allow makes it pass; log since a step', async (t) => {
  const L = labOf(t, docExample('look-ovs'));
  t.is(L.gl(['up', '--no-checks', L.path]).code, 0);
  // A real misconfiguration made by hand behind the lab's back: vswitchd warns about it.
  execFileSync('ovs-vsctl', [`--db=unix:${join(L.dir, 'state', 'run', L.lab, 'ovs-box-1', 'db.sock')}`, 'set', 'Interface', 'tun0', 'options:frobnicate=yes']);
  const onlyGate = L.variant('gate.yaml', (s) => s.replace(/^checks:[\s\S]*$/m, 'checks:\n  - { name: reach, ping: { from: left, to: right } }\n'));
  let r = L.run(['check'], onlyGate);
  t.is(r.code, 1, show(r.checks));
  t.is(r.by['vswitchd-log box-1']?.status, 'failed');
  t.regex(r.by['vswitchd-log box-1']!.message!, /WARN\/ERR\/EMER lines not allowed: expected none, observed 1: "netdev_vport\|WARN\|tun0: unknown geneve argument 'frobnicate'"/);
  const allowed = L.variant('allowed.yaml', (s) => s.replace(/^checks:[\s\S]*$/m, 'checks:\n  - { name: reach, ping: { from: left, to: right } }\n').replace("- { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24 }] }", "- { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24 }], ovs: { log: { allow: [\"unknown geneve argument 'frobnicate'\"] } } }"));
  t.not(allowed, onlyGate);
  r = L.run(['check'], allowed);
  t.is(r.code, 0, show(r.checks));
  t.is(r.by['vswitchd-log box-1']?.status, 'passed');
  // log since a step: the runner's snapshot marks where the window starts.
  const store = snapshotStore();
  const ctx = { ...L.ctx(), snapshots: store };
  const log: LogCheck = { kind: 'log', name: 'log-since', host: 'box-1', must: ["unknown geneve argument 'frobnicate2'"], mustNot: [], since: 'poke' };
  await snapshotAfterStep('poke', [log], ctx, store);
  t.is((await runCheck(log, ctx)).status, 'failed', 'not logged yet after the step');
  execFileSync('ovs-vsctl', [`--db=unix:${join(L.dir, 'state', 'run', L.lab, 'ovs-box-1', 'db.sock')}`, 'set', 'Interface', 'tun0', 'options:frobnicate2=yes']);
  await new Promise((res) => setTimeout(res, 1000));
  const after = await runCheck(log, ctx);
  t.is(after.status, 'passed', after.message);
}, TOOLS);

privTest('snapshots for the scenario runner: counter since a step, state unchanged_since / changed_since', async (t) => {
  const L = labOf(t, docExample());
  t.is(L.gl(['up', '--no-checks', L.path]).code, 0);
  const lab = L.model();
  const store = snapshotStore();
  const ctx = { ...L.ctx(), snapshots: store };
  const counter: CounterCheck = { kind: 'counter', name: 'since-burst', on: 'box-2', host: 'box-2', source: { kind: 'link', dev: 'tun0' }, field: 'rx_packets', delta: { min: 5 }, since: 'burst' };
  const ifindex: StateCheck = { kind: 'state', name: 'ifindex', on: 'box-2', host: 'box-2', query: { tool: 'ip', args: ['link', 'show', 'dev', 'tun0'] }, where: {}, expect: { ifindex: { unchanged_since: 'burst' } } };
  const recreated: StateCheck = { ...ifindex, name: 'recreated', expect: { ifindex: { changed_since: 'burst' } } };
  // Without a snapshot: an error, never a pass.
  t.is((await runCheck(counter, ctx)).status, 'error');
  // Some traffic before the step, so the snapshot is above zero (the device's count going back to
  // zero below must read as "went backwards"; the lab's own devices send nothing by themselves).
  execFileSync('ip', ['netns', 'exec', L.ns('left'), 'ping', '-c', '2', '-i', '0.2', '-q', '203.0.113.2']);
  // The runner's hook after step "burst" finished:
  const snaps = await snapshotAfterStep('burst', [counter, ifindex, recreated, ...lab.checks], ctx, store);
  t.deepEqual(snaps.map((s) => s.check).sort(), ['ifindex', 'recreated', 'since-burst']);
  t.true(snaps.every((s) => !s.error), JSON.stringify(snaps.map((s) => s.error)));
  execFileSync('ip', ['netns', 'exec', L.ns('left'), 'ping', '-c', '6', '-i', '0.2', '-q', '203.0.113.2']);
  const c = await runCheck(counter, ctx);
  t.is(c.status, 'passed', c.message);
  t.true(Number(c.figures.delta) >= 6);
  t.is((await runCheck(ifindex, ctx)).status, 'passed');
  t.is((await runCheck(recreated, ctx)).status, 'failed');
  // Re-create box-2's tunnel device: its ifindex changes.
  const ns = L.ns('box-2');
  execFileSync('ip', ['-n', ns, 'link', 'del', 'tun0']);
  execFileSync('ip', ['-n', ns, 'link', 'add', 'tun0', 'type', 'vxlan', 'id', '5000', 'remote', '192.0.2.11', 'dstport', '4789']);
  const u = await runCheck(ifindex, ctx);
  t.is(u.status, 'failed');
  t.regex(u.message!, /ifindex: expected unchanged since step "burst" \(\d+\), observed \d+/);
  t.is((await runCheck(recreated, ctx)).status, 'passed');
  // The counter of the new device started again from zero: that is an error, not a delta.
  const back = await runCheck(counter, ctx);
  t.is(back.status, 'error');
  t.regex(back.message!, /went backwards/);
  // takeSnapshot for a kind without snapshots says so.
  t.truthy((await takeSnapshot(lab.checks[0]!, ctx, 'x')).error);
}, TOOLS);

privTest('tc filter hits, transfer expect undelivered, ping pmtu/interface/source on the real thing', async (t) => {
  const L = labOf(t, docExample());
  t.is(L.gl(['up', '--no-checks', L.path]).code, 0);
  const ctx = L.ctx();
  const left = L.ns('left');
  // A tc filter of the user's own (u32 + mirred: what this kernel has) on left's NIC.
  execFileSync('ip', ['netns', 'exec', left, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'clsact']);
  execFileSync('ip', ['netns', 'exec', left, 'tc', 'filter', 'add', 'dev', 'eth0', 'egress', 'pref', '10', 'protocol', 'ip', 'u32', 'match', 'ip', 'protocol', '1', '0xff', 'action', 'mirred', 'egress', 'mirror', 'dev', 'lo']);
  const lab = L.model();
  const tcHits: CounterCheck = { kind: 'counter', name: 'tc-hits', on: 'left', host: 'box-1', source: { kind: 'tc', dev: 'eth0', direction: 'egress', pref: 10 }, field: 'packets', delta: { min: 5, max: 5 }, during: 'reach' };
  const r = await runCheck(tcHits, { ...ctx, lab: { ...lab, checks: [...lab.checks, tcHits] } });
  t.is(r.status, 'passed', r.message);
  t.is(r.figures.delta, 5, 'exactly the five echo requests');
  const none: CounterCheck = { ...tcHits, name: 'tc-none', source: { kind: 'tc', dev: 'eth0', direction: 'ingress' } };
  const rn = await runCheck(none, { ...ctx, lab: { ...lab, checks: [...lab.checks, none] } });
  t.is(rn.status, 'error');
  t.regex(rn.message!, /no ingress filter with an action/);

  // Ping knobs: DF-set probes too big for the overlay are refused locally; -I by name and address.
  const ping = (o: Record<string, unknown>) => ({ ...(lab.checks.find((c) => c.name === 'reach') as object), name: 'knob', count: 2, ...o }) as never;
  t.is((await runCheck(ping({ pmtu: 'do', size: 1472, expect: 'unreachable' }), ctx)).status, 'passed');
  t.is((await runCheck(ping({ pmtu: 'dont', size: 1472 }), ctx)).status, 'passed', 'fragmented instead');
  const viaIf = await runCheck(ping({ source: 'eth0', tos: undefined, ttl: undefined }), ctx);
  t.is(viaIf.status, 'passed', viaIf.message);
  t.regex(viaIf.raw!, / -I eth0 /);
  t.regex((await runCheck(ping({ source: '203.0.113.1' }), ctx)).raw!, / -I 203\.0\.113\.1 /);

  // A transfer that must not arrive: right's NIC is down.
  execFileSync('ip', ['-n', L.ns('right'), 'link', 'set', 'eth0', 'down']);
  const base = lab.checks.find((c) => c.name === 'mib') as TransferCheck;
  const blocked = await runCheck({ ...base, name: 'blocked', bytes: 65536, timeoutMs: 8000, expect: 'undelivered' }, ctx);
  t.is(blocked.status, 'passed', blocked.message);
  const wanted = await runCheck({ ...base, name: 'wanted', bytes: 65536, timeoutMs: 8000 }, ctx);
  t.is(wanted.status, 'failed');
  t.regex(wanted.message!, /bytes received: expected 65536, observed/);
}, TOOLS);
