/**
 * tshark as the oracle: run it over a capture and compare its fields, frame by frame, with what
 * our decoder produced. Imports nothing from lib/wire except the decoded packet type.
 */
import { execFileSync } from 'node:child_process';
import type { ExecutionContext } from 'ava';
import type { DecodedPacket } from '../../../lib/wire/index.js';

const FIELDS = [
  'frame.number',
  'eth.src', 'eth.dst',
  'ip.src', 'ip.dst', 'ip.dsfield', 'ip.ttl', 'ip.flags.df', 'ip.id',
  'ipv6.src', 'ipv6.dst', 'ipv6.tclass', 'ipv6.flow', 'ipv6.hlim',
  'udp.srcport', 'udp.dstport', 'udp.checksum',
  'geneve.version', 'geneve.flags.oam', 'geneve.flags.critical', 'geneve.proto_type', 'geneve.vni',
  'geneve.option.class', 'geneve.option.type', 'geneve.option.type.critical', 'geneve.option.length', 'geneve.option.unknown.data',
  'vxlan.flags', 'vxlan.vni',
  'vlan.id',
  'sll.src.eth', 'sll.etype',
  '_ws.expert.message', '_ws.malformed',
] as const;
export type Row = Record<(typeof FIELDS)[number], string>;

export function tshark(file: string, decodeAs: string[] = []): Row[] {
  const args = ['-r', file, '-o', 'udp.check_checksum:FALSE', ...decodeAs.flatMap((d) => ['-d', d]), '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const f of FIELDS) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const cols = line.split('|');
      return Object.fromEntries(FIELDS.map((f, i) => [f, cols[i] ?? ''])) as Row;
    });
}

const hex = (n: number, w: number) => `0x${n.toString(16).padStart(w, '0')}`;
const list = (xs: (string | number | undefined)[]) => xs.filter((x) => x !== undefined).join(',');
const bool = (b: boolean) => (b ? '1' : '0'); // tshark 4.0 prints booleans as 1/0 (True/False on newer)
const tsBool = (s: string) => s.split(',').map((x) => (x === 'True' ? '1' : x === 'False' ? '0' : x)).join(',');

/** What tshark should print for this packet, computed from our decoder's output. */
function expectedRow(p: DecodedPacket): Partial<Row> {
  const inner = p.inner;
  const v4 = (outer: string | undefined, inn: string | undefined) => list([outer, inn]);
  const r: Partial<Row> = {
    // Linux cooked captures carry the sender's MAC in sll.src.eth, not in an Ethernet header.
    'eth.src': list([p.link.type === 'ethernet' ? p.link.src : undefined, inner?.smac]),
    'eth.dst': list([p.link.type === 'ethernet' ? p.link.dst : undefined, inner?.dmac]),
    'sll.src.eth': p.link.type === 'sll' || p.link.type === 'sll2' ? (p.link.src ?? '') : '',
    'sll.etype': p.link.type === 'sll' || p.link.type === 'sll2' ? hex(p.link.ethertype ?? 0, 4) : '',
    'ip.src': v4(p.ip?.src, inner?.family === 'ipv4' ? inner.src : undefined),
    'ip.dst': v4(p.ip?.dst, inner?.family === 'ipv4' ? inner.dst : undefined),
    'ipv6.src': v4(p.ipv6?.src, inner?.family === 'ipv6' ? inner.src : undefined),
    'ipv6.dst': v4(p.ipv6?.dst, inner?.family === 'ipv6' ? inner.dst : undefined),
    'udp.srcport': String(p.udp?.srcport ?? ''),
    'udp.dstport': String(p.udp?.dstport ?? ''),
    'udp.checksum': p.udp ? hex(p.udp.checksum, 4) : '',
    'vlan.id': list(p.link.vlans),
  };
  // tshark lists outer then inner; only the outer header's values are ours to compare here.
  if (p.ip) {
    r['ip.dsfield'] = hex(p.ip.tos, 2);
    r['ip.ttl'] = String(p.ip.ttl);
    r['ip.flags.df'] = bool(p.ip.df);
    r['ip.id'] = hex(p.ip.id, 4);
  }
  if (p.ipv6) {
    r['ipv6.tclass'] = hex(p.ipv6.tclass, 8);
    r['ipv6.flow'] = hex(p.ipv6.flowlabel, 6);
    r['ipv6.hlim'] = String(p.ipv6.hlim);
  }
  if (p.geneve) {
    const g = p.geneve;
    Object.assign(r, {
      'geneve.version': String(g.version),
      'geneve.flags.oam': bool(g.oam),
      'geneve.flags.critical': bool(g.critical),
      'geneve.proto_type': hex(g.proto, 4),
      'geneve.vni': hex(g.vni, 6),
      'geneve.option.class': list(g.options.map((o) => hex(o.class, 4))),
      'geneve.option.type': list(g.options.map((o) => hex(o.type, 2))),
      'geneve.option.type.critical': list(g.options.map((o) => bool(o.critical))),
      // tshark: the options area's total, then each option's total including its 4-byte header.
      'geneve.option.length': g.version === 0 ? list([g.optLen, ...g.options.map((o) => o.length + 4)]) : '0',
      'geneve.option.unknown.data': list(g.options.map((o) => o.data || '<MISSING>')),
    });
  }
  if (p.vxlan) Object.assign(r, { 'vxlan.vni': String(p.vxlan.vni) });
  return r;
}

/** The first value of a tshark list whose first entries belong to the outer header. */
const firstOf = (s: string) => s.split(',')[0] ?? '';
const OUTER_ONLY = new Set(['ip.dsfield', 'ip.ttl', 'ip.flags.df', 'ip.id', 'ipv6.tclass', 'ipv6.flow', 'ipv6.hlim', 'udp.srcport', 'udp.dstport', 'udp.checksum']);

export function compare(t: ExecutionContext, file: string, rows: Row[], ours: DecodedPacket[], malformed: Set<number>) {
  t.is(rows.length, ours.length, `${file}: tshark and our decoder see the same number of frames`);
  for (const [i, p] of ours.entries()) {
    const row = rows[i]!;
    const exp = expectedRow(p);
    if (malformed.has(p.index)) {
      t.truthy(p.error, `frame ${p.index}: we must report a decode error`);
      t.true(row['_ws.expert.message'] !== '' || row['_ws.malformed'] !== '', `frame ${p.index}: tshark flags it too`);
      // On malformed frames compare only what precedes the fault: the base Geneve header.
      // (tshark may show fields of a cut base header that we decline to decode at all)
      for (const f of ['geneve.version', 'geneve.vni', 'geneve.proto_type'] as const) if (row[f] && p.geneve) t.is(exp[f], row[f], `frame ${p.index} ${f}`);
      continue;
    }
    t.is(p.error, undefined, `frame ${p.index}: ${p.error?.message}`);
    t.is(row['_ws.malformed'], '', `frame ${p.index}: tshark sees no malformation`);
    for (const [f, v] of Object.entries(exp) as [keyof Row, string][]) {
      const seen = OUTER_ONLY.has(f) ? firstOf(tsBool(row[f])) : tsBool(row[f]);
      t.is(seen, v, `frame ${p.index} field ${f}`);
    }
  }
}

