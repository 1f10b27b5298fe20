/**
 * The nftables counter rules of a lab's `counter` checks with an `nft:` source: one table of
 * ours per namespace (`geneve-lab-<lab>`, tagged with the lab's tag as its comment), one chain
 * per hook at priority -300 (before conntrack), one rule per check (`MATCH counter comment
 * "geneve-lab:<id>"`). Installed at `up` so every window sees the same rule; in a namespace the
 * lab owns it goes with the namespace, elsewhere (an SSH host) it has an explicit undo.
 * Pure: the planner calls `planNftCounters`, backends render `nftArgv`.
 */
import type { CounterCheck } from '../model/look-checks.js';
import type { Lab } from '../model/types.js';
import type { Op } from './ops.js';

export interface NftChain {
  name: string;
  hook: string;
  rules: { match: string; comment: string }[];
}

/** Every counter check with an nft source, wherever the model keeps checks (checks, steps, groups, waits). */
export function nftCounterChecks(lab: Lab): CounterCheck[] {
  const out: CounterCheck[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown): void => {
    if (!v || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (Array.isArray(v)) return v.forEach(walk);
    const o = v as Record<string, unknown>;
    if (o.kind === 'counter' && (o.source as { kind?: string } | undefined)?.kind === 'nft') out.push(o as unknown as CounterCheck);
    for (const k of ['checks', 'check', 'then', 'until', 'steps']) if (k in o) walk(o[k]);
  };
  walk(lab.checks);
  walk((lab as { steps?: unknown }).steps);
  return out;
}

/** The namespace a node's commands run in, as the planner sees it ("" on an SSH host). */
function nodeNs(lab: Lab, node: string): { ns: string; host?: string } | undefined {
  // A router: a namespace of this machine, on no host.
  const r = lab.routers?.find((x) => x.name === node);
  if (r) return { ns: r.ns };
  const g = lab.guests.find((x) => x.name === node);
  if (g) return { ns: g.ns, host: g.host };
  const s = lab.switches.find((x) => x.name === node);
  const h = lab.hosts.find((x) => x.name === (s ? s.host : node));
  return h ? { ns: h.ns, host: h.name } : undefined;
}

export function planNftCounters(lab: Lab, add: (subject: string, op: Op, host?: string) => void): void {
  const byNs = new Map<string, { host?: string; table: string; chains: Map<string, NftChain> }>();
  for (const c of nftCounterChecks(lab)) {
    const src = c.source;
    if (src.kind !== 'nft') continue;
    const where = nodeNs(lab, c.on);
    if (!where) continue;
    const entry = byNs.get(where.ns) ?? { host: where.host, table: src.table, chains: new Map<string, NftChain>() };
    byNs.set(where.ns, entry);
    const chain = entry.chains.get(src.chain) ?? { name: src.chain, hook: src.hook, rules: [] };
    entry.chains.set(src.chain, chain);
    if (!chain.rules.some((r) => r.comment === src.comment)) chain.rules.push({ match: src.match, comment: src.comment });
  }
  for (const [ns, e] of byNs) add(`nftables counters of lab "${lab.name}"${ns ? ` in netns ${ns}` : ` on host "${e.host ?? ""}"`}`, { op: 'nft.counters', ns, table: e.table, tag: lab.tag, chains: [...e.chains.values()] }, e.host);
}

/**
 * How nft is run: through `env PATH=<system dirs>`, because under npm/npx (and the test runner)
 * node_modules/.bin comes first on PATH and a dev dependency installs a `nft` of its own there
 * (@vercel/nft, "node file trace"), which exits 0 having done nothing. Pure argv, so it works the
 * same locally, in a namespace (`ip netns exec` searches PATH) and on an SSH host.
 */
export const NFT = ['env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'nft'] as const;

/** The nft commands of an nft op (argv words; nft joins them and parses one command per process). */
export function nftArgv(op: Extract<Op, { op: 'nft.counters' | 'nft.delete' }>): string[][] {
  if (op.op === 'nft.delete') return [
    // `add` first: deleting a table that is already gone must not fail an undo.
    [...NFT, 'add', 'table', 'inet', op.table],
    [...NFT, 'delete', 'table', 'inet', op.table],
  ];
  return [
    [...NFT, 'add', 'table', 'inet', op.table, `{ comment "${op.tag}" ; }`],
    // Idempotent: a second up (or a retried one) starts from empty chains, never duplicate rules.
    [...NFT, 'flush', 'table', 'inet', op.table],
    ...op.chains.flatMap((c) => [
      [...NFT, 'add', 'chain', 'inet', op.table, c.name, `{ type filter hook ${c.hook} priority -300 ; policy accept ; }`],
      ...c.rules.map((r) => [...NFT, 'add', 'rule', 'inet', op.table, c.name, r.match, 'counter', 'comment', `"${r.comment}"`]),
    ]),
  ];
}
