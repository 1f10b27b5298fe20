import test from 'ava';
import React from 'react';
import { render } from 'ink-testing-library';
import { TopologyPanel, topologyRows } from '../../../lib/ui/components/Topology.js';
import { ProgressPanel } from '../../../lib/ui/components/Progress.js';
import { ChecksPanel } from '../../../lib/ui/components/Checks.js';
import { CountersPanel, growingErrors } from '../../../lib/ui/components/Counters.js';
import { HelpOverlay, PacketsView, QuitConfirm } from '../../../lib/ui/components/Overlays.js';
import { initialUiState, uiReducer, type UiState } from '../../../lib/ui/state.js';
import type { LabEvent } from '../../../lib/engine/events.js';
import { watchTargets } from '../../../lib/stats/targets.js';
import { parseIpLinkStats, ratesBetween } from '../../../lib/stats/linkstats.js';
import { iperfFailed, pingPassed, sampleLab, samplePlan } from './fixtures/lab.js';

const lab = sampleLab();
const plan = samplePlan();
const st = (id: number) => plan.steps[id - 1]!;
const reduce = (events: LabEvent[]): UiState => events.reduce((s, e) => uiReducer(s, e, 0), initialUiState(lab));
const frame = (el: React.ReactElement) => {
  const r = render(el);
  const out = r.lastFrame() ?? '';
  r.unmount();
  return out;
};
/** The frame's text without borders, wrapped lines joined: for matching text that may wrap. */
const flat = (f: string) => f.replace(/[│┌┐└┘─]/g, ' ').replace(/\s+/g, ' ');
const line = (f: string, re: RegExp) => f.split('\n').find((l) => re.test(l)) ?? '';

test('topology, planned: every object and the tunnel parameters', (t) => {
  const f = frame(<TopologyPanel lab={lab} objects={initialUiState(lab).objects} width={100} height={14} />);
  for (const name of ['host box-1', 'host box-2', 'switch br1 (bridge) on box-1', 'switch br2 (ovs) on box-2', 'guest left on br1', 'guest right on br2', 'tunnel tun0 geneve/v4']) {
    t.regex(line(f, new RegExp(name.replace(/[()]/g, '\\$&'))), /\[planned\]/, name);
  }
  const params = flat(f);
  for (const p of ['box-1(kernel) ⇄ box-2(ovs)', 'vni 5001', '198.51.100.1 → 198.51.100.2', 'port 6081', 'tos inherit', 'ttl 64', 'mtu 1450', 'opts 0102:80!']) t.true(params.includes(p), p);
});

test('topology, creating/up/failed per object from step events', (t) => {
  const s = reduce([
    { type: 'plan', lab: 'quick', plan },
    { type: 'step-start', step: st(6) },
    { type: 'step-done', step: st(6), durationMs: 1 },
    { type: 'step-start', step: st(7) },
    { type: 'step-start', step: st(8) },
    { type: 'step-failed', step: st(8), failure: { subject: 'tunnel "tun0"', request: 'ip link add', kernelMessage: 'boom' }, durationMs: 1 },
  ]);
  const f = frame(<TopologyPanel lab={lab} objects={s.objects} width={100} height={14} />);
  t.regex(line(f, /guest left/), /\[up\]/);
  t.regex(line(f, /guest right/), /\[creating\]/);
  t.regex(line(f, /tunnel tun0/), /\[FAILED\]/);
  t.regex(line(f, /host box-1/), /\[planned\]/);
});

test('topology, too small: scrolled by its top row, the hidden rows counted above and below, parameters wrapped into rows', (t) => {
  const objects = initialUiState(lab).objects;
  const rows = topologyRows(lab, objects, 38);
  t.true(rows.filter((r) => r.indent).length >= 2, 'the tunnel parameters take more than one row at 38 columns');
  for (const r of rows) t.true([...r.text].length <= (r.indent ? 36 : Infinity), r.text);
  // height 9: 6 rows inside the border and title, one of them the note.
  const at = (scroll: number) => frame(<TopologyPanel lab={lab} objects={objects} width={40} height={9} scroll={scroll} focused />);
  let f = at(0);
  t.regex(f, /▶ Topology — quick/, 'the focused pane is marked');
  t.regex(f, /\[planned\] tunnel tun0/);
  t.regex(f, new RegExp(`… ${rows.length - 5} below \\(↑/↓\\)`));
  f = at(2);
  t.notRegex(f, /tunnel tun0/);
  t.regex(f, new RegExp(`… 2 above, ${rows.length - 7} below`));
  f = at(999);
  t.regex(f, /\[planned\] host box-2/, 'the last row at the bottom');
  t.regex(f, new RegExp(`… ${rows.length - 5} above \\(↑/↓\\)`), 'a scroll past the end is clamped to the last page');
  // Tall enough: no note.
  t.notRegex(frame(<TopologyPanel lab={lab} objects={objects} width={40} height={rows.length + 3} />), /… \d+ (above|below)/);
});

test('progress: running step with spinner and elapsed time, done steps with duration', (t) => {
  const s = { ...reduce([{ type: 'phase', phase: 'up', state: 'start', lab: 'quick' }, { type: 'step-start', step: st(1) }, { type: 'step-done', step: st(1), durationMs: 42 }]) };
  const running = uiReducer(s, { type: 'step-start', step: st(2) }, 1000);
  const f = frame(<ProgressPanel state={running} selected={1} now={3500} width={80} height={10} />);
  t.regex(f, /Progress — up: running/);
  t.regex(line(f, /#1 link.add network "underlay"/), /✓.*42 ms/);
  t.regex(line(f, /#2 link.add host "box-1"/), /2\.5 s/);
  t.regex(line(f, /#2/), /›/, 'selected');
});

test('progress: a failure shows the step, the error and that rollback happened', (t) => {
  const s = reduce([
    { type: 'phase', phase: 'up', state: 'start', lab: 'quick' },
    { type: 'step-start', step: st(8) },
    { type: 'step-failed', step: st(8), durationMs: 3, failure: { subject: 'tunnel "tun0" on host "box-1"', ns: 'gl-quick-box-1', request: 'ip link add gnv0 type geneve id 99999999', errno: 'ERANGE', kernelMessage: 'Geneve ID must be lower than 16777216' } },
    { type: 'phase', phase: 'up', state: 'failed', lab: 'quick' },
    { type: 'phase', phase: 'rollback', state: 'start', lab: 'quick' },
    { type: 'undo-start', step: st(2) },
    { type: 'undo-done', step: st(2), durationMs: 1 },
    { type: 'phase', phase: 'rollback', state: 'done', lab: 'quick' },
  ]);
  const f = frame(<ProgressPanel state={s} selected={0} now={0} width={100} height={12} />);
  t.regex(f, /✗ #8 link\.add tunnel "tun0" on host "box-1"/);
  t.regex(flat(f), /✗ step 8 failed: tunnel "tun0" on host "box-1" \(netns gl-quick-box-1\): Geneve ID must be lower than 16777216 \(ERANGE\)/);
  t.regex(f, /request: ip link add gnv0 type geneve id 99999999/);
  t.regex(f, /rolled back: 1 change undone, nothing left behind/);
  t.regex(f, /undo link\.del host "box-1"/);
});

test('checks: passed with figures, failed expanded with expected vs seen, running and pending', (t) => {
  const s = reduce([{ type: 'check-done', result: pingPassed }, { type: 'check-done', result: iperfFailed }, { type: 'check-start', check: { ...lab.checks[0]!, name: 'again' } }]);
  const f = frame(<ChecksPanel checks={[...s.checks, { name: 'later', kind: 'mtu', state: 'pending' }]} selected={1} now={0} width={80} height={14} />);
  t.regex(f, /2 total|4 total/);
  t.regex(f, /1 passed, 1 failed/);
  t.regex(line(f, /left-to-right/), /✓.*passed.*420 ms/);
  t.regex(f, /loss=0% rtt_avg_ms=0\.05/);
  t.regex(line(f, /throughput/), /› ✗ throughput \(iperf\) FAILED/);
  t.regex(f, /iperf3 tcp left → right, 3 s/);
  t.regex(f, /expected at least 1\.00 Gbit\/s/);
  t.regex(f, /saw 212\.4 Mbit\/s \(retransmits 14\)/);
  t.regex(line(f, /again/), /running/);
  t.regex(line(f, /later/), /pending/);
});

test('checks: an impair step lists the checks it ran under the impairment, the failing one with what it saw', (t) => {
  const heavy = {
    name: 'heavy',
    kind: 'impair' as const,
    what: 'netem loss 30% on eth0 of left, then 2 checks',
    status: 'failed' as const,
    message: '1 of 2 checks did not pass with loss 30%:\n  throughput: expected at least 1.00 Gbit/s',
    figures: { loss: '30%', cleared: true, checks: '1/2 passed' },
    durationMs: 5200,
    children: [{ ...pingPassed, name: 'ping-under-loss' }, { ...iperfFailed, name: 'tcp-under-loss' }],
  };
  const s = reduce([{ type: 'check-done', result: heavy }]);
  const f = frame(<ChecksPanel checks={s.checks} selected={s.checks.findIndex((c) => c.name === 'heavy')} now={0} width={90} height={30} />);
  t.regex(line(f, /heavy/), /✗ heavy \(impair\) FAILED/);
  t.regex(f, /loss=30% cleared=true checks=1\/2 passed/);
  t.regex(line(f, /ping-under-loss/), /✓ ping-under-loss \(ping\) passed 420 ms/);
  t.regex(line(f, /tcp-under-loss/), /✗ tcp-under-loss \(iperf\) FAILED 3\.1 s/);
  t.regex(f, /saw 212\.4 Mbit\/s \(retransmits 14\)/);
  // Said once, under the inner check, not again in the step's own summary.
  t.is(f.match(/expected at least 1\.00 Gbit\/s/g)?.length, 1, f);
});

test('checks: a running impair step shows which of its checks it is at', (t) => {
  const step = { ...lab.checks[0]!, name: 'heavy', kind: 'impair' } as never;
  const inner = { ...lab.checks[0]!, name: 'tcp-under-loss' };
  const s = reduce([
    { type: 'check-start', check: step },
    { type: 'inner-check-start', parent: 'heavy', check: inner },
  ]);
  t.deepEqual(s.checks.find((c) => c.name === 'heavy')?.inner, { current: 'tcp-under-loss', done: 0 });
  const f = frame(<ChecksPanel checks={s.checks} selected={0} now={0} width={90} height={12} />);
  t.regex(line(f, /heavy/), /heavy \(impair\) › tcp-under-loss +running/);
  const after = reduce([
    { type: 'check-start', check: step },
    { type: 'inner-check-start', parent: 'heavy', check: inner },
    { type: 'inner-check-done', parent: 'heavy', result: { ...iperfFailed, name: 'tcp-under-loss' } },
  ]);
  t.deepEqual(after.checks.find((c) => c.name === 'heavy')?.inner, { done: 1 });
  t.false(after.checks.some((c) => c.name === 'tcp-under-loss'), 'an inner check is not a row of its own');
});

test('counters: rates and error growth per interface; unsampled and OVS ports said so', (t) => {
  const fx = (n: string) => require_(n);
  const t0 = parseIpLinkStats(fx('ip-s-s-link-t0.json'), 'gl-quick-box-1').map((l) => ({ ...l, ifname: l.ifname === 'veth-a' ? 'gnv0' : l.ifname }));
  const t1 = parseIpLinkStats(fx('ip-s-s-link-t1.json'), 'gl-quick-box-1').map((l) => ({ ...l, ifname: l.ifname === 'veth-a' ? 'gnv0' : l.ifname }));
  t1[1] = { ...t1[1]!, errors: { ...t1[1]!.errors, rx_frame_errors: 4, rx_errors: 4 } };
  const [, gnv] = ratesBetween(t0, t1, 0, 2000);
  const f = frame(<CountersPanel targets={watchTargets(lab)} samples={{ 'gl-quick-box-1/gnv0': gnv! }} selected={0} width={80} height={12} />);
  t.regex(line(f, /tun0@box-1/), /err 4/);
  t.regex(f, /! rx_errors \+4, rx_frame_errors \+4/);
  t.regex(f, /tx 5 pps 5\.2 KB\/s/);
  t.regex(line(f, /tun0@box-2/), /OVS port/);
  t.regex(line(f, /eth0@box-1/), /—/);
  t.regex(line(f, /tun0@box-1/), /›/);
});

test('help lists every key; quit asks whether to tear down', (t) => {
  const h = frame(<HelpOverlay width={80} height={18} />);
  for (const k of ['u ', 'd ', 'c ', 'Enter', 'j/k', 'p ', 'l ', '? ', 'q ']) t.true(h.includes(k), k);
  t.regex(frame(<QuitConfirm width={80} />), /Tear the lab down\? y\/n/);
});

test('packets view shows decoded Geneve fields and the inner packet', (t) => {
  const f = frame(
    <PacketsView
      title="Packets on eth0 @ box-1"
      scroll={0}
      width={100}
      height={12}
      packets={[{ no: 1, time: 0, length: 148, src: '198.51.100.1', dst: '198.51.100.2', protocol: 'GENEVE', info: 'Echo (ping) request', geneve: { vni: 5001, protocolType: 0x6558, dstPort: 6081, options: [{ class: 0x0102, type: 0x80, critical: true, data: '00010002' }] }, inner: { src: '203.0.113.1', dst: '203.0.113.2', protocol: 'ICMP' } }]}
    />,
  );
  t.regex(f, /198\.51\.100\.1 → 198\.51\.100\.2 GENEVE 148 B/);
  t.regex(f, /geneve vni 5001 proto 0x6558 port 6081 opts 0102:80\(C\)=00010002/);
  t.regex(f, /inner 203\.0\.113\.1 → 203\.0\.113\.2 ICMP/);
  t.regex(frame(<PacketsView title="x" scroll={0} width={80} height={8} packets={[]} />), /no packets captured/);
});

import { readFileSync } from 'node:fs';
function require_(n: string): string {
  return readFileSync(new URL(`./fixtures/${n}`, import.meta.url), 'utf8');
}

test('elapsed time never shows negative: a step or check stamped after the last clock tick reads 0 ms', (t) => {
  // The app's clock ticks every 250 ms; a step that starts between ticks has startedAt > now.
  const running = uiReducer(reduce([{ type: 'phase', phase: 'up', state: 'start', lab: 'quick' }]), { type: 'step-start', step: st(2) }, 1000);
  const p = frame(<ProgressPanel state={running} selected={0} now={900} width={80} height={10} />);
  t.regex(line(p, /#2 link.add host "box-1"/), / 0 ms/);
  t.notRegex(p, /-\d+(\.\d+)? m?s\b/, 'no negative duration');
  const checking = uiReducer(initialUiState(lab), { type: 'check-start', check: lab.checks[0]! }, 1000);
  const c = frame(<ChecksPanel checks={checking.checks} selected={0} now={760} width={80} height={10} />);
  t.regex(line(c, /running/), / 0 ms/);
  t.notRegex(c, /-\d+(\.\d+)? m?s\b/, 'no negative duration');
});

test('counters: rx_otherhost drops (frames for another host, normal on a bridge port) are not errors', (t) => {
  const fx = (n: string) => require_(n);
  const t0 = parseIpLinkStats(fx('ip-s-s-link-t0.json'), 'gl-quick-box-1').map((l) => ({ ...l, ifname: l.ifname === 'veth-a' ? 'gnv0' : l.ifname }));
  const t1 = parseIpLinkStats(fx('ip-s-s-link-t1.json'), 'gl-quick-box-1').map((l) => ({ ...l, ifname: l.ifname === 'veth-a' ? 'gnv0' : l.ifname }));
  // What newer iproute2 prints with -s -s as rx "otherhost" (kernel rx_otherhost_dropped).
  t0[1] = { ...t0[1]!, errors: { ...t0[1]!.errors, rx_otherhost: 3 } };
  t1[1] = { ...t1[1]!, errors: { ...t1[1]!.errors, rx_otherhost: 40 } };
  const [, gnv] = ratesBetween(t0, t1, 0, 2000);
  t.is(gnv!.errorsDelta.rx_otherhost, 37, 'the counter did grow');
  t.deepEqual(growingErrors(gnv!), []);
  const f = frame(<CountersPanel targets={watchTargets(lab)} samples={{ 'gl-quick-box-1/gnv0': gnv! }} selected={0} width={80} height={12} />);
  t.regex(line(f, /tun0@box-1/), /err 0/);
  t.notRegex(f, /otherhost|!/);
});
