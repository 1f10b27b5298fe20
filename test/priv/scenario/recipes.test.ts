/**
 * recipes/scenario-flow-delete.yaml through the real CLI on this machine's OVS (userspace datapath
 * here; the kernel tier runs it on the kernel datapath): it passes, it can fail (no cut: the
 * "traffic stops" step fails and the rest is not run, JUnit says skipped; no restore: the wait
 * gives up), and nothing is left behind.
 */
import { readFileSync } from 'node:fs';
import { privTest } from '../../support/priv.js';
import { rootLinks } from '../ovs-recipes/support.js';
import { OVS, scenarioLab, show } from './support.js';

const rootBefore = rootLinks();
const recipe = readFileSync('recipes/scenario-flow-delete.yaml', 'utf8').replace(/^lab: \S+$/m, 'lab: LAB');

privTest('recipe scenario-flow-delete: ping passes, a flow cuts it, deleting the flow brings it back', (t) => {
  const s = scenarioLab(t, 'fd');
  const r = s.json('run', s.write('fd.yaml', recipe));
  t.is(r.code, 0, r.out);
  t.deepEqual(r.results.map((x) => [x.name, x.status]), [
    ['baseline', 'passed'],
    ['default-program', 'passed'],
    ['cut', 'passed'],
    ['traffic-stops', 'passed'],
    ['restore', 'passed'],
    ['traffic-flows-again', 'passed'],
    // The vswitchd log gates come last, after the steps (issue 14).
    ['vswitchd-log box-1', 'passed'],
    ['vswitchd-log box-2', 'passed'],
  ], show(r.results));
  t.is(r.byName['traffic-stops']!.figures.loss_pct, 100);
  t.deepEqual(s.leftovers(), { namespaces: [], processes: [] });
  t.deepEqual(rootLinks(), rootBefore);
}, OVS);

privTest('scenario-flow-delete can fail: without the cut the traffic does not stop — later steps are not run (JUnit <skipped>); without the restore the wait gives up', (t) => {
  const s = scenarioLab(t, 'fx');
  const noCut = recipe.replace(/  - name: cut\n    ovs: .*\n/, '');
  t.not(noCut, recipe);
  const junit = `${s.dir}/junit.xml`;
  const r = s.json('run', s.write('nocut.yaml', noCut), ['--junit', junit]);
  t.is(r.code, 1, r.out);
  t.is(r.byName['traffic-stops']?.status, 'failed', show(r.results));
  t.regex(r.byName['traffic-stops']!.message!, /expected unreachable/);
  for (const n of ['restore', 'traffic-flows-again']) {
    t.is(r.byName[n]?.status, 'skipped');
    t.is(r.byName[n]?.message, 'not run: step "traffic-stops" failed');
  }
  const x = readFileSync(junit, 'utf8');
  t.regex(x, /failures="1" errors="0" skipped="2"/);
  t.regex(x, /name="restore" time="0.000">\n\s+<skipped message="not run: step &quot;traffic-stops&quot; failed"\/>/);

  const noRestore = recipe.replace(/  - name: restore\n    ovs: .*\n/, '').replace('timeout: 10s', 'timeout: 3s');
  t.not(noRestore, recipe);
  const r2 = s.json('run', s.write('norestore.yaml', noRestore));
  t.is(r2.code, 1, r2.out);
  const w = r2.byName['traffic-flows-again']!;
  t.is(w.status, 'failed', show(r2.results));
  t.true(Number(w.figures.attempts) >= 2);
  t.regex(w.message!, /still not passing after \d+ attempts in [\d.]+s \(timeout 3s\); last attempt: expected reachable/);
  t.deepEqual(s.leftovers(), { namespaces: [], processes: [] });
}, OVS);

// ---- recipes/scenario-packet-out-options.yaml: checks groups that hold an action and measure it.
const packetOut = readFileSync('recipes/scenario-packet-out-options.yaml', 'utf8').replace(/^lab: \S+$/m, 'lab: LAB');

privTest('recipe scenario-packet-out-options: a capture and a counter measure each packet_out of their group (the option on the wire, delivered or not)', (t) => {
  const s = scenarioLab(t, 'po');
  const r = s.json('run', s.write('po.yaml', packetOut));
  t.is(r.code, 0, `${r.out}\n${show(r.results)}`);
  t.deepEqual(r.results.map((x) => [x.name, x.kind, x.status]), [
    ['send-cafe', 'packet_out', 'passed'],
    ['cafe-on-the-wire', 'capture', 'passed'],
    ['cafe-delivered', 'counter', 'passed'],
    ['cafe-flow-hit', 'counter', 'passed'],
    ['send-beef', 'packet_out', 'passed'],
    ['beef-on-the-wire', 'capture', 'passed'],
    ['beef-not-delivered', 'counter', 'passed'],
    ['cafe-flow-not-hit', 'counter', 'passed'],
    ['beef-dropped', 'counter', 'passed'],
    ['cafe-flow-matched-once', 'state', 'passed'],
    ['vswitchd-log box-1', 'log', 'passed'],
    ['vswitchd-log box-2', 'log', 'passed'],
  ], show(r.results));
  t.like(r.byName['cafe-delivered']!.figures, { delta: 1 });
  t.like(r.byName['beef-not-delivered']!.figures, { delta: 0 });
  t.like(r.byName['cafe-flow-hit']!.figures, { delta: 1, before: 0, after: 1 });
  t.true(Number(r.byName['cafe-on-the-wire']!.figures.matched) >= 1);
  t.deepEqual(s.leftovers(), { namespaces: [], processes: [] });
  t.deepEqual(rootLinks(), rootBefore);
}, OVS);

privTest('scenario-packet-out-options can fail: a receiver that drops 0xcafe too fails the counter (delta 0), a wrong option value fails the capture; later steps are skipped', (t) => {
  const s = scenarioLab(t, 'pf');
  const drops = packetOut.replace('tun_metadata0=0xcafe,actions=output:right', 'tun_metadata0=0xcafe,actions=drop');
  t.not(drops, packetOut);
  const r = s.json('run', s.write('drops.yaml', drops));
  t.is(r.code, 1, r.out);
  t.is(r.byName['cafe-delivered']?.status, 'failed', show(r.results));
  t.regex(r.byName['cafe-delivered']!.message!, /tx_packets delta \(\d+ → \d+\): expected = 1, observed 0/);
  t.is(r.byName['cafe-flow-hit']?.status, 'passed', 'the flow matched it, and dropped it');
  t.is(r.byName['cafe-on-the-wire']?.status, 'passed', 'the packet did cross the wire');
  for (const n of ['send-beef', 'beef-on-the-wire', 'beef-not-delivered', 'cafe-flow-not-hit', 'beef-dropped', 'cafe-flow-matched-once']) t.is(r.byName[n]?.status, 'skipped', n);

  const wrongOption = packetOut.replace('data: "0000cafe"', 'data: "0000cafd"');
  t.not(wrongOption, packetOut);
  const r2 = s.json('run', s.write('wrong.yaml', wrongOption));
  t.is(r2.code, 1, r2.out);
  t.is(r2.byName['cafe-on-the-wire']?.status, 'failed', show(r2.results));
  t.regex(r2.byName['cafe-on-the-wire']!.message!, /geneve\.options/);
  t.deepEqual(s.leftovers(), { namespaces: [], processes: [] });
}, OVS);
