/**
 * Cross-check: the project's decoder against tshark's dissectors (the oracle), field by field, on
 * crafted captures — well-formed (options, flags, VNIs, IPv4/IPv6 outers, a non-default port,
 * VXLAN, VLAN tags, the seed-004 OVN frames) and malformed (option overrun, bad version, Opt Len
 * beyond the payload, truncation), where tshark raises expert info and we must give a decode error.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { privTest } from '../../support/priv.js';
import { decodePcap, type DecodedPacket } from '../../../lib/wire/index.js';
import { buildFrame, fromHexdump, writePcap, writePcapng, type FrameSpec } from '../../pure/wire/frame-builder.js';

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
  '_ws.expert.message', '_ws.malformed',
] as const;
type Row = Record<(typeof FIELDS)[number], string>;

function tshark(file: string, decodeAs: string[] = []): Row[] {
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
    'eth.src': list([p.link.src, inner?.smac]),
    'eth.dst': list([p.link.dst, inner?.dmac]),
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

function compare(t: ExecutionContext, file: string, rows: Row[], ours: DecodedPacket[], malformed: Set<number>) {
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

const ovn = { class: 0x0102, type: 0x80, data: '00010002' };

/** A deterministic spread of well-formed frames. */
function variedFrames(): FrameSpec[] {
  let s = 12345;
  const rnd = (n: number) => ((s = (s * 1103515245 + 12345) & 0x7fffffff), s % n);
  const classes = [0x0100, 0x0101, 0x0102, 0x0103, 0xfff0, 0xffff];
  const out: FrameSpec[] = [];
  for (let i = 0; i < 24; i++) {
    const options = Array.from({ length: rnd(4) }, () => ({
      class: classes[rnd(classes.length)]!,
      type: rnd(256),
      data: Buffer.from(Array.from({ length: 4 * rnd(4) }, () => rnd(256))).toString('hex'),
    }));
    const six = rnd(2) === 1;
    out.push({
      family: six ? 'ipv6' : 'ipv4',
      ...(six ? { src: `2001:db8::${i + 1}`, dst: '2001:db8:0:1::ff', tclass: rnd(256), flowlabel: rnd(0x100000), hlim: 1 + rnd(255) } : { src: `198.51.100.${i + 1}`, dst: '198.51.100.200', tos: rnd(256), ttl: 1 + rnd(255), df: rnd(2) === 1, id: rnd(65536) }),
      sport: 1024 + rnd(60000),
      checksum: rnd(3) === 0 ? 0 : 1 + rnd(65535),
      vni: rnd(3) === 0 ? 0xffffff : rnd(0x1000000),
      oam: rnd(4) === 0,
      critical: options.some((o) => o.type & 0x80),
      options,
      innerV6: rnd(3) === 0,
      vlan: rnd(5) === 0 ? 1 + rnd(4094) : undefined,
      innerSmac: '02:00:00:00:00:0a',
      innerDmac: '02:00:00:00:00:0b',
    });
  }
  out.push({ vni: 5, critical: true, options: [ovn] }); // the §5 vector
  out.push({ vni: 1, options: [{ class: 0x0101, type: 0x01, data: 'ab'.repeat(124) }] }); // longest option
  out.push({ encap: 'vxlan', vni: 4242, tos: 0x28 });
  out.push({ encap: 'vxlan', vni: 1, family: 'ipv6', innerV6: true });
  return out;
}

privTest(
  'decoder agrees with tshark on varied well-formed Geneve/VXLAN frames (pcap and pcapng)',
  (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gl-wire-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const frames = variedFrames().map(buildFrame);
    for (const [name, bytes] of [['varied.pcap', writePcap(frames)], ['varied-be-nano.pcap', writePcap(frames, { bigEndian: true, nano: true })], ['varied.pcapng', writePcapng(frames)]] as const) {
      const file = join(dir, name);
      writeFileSync(file, bytes);
      compare(t, name, tshark(file), decodePcap(readFileSync(file)), new Set());
    }
  },
  { tools: ['tshark'] },
);

privTest(
  'decoder agrees with tshark on a non-default port (decode-as udp.port==7000,geneve)',
  (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gl-wire-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'port7000.pcap');
    writeFileSync(file, writePcap([
      buildFrame({ family: 'ipv6', tclass: 0x28, hlim: 33, checksum: 0, dport: 7000, vni: 77, flowlabel: 0x12345 }),
      buildFrame({ dport: 7000, vni: 0x7b, options: [ovn], critical: true }),
    ]));
    const ours = decodePcap(readFileSync(file), { genevePorts: [7000] });
    t.deepEqual(ours.map((p) => p.geneve?.vni), [77, 0x7b]);
    compare(t, 'port7000.pcap', tshark(file, ['udp.port==7000,geneve']), ours, new Set());
  },
  { tools: ['tshark'] },
);

privTest(
  'decoder agrees with tshark on the seed-004 OVN frames',
  (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gl-wire-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const seed = readFileSync(new URL('../../fixtures/pcap/seed004-ovn.txt', import.meta.url), 'utf8');
    const [req, rep] = seed.split('reply:');
    const file = join(dir, 'seed004.pcap');
    writeFileSync(file, writePcap([fromHexdump(req!.split('request:')[1]!), fromHexdump(rep!)]));
    const ours = decodePcap(readFileSync(file));
    t.deepEqual(ours.map((p) => p.geneve?.ovn), [{ ingress: 1, egress: 2 }, { ingress: 2, egress: 1 }]);
    compare(t, 'seed004.pcap', tshark(file), ours, new Set());
  },
  { tools: ['tshark'] },
);

privTest(
  'malformed frames: tshark raises expert info, our decoder a typed error, neither crashes',
  (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gl-wire-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const specs: FrameSpec[] = [
      { vni: 1, options: [ovn] }, // a good one, so the file is not all bad
      { vni: 9, options: [{ ...ovn, lenWords: 3 }] }, // option length beyond the options area
      { vni: 9, options: [ovn, { class: 0xfff0, type: 2, data: '', lenWords: 31 }] }, // second option overruns
      { version: 1, vni: 3 }, // unknown version
      { optLenWords: 63, payloadLen: 0 }, // Opt Len beyond the UDP payload
      { vni: 1, options: [ovn], truncateTo: 60 }, // inner Ethernet cut
      { vni: 1, options: [ovn], truncateTo: 54 }, // options cut
      { vni: 1, truncateTo: 46 }, // Geneve base header cut
      { encap: 'vxlan', vni: 5, truncateTo: 48 }, // VXLAN header cut
    ];
    const file = join(dir, 'malformed.pcap');
    writeFileSync(file, writePcap(specs.map(buildFrame)));
    const ours = decodePcap(readFileSync(file));
    t.deepEqual(ours.map((p) => p.error?.code), [undefined, 'option-overrun', 'option-overrun', 'bad-version', 'bad-length', 'truncated', 'truncated', 'truncated', 'truncated']);
    compare(t, 'malformed.pcap', tshark(file), ours, new Set([2, 3, 4, 5, 6, 7, 8, 9]));
  },
  { tools: ['tshark'] },
);
