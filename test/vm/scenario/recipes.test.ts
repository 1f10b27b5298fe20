/**
 * Kernel tier (VM): the scenario recipes that need kernel features this machine lacks.
 *
 *  1. recipes/inject-malformed-geneve.yaml: raw frames against a kernel geneve device — every step
 *     passes; and it can fail (an expectation of no frame errors after the critical option).
 *  2. recipes/scenario-flow-delete.yaml on OVS's kernel datapath.
 *  3. recipes/scenario-packet-out-options.yaml on OVS's kernel datapath (groups measuring a packet_out).
 * Elsewhere every test is skipped LOUDLY (../faults/kernel.ts).
 */
import { readFileSync } from 'node:fs';
import { kernelTest } from '../faults/kernel.js';
import { OVS, scenarioLab, show } from '../../priv/scenario/support.js';

const long = (t: import('ava').ExecutionContext) => t.timeout(25 * 60_000); // CLI runs are slow under TCG

const inject = readFileSync('recipes/inject-malformed-geneve.yaml', 'utf8').replace(/^lab: \S+$/m, 'lab: LAB');

kernelTest('recipe inject-malformed-geneve: critical option → rx_frame_errors, bad option length → rx_dropped, wrong VNI → no trace; the tunnel keeps working', (t) => {
  long(t);
  const s = scenarioLab(t, 'vj');
  const r = s.json('run', s.write('inject.yaml', inject));
  t.is(r.code, 0, `${r.out}\n${show(r.results)}`);
  t.deepEqual(r.results.map((x) => x.status), r.results.map(() => 'passed'), show(r.results));
  t.is(r.byName['inject-critical-option']?.figures.sent, 3);
  t.deepEqual(s.leftovers(), { namespaces: [], processes: [] });
}, { features: ['geneve'], tools: ['ping'] });

kernelTest('inject-malformed-geneve can fail: claiming the critical option is accepted (no frame errors) fails and stops the scenario', (t) => {
  long(t);
  const s = scenarioLab(t, 'vk');
  const wrong = inject.replace('rx_frame_errors], stdout: 3 }', 'rx_frame_errors], stdout: 0 }');
  t.not(wrong, inject);
  const r = s.json('run', s.write('wrong.yaml', wrong));
  t.is(r.code, 1, r.out);
  const c = r.byName['critical-option-counted']!;
  t.is(c.status, 'failed', show(r.results));
  t.regex(c.message!, /^cat \/sys\/class\/net\/gnv0\/statistics\/rx_frame_errors in netns gl-\w+-host-2:\n {2}stdout: expected 0, observed "3\\n"/);
  t.is(r.byName['tunnel-still-works']?.status, 'skipped');
}, { features: ['geneve'], tools: ['ping'] });

kernelTest('recipe scenario-flow-delete on the kernel datapath', (t) => {
  long(t);
  const s = scenarioLab(t, 'vf');
  const r = s.json('run', s.write('fd.yaml', readFileSync('recipes/scenario-flow-delete.yaml', 'utf8').replace(/^lab: \S+$/m, 'lab: LAB')));
  t.is(r.code, 0, `${r.out}\n${show(r.results)}`);
  t.true(r.results.every((x) => x.status === 'passed'), show(r.results));
  t.deepEqual(s.leftovers(), { namespaces: [], processes: [] });
}, { features: ['geneve', 'ovs-kernel'], tools: OVS.tools });

kernelTest('recipe scenario-packet-out-options on the kernel datapath: each packet_out measured by its group\'s capture and counter', (t) => {
  long(t);
  const s = scenarioLab(t, 'vp');
  const r = s.json('run', s.write('po.yaml', readFileSync('recipes/scenario-packet-out-options.yaml', 'utf8').replace(/^lab: \S+$/m, 'lab: LAB')));
  t.is(r.code, 0, `${r.out}\n${show(r.results)}`);
  t.true(r.results.every((x) => x.status === 'passed'), show(r.results));
  t.like(r.byName['cafe-delivered']!.figures, { delta: 1 });
  t.like(r.byName['beef-not-delivered']!.figures, { delta: 0 });
  t.deepEqual(s.leftovers(), { namespaces: [], processes: [] });
}, { features: ['geneve', 'ovs-kernel'], tools: OVS.tools });
