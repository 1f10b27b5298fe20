/**
 * The lab graph (lib/graph/model.ts) as text people paste into docs — Graphviz DOT and Mermaid —
 * and as SVG, laid out by Graphviz itself compiled to WebAssembly (@viz-js/viz): no browser, no
 * native dependency, the same layout `dot -Tsvg` would give.
 */
import type { CheckStatus } from '../checks/result.js';
import type { EdgeKind, GraphNode, LabGraph } from './model.js';

const COLOR: Record<CheckStatus, string> = { passed: '#2e7d32', failed: '#c62828', error: '#ef6c00', skipped: '#757575' };

/** A DOT double-quoted string (labels: lines joined by \n). */
const dq = (lines: string[]) => `"${lines.join('\n').replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

const DOT_NODE: Record<GraphNode['shape'], string> = {
  host: 'shape=box, style="rounded,dashed", color="#546e7a", fontcolor="#37474f"',
  switch: 'shape=box, style="rounded,filled", fillcolor="#e3f2fd", color="#1565c0"',
  guest: 'shape=box, style="filled", fillcolor="#f1f8e9", color="#558b2f"',
  network: 'shape=ellipse, style="filled", fillcolor="#fff8e1", color="#f9a825"',
  router: 'shape=octagon, style="filled", fillcolor="#fce4ec", color="#ad1457"',
};
const DOT_EDGE: Record<EdgeKind, string> = {
  attach: 'color="#558b2f", arrowhead=none',
  underlay: 'color="#f9a825", arrowhead=none',
  tunnel: 'color="#1565c0", penwidth=2.5, dir=both, arrowhead=dot, arrowtail=dot, fontcolor="#0d47a1", constraint=false',
  check: 'style=dashed, constraint=false',
};

export function toDot(g: LabGraph): string {
  const out = [`digraph ${dq([g.name])} {`, '  graph [rankdir=TB, fontname="Helvetica", fontsize=11, compound=true, newrank=true, labelloc=t,', `         label=${dq([`lab ${g.name}`, ...(g.description ? [g.description] : [])])}];`, '  node [fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=9];'];
  const inHost = (id: string) => g.nodes.filter((n) => n.parent === id);
  for (const h of g.hosts) {
    out.push(`  subgraph ${dq([`cluster_${h.id}`])} {`, `    label=${dq(h.label)}; style="rounded"; color="#90a4ae";`);
    for (const n of inHost(h.id)) out.push(`    ${n.id} [label=${dq(n.label)}, ${DOT_NODE[n.shape]}];`);
    out.push('  }');
  }
  for (const n of g.nodes.filter((x) => !x.parent)) out.push(`  ${n.id} [label=${dq(n.label)}, ${DOT_NODE[n.shape]}];`);
  for (const e of g.edges) {
    const color = e.kind === 'check' ? `, color="${e.status ? COLOR[e.status] : '#9e9e9e'}", fontcolor="${e.status ? COLOR[e.status] : '#616161'}"` : '';
    out.push(`  ${e.from} -> ${e.to} [label=${dq(e.label)}, ${DOT_EDGE[e.kind]}${color}];`);
  }
  // Layout hints: in each host its guests above its switches above its NICs (the underlay below
  // everything), and the two ends of a tunnel side by side.
  for (const n of g.nodes.filter((x) => x.shape === 'switch')) {
    const nic = g.nodes.find((x) => x.parent === n.parent && x.shape === 'host');
    if (nic) out.push(`  ${n.id} -> ${nic.id} [style=invis];`);
  }
  for (const e of g.edges.filter((x) => x.kind === 'tunnel')) out.push(`  { rank=same; ${e.from}; ${e.to}; }`);
  if (g.legend.length)
    out.push(`  legend [shape=note, fontsize=9, label=${dq(['checks', ...g.legend.map((l) => `${l.name}: ${l.status ?? 'not run'}`)])}];`);
  out.push('}');
  return out.join('\n') + '\n';
}

/** Mermaid text: quotes and brackets become their HTML entities, lines become <br/>. */
const mq = (lines: string[]) => `"${lines.map((l) => l.replace(/"/g, '#quot;')).join('<br/>')}"`;
const M_SHAPE: Record<GraphNode['shape'], [string, string]> = { host: ['[', ']'], switch: ['[', ']'], guest: ['(', ')'], network: ['([', '])'], router: ['{{', '}}'] };
const M_EDGE: Record<EdgeKind, string> = { attach: '---', underlay: '---', tunnel: '<==>', check: '-.->' };

export function toMermaid(g: LabGraph): string {
  const out = ['flowchart TB'];
  const node = (n: GraphNode) => `${n.id}${M_SHAPE[n.shape][0]}${mq(n.label)}${M_SHAPE[n.shape][1]}`;
  for (const h of g.hosts) {
    out.push(`  subgraph ${h.id}[${mq(h.label)}]`);
    for (const n of g.nodes.filter((x) => x.parent === h.id)) out.push(`    ${node(n)}`);
    out.push('  end');
  }
  for (const n of g.nodes.filter((x) => !x.parent)) out.push(`  ${node(n)}`);
  const styles: string[] = [];
  g.edges.forEach((e, i) => {
    const arrow = M_EDGE[e.kind];
    out.push(`  ${e.from} ${arrow}|${mq(e.label)}| ${e.to}`);
    if (e.kind === 'check' && e.status) styles.push(`  linkStyle ${i} stroke:${COLOR[e.status]}`);
    if (e.kind === 'tunnel') styles.push(`  linkStyle ${i} stroke:#1565c0,stroke-width:3px`);
  });
  if (g.legend.length) out.push(`  legend>${mq(['checks', ...g.legend.map((l) => `${l.name}: ${l.status ?? 'not run'}`)])}]`);
  out.push(...styles);
  return out.join('\n') + '\n';
}

/** SVG of the DOT graph (Graphviz in wasm: loaded only when SVG is asked for). */
export async function toSvg(g: LabGraph): Promise<string> {
  const { instance } = await import('@viz-js/viz');
  const viz = await instance();
  return viz.renderString(toDot(g), { format: 'svg', engine: 'dot' });
}
