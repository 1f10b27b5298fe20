/** graph: what the picture shows (hosts, switches, guests, tunnels, networks, verdicts) in DOT, Mermaid and SVG. */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { labGraph, tunnelLabel, verdictsOf } from '../../../lib/graph/model.js';
import { toDot, toMermaid, toSvg } from '../../../lib/graph/render.js';

const quick = loadRecipeText(readFileSync('recipes/quickstart.yaml', 'utf8'), 'recipes/quickstart.yaml').lab;
const routed = loadRecipeText(readFileSync('recipes/pmtu-router-geneve.yaml', 'utf8'), 'recipes/pmtu-router-geneve.yaml').lab;

test('the quickstart: two host boxes with a switch and a guest each, the underlay with its MTU, the tunnel with type/VNI/port', (t) => {
  const g = labGraph(quick);
  t.deepEqual(g.hosts.map((h) => h.id), ['host_box_1', 'host_box_2']);
  t.deepEqual(g.nodes.filter((n) => n.parent === 'host_box_1').map((n) => n.id).sort(), ['guest_left', 'nic_box_1', 'sw_sw1']);
  t.deepEqual(g.nodes.find((n) => n.id === 'net_underlay')!.label, ['underlay', 'MTU 1500']);
  const tun = g.edges.find((e) => e.kind === 'tunnel')!;
  t.deepEqual([tun.from, tun.to], ['sw_sw1', 'sw_sw2']);
  t.deepEqual(tun.label.slice(0, 2), ['tun0', 'geneve · VNI 123 · port 6081']);
  t.true(g.nodes.find((n) => n.id === 'guest_left')!.label.includes('203.0.113.1/24'));
  // Checks between two nodes are edges; the others are listed.
  t.deepEqual(g.edges.filter((e) => e.kind === 'check').map((e) => e.label[0]), ['left-to-right-v4', 'left-to-right-v6']);
});

test('a routed lab: routers joined to their networks, each network with its MTU', (t) => {
  const g = labGraph(routed);
  const routers = g.nodes.filter((n) => n.shape === 'router');
  t.true(routers.length >= 1);
  for (const r of routers) t.true(g.edges.some((e) => e.from === r.id && e.to.startsWith('net_')));
  for (const n of g.nodes.filter((x) => x.shape === 'network')) t.regex(n.label[1]!, /^MTU \d+$/);
  t.regex(tunnelLabel(routed.tunnels[0]!)[1]!, /^geneve · VNI \d+ · port \d+$/);
});

test('verdicts from a results file label and colour the checks', (t) => {
  const results = { schema: 'geneve-lab/check/v1', checks: [{ name: 'left-to-right-v4', status: 'passed' }, { name: 'left-to-right-v6', status: 'failed' }] };
  const v = verdictsOf(results);
  t.is(v.get('left-to-right-v6'), 'failed');
  t.is(verdictsOf([{ name: 'a', status: 'passed' }]).size, 1);
  t.is(verdictsOf({ nothing: 1 }).size, 0);
  const dot = toDot(labGraph(quick, v));
  t.regex(dot, /guest_left -> guest_right \[label="left-to-right-v4\\n✔ passed".*color="#2e7d32"/);
  t.regex(dot, /label="left-to-right-v6\\n✘ failed".*color="#c62828"/);
  t.regex(dot, /vswitchd-log box-1 \(log\): not run/);
  const mm = toMermaid(labGraph(quick, v));
  t.regex(mm, /guest_left -.->\|"left-to-right-v6<br\/>✘ failed"\| guest_right/);
  t.regex(mm, /linkStyle \d+ stroke:#c62828/);
});

test('DOT: host boxes as clusters, labels escaped', (t) => {
  const dot = toDot(labGraph({ ...quick, description: 'say "hi" \\ there' }));
  t.regex(dot, /subgraph "cluster_host_box_1" \{/);
  t.regex(dot, /sw_sw1 -> sw_sw2 \[label="tun0\\ngeneve · VNI 123 · port 6081/);
  t.true(dot.includes('say \\"hi\\" \\\\ there'));
});

test('Mermaid: a flowchart with one subgraph per host and shapes per kind', (t) => {
  const mm = toMermaid(labGraph(quick));
  t.true(mm.startsWith('flowchart TB\n'));
  t.regex(mm, /subgraph host_box_1\["host box-1<br\/>simulated \(netns\)"\]/);
  t.regex(mm, /net_underlay\(\["underlay<br\/>MTU 1500"\]\)/);
  t.regex(mm, /sw_sw1 <==>\|"tun0<br\/>geneve · VNI 123 · port 6081/);
});

test('SVG is rendered by Graphviz (wasm) with every node and the tunnel label', async (t) => {
  const svg = await toSvg(labGraph(quick));
  t.regex(svg, /^<\?xml[\s\S]*<svg /);
  for (const s of ['host box&#45;1', 'sw1', 'left', 'underlay', 'MTU 1500', 'geneve · VNI 123 · port 6081']) t.true(svg.includes(s), s);
});

test('the graph verb: a recipe to each format, --results checked, bad input explained', async (t) => {
  const { cli } = await import('../../support/cli.js');
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'tb-graph-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const mm = cli(['graph', 'recipes/quickstart.yaml']);
  t.is(mm.code, 0, mm.stderr);
  t.true(mm.stdout.startsWith('flowchart TB'));
  const out = join(dir, 'q.svg');
  const results = join(dir, 'r.json');
  writeFileSync(results, JSON.stringify({ checks: [{ name: 'left-to-right-v4', status: 'passed' }, { name: 'gone', status: 'failed' }] }));
  const svg = cli(['graph', 'recipes/quickstart.yaml', '--format', 'svg', '--results', results, '-o', out]);
  t.is(svg.code, 0, svg.stderr);
  t.regex(svg.stderr, /1 result\(s\) name no check of lab "quickstart": gone/);
  t.regex(readFileSync(out, 'utf8'), /✔ passed/);
  t.regex(cli(['graph', 'recipes/quickstart.yaml', '--format', 'png']).stderr, /--format png: use mermaid, dot or svg/);
  writeFileSync(results, '{');
  const bad = cli(['graph', 'recipes/quickstart.yaml', '--results', results]);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--results .*r\.json: not JSON/);
});
