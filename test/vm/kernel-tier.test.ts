/**
 * Kernel tier (VM): the toolkit itself (recipes → engine → CLI) on a kernel that HAS geneve, gre
 * and netem, judged by oracles that share no code with it: `ip -d -j` for what was created, tshark
 * for what went on the wire (our own decoder is checked against it on the same pcap).
 *
 * Runs inside `geneve-lab vm --exec -- node test/support/run-tests.js --inner -- 'test/vm/**\/*.test.ts'`;
 * on a kernel without geneve every test is registered as skipped, loudly.
 *
 * Few labs, many assertions each: every CLI start and every tshark start costs seconds under TCG.
 */
import type { ExecutionContext } from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCapture } from '../../lib/checks/capture.js';
import { LocalExecutor } from '../../lib/exec/executor.js';
import { cli, ROOT, type CliResult } from '../support/cli.js';
import { netnsList } from '../support/oracle.js';
import { randomLabName } from '../support/priv.js';
import { kernelTest } from './faults/kernel.js';

interface JsonCheck {
  name: string;
  status: string;
  message?: string;
}

/** A lab under a random name with a private state directory; down + "nothing left" on teardown. */
function labDir(t: ExecutionContext, prefix: string) {
  const lab = randomLabName(prefix);
  const dir = mkdtempSync(join(tmpdir(), `gl-kt-${lab}-`));
  const state = join(dir, 'state');
  const gl = (args: string[], backend?: 'netlink' | 'iproute2'): CliResult => cli([...(backend ? ['--backend', backend] : []), '--state-dir', state, ...args]);
  const write = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const leftovers = () => netnsList().filter((n) => n.startsWith(`gl-${lab}-`));
  t.teardown(() => {
    if (leftovers().length) gl(['down', lab]);
    rmSync(dir, { recursive: true, force: true });
    rmSync(join(tmpdir(), `geneve-lab-${lab}`), { recursive: true, force: true });
  });
  return { lab, dir, gl, write, leftovers, ns: (n: string) => `gl-${lab}-${n}` };
}

function parseChecks(r: CliResult): JsonCheck[] {
  try {
    return (JSON.parse(r.stdout) as { checks?: JsonCheck[] }).checks ?? [];
  } catch {
    throw new Error(`no JSON from the CLI (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}
const show = (cs: JsonCheck[]) => cs.map((c) => `${c.status} ${c.name}${c.message ? `: ${c.message}` : ''}`).join('\n');

/** `ip -d -j link show` — the kernel's own description of a device. */
function linkInfo(ns: string, dev: string): { kind: string; data: Record<string, unknown>; master?: string; mtu: number } {
  const l = JSON.parse(execFileSync('ip', ['-n', ns, '-d', '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' }))[0];
  return { kind: l.linkinfo?.info_kind, data: l.linkinfo?.info_data ?? {}, master: l.master, mtu: l.mtu };
}

const sh = (argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

// ---------------------------------------------------------------------------------------------
// 1. The shipped recipes, as a user runs them: `up` passes its checks, `down` leaves nothing.
// ---------------------------------------------------------------------------------------------

const shipped: { file: string; tunnel: string; expect: Record<string, unknown>; checks: number }[] = [
  { file: 'recipes/kernel-geneve.yaml', tunnel: 'gnv0', checks: 2, expect: { id: 77, remote: '192.0.2.12', ttl: 33, tos: '0x28', port: 7000 } },
  {
    file: 'recipes/kernel-geneve-ipv6.yaml',
    tunnel: 'gnv6',
    checks: 2,
    expect: { id: 606, remote6: '2001:db8::12', port: 6081, label: '0x12345', udp_zero_csum6_tx: true, udp_zero_csum6_rx: true },
  },
];

for (const s of shipped) {
  kernelTest(`${s.file}: up passes every check with a real kernel geneve netdev (ip -d -j agrees), down leaves nothing`, (t) => {
    const L = labDir(t, 'kr');
    const text = readFileSync(join(ROOT, s.file), 'utf8');
    t.regex(text, /^lab: .*$/m);
    const file = L.write('recipe.yaml', text.replace(/^lab: .*$/m, `lab: ${L.lab}`));
    const up = L.gl(['up', '--json', file]);
    const checks = parseChecks(up);
    t.is(up.code, 0, up.stdout + up.stderr);
    t.is(checks.length, s.checks, show(checks));
    t.true(checks.every((c) => c.status === 'passed'), show(checks));
    const info = linkInfo(L.ns('host-1'), s.tunnel);
    t.is(info.kind, 'geneve');
    t.like(info.data, s.expect);
    t.is(info.master, 'br1', 'the tunnel is a port of the host bridge');
    const down = L.gl(['down', L.lab]);
    t.is(down.code, 0, down.stdout + down.stderr);
    t.deepEqual(L.leftovers(), [], 'down removes every namespace of the lab');
  }, { features: ['geneve'], tools: ['ping', 'tcpdump'] });
}

// ---------------------------------------------------------------------------------------------
// 2. Every geneve attribute through each backend, read back with ip -d -j (IPv4 and IPv6), and
// 3. on the wire: captured on the receiving host's underlay, decoded by tshark and by lib/wire.
// ---------------------------------------------------------------------------------------------

/** One lab, four kernel geneve tunnels between two hosts that share one dual-stack underlay. */
function wireRecipe(lab: string, extraT4a = ''): string {
  const pair = (x: string) => `  - { name: ${x}1, host: box-1 }\n  - { name: ${x}2, host: box-2 }\n`;
  return `lab: ${lab}
defaults:
  guest: { mtu: 1400 }
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24, ipv6: "2001:db8::11/64" }] }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24, ipv6: "2001:db8::12/64" }] }
switches:
${['a', 'b', 'c', 'd'].map(pair).join('')}guests:
  - { name: la, switch: a1, addresses: [203.0.113.1/24] }
  - { name: ra, switch: a2, addresses: [203.0.113.2/24] }
  - { name: lb, switch: b1, addresses: [203.0.113.11/24] }
  - { name: rb, switch: b2, addresses: [203.0.113.12/24] }
  - { name: lc, switch: c1, addresses: [203.0.113.21/24] }
  - { name: rc, switch: c2, addresses: [203.0.113.22/24] }
  - { name: ld, switch: d1, addresses: [203.0.113.31/24] }
  - { name: rd, switch: d2, addresses: [203.0.113.32/24] }
tunnels:
  - { name: t4a, between: [a1, a2], type: geneve, family: ipv4, vni: 4001, tos: 0x28, ttl: 33, df: set, udpcsum: true${extraT4a} }
  - { name: t4b, between: [b1, b2], type: geneve, family: ipv4, vni: 4002, dstport: 7000, tos: inherit, ttl: inherit, df: inherit, udpcsum: false }
  - { name: t6a, between: [c1, c2], type: geneve, family: ipv6, vni: 6001, tos: 0x48, ttl: 44, flowlabel: 0x12345, udp6zerocsumtx: true, udp6zerocsumrx: true }
  - { name: t6b, between: [d1, d2], type: geneve, family: ipv6, vni: 6002, dstport: 7001, tos: inherit, ttl: inherit, udp6zerocsumtx: false, udp6zerocsumrx: false }
`;
}

/**
 * What `ip -d -j` must show for each tunnel end on box-1 (the remote is box-2). iproute2 prints
 * tos inherit as "0x1" and has no JSON key for ttl inherit (the key is absent: checked below).
 */
const WIRE_IP: Record<string, Record<string, unknown>> = {
  t4a: { id: 4001, remote: '192.0.2.12', ttl: 33, tos: '0x28', df: 'set', port: 6081, udp_csum: true },
  t4b: { id: 4002, remote: '192.0.2.12', tos: '0x1', df: 'inherit', port: 7000, udp_csum: false },
  t6a: { id: 6001, remote6: '2001:db8::12', ttl: 44, tos: '0x48', port: 6081, label: '0x12345', udp_zero_csum6_tx: true, udp_zero_csum6_rx: true },
  t6b: { id: 6002, remote6: '2001:db8::12', tos: '0x1', port: 7001, udp_zero_csum6_tx: false, udp_zero_csum6_rx: false },
};

function assertReadBack(t: ExecutionContext, ns1: string, ns2: string, backend: string) {
  for (const [dev, want] of Object.entries(WIRE_IP)) {
    const a = linkInfo(ns1, dev);
    t.is(a.kind, 'geneve', `${backend}: ${dev}`);
    t.like(a.data, want, `${backend}: ${dev} on box-1: ${JSON.stringify(a.data)}`);
    const b = linkInfo(ns2, dev);
    const back = { ...want, ...(want.remote ? { remote: '192.0.2.11' } : { remote6: '2001:db8::11' }) };
    t.like(b.data, back, `${backend}: ${dev} on box-2: ${JSON.stringify(b.data)}`);
    if (want.tos === '0x1') t.false('ttl' in a.data, `${backend}: ${dev} has ttl inherit (no ttl key): ${JSON.stringify(a.data)}`);
  }
}

kernelTest('iproute2 backend: every geneve attribute (IPv4 + IPv6 underlay) reads back through ip -d -j; srcport is refused clearly and leaves nothing', (t) => {
  const L = labDir(t, 'ka');
  const bad = L.write('srcport.yaml', wireRecipe(L.lab, ', srcport: { low: 5000, high: 6000 }'));
  const refused = L.gl(['up', '--no-checks', bad], 'iproute2');
  t.not(refused.code, 0, 'geneve srcport cannot be expressed with iproute2');
  t.regex(refused.stdout + refused.stderr, /geneve srcport \(IFLA_GENEVE_PORT_RANGE\) has no iproute2 keyword; use --backend netlink/);
  t.notRegex(refused.stderr, /^\s+at .*\(.*:\d+:\d+\)$/m, 'no stack trace');
  t.deepEqual(L.leftovers(), [], 'a refused up rolls back everything');

  const file = L.write('wire.yaml', wireRecipe(L.lab));
  const up = L.gl(['up', '--no-checks', file], 'iproute2');
  t.is(up.code, 0, up.stdout + up.stderr);
  assertReadBack(t, L.ns('box-1'), L.ns('box-2'), 'iproute2');
  const down = L.gl(['down', L.lab], 'iproute2');
  t.is(down.code, 0, down.stdout + down.stderr);
  t.deepEqual(L.leftovers(), []);
}, { features: ['geneve'] });

interface Probe {
  tunnel: string;
  from: string;
  to: string;
  /** ping options: inner TOS, inner TTL, DF. */
  tos: number;
  ttl: number;
  df: boolean;
  /** What the OUTER headers of the echo requests must carry. */
  want: { vni: number; dport: number; tos: number; ttl: number; df?: boolean; csumZero: boolean; flowlabel?: number; v6: boolean };
}

// Fixed values must ignore the inner packet (so the probes send something else); inherited ones
// must follow it (so two probes with different inner values on the same tunnel).
const PROBES: Probe[] = [
  { tunnel: 't4a', from: 'la', to: '203.0.113.2', tos: 0x10, ttl: 9, df: false, want: { vni: 4001, dport: 6081, tos: 0x28, ttl: 33, df: true, csumZero: false, v6: false } },
  { tunnel: 't4b', from: 'lb', to: '203.0.113.12', tos: 0x48, ttl: 17, df: true, want: { vni: 4002, dport: 7000, tos: 0x48, ttl: 17, df: true, csumZero: true, v6: false } },
  { tunnel: 't4b', from: 'lb', to: '203.0.113.12', tos: 0x20, ttl: 23, df: false, want: { vni: 4002, dport: 7000, tos: 0x20, ttl: 23, df: false, csumZero: true, v6: false } },
  { tunnel: 't6a', from: 'lc', to: '203.0.113.22', tos: 0x10, ttl: 9, df: false, want: { vni: 6001, dport: 6081, tos: 0x48, ttl: 44, csumZero: true, flowlabel: 0x12345, v6: true } },
  { tunnel: 't6b', from: 'ld', to: '203.0.113.32', tos: 0x48, ttl: 17, df: false, want: { vni: 6002, dport: 7001, tos: 0x48, ttl: 17, csumZero: false, v6: true } },
];
const COUNT = 3;

/** tshark's view of the echo requests: one row per packet, outer and inner fields. */
function tsharkRows(pcap: string) {
  const fields = ['geneve.vni', 'udp.dstport', 'udp.checksum', 'ip.dsfield', 'ip.ttl', 'ip.flags.df', 'ipv6.tclass', 'ipv6.hlim', 'ipv6.flow', 'ip.src'];
  const out = sh(['tshark', '-r', pcap, '-d', 'udp.port==7000,geneve', '-d', 'udp.port==7001,geneve', '-Y', 'geneve && icmp.type == 8', '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,', ...fields.flatMap((f) => ['-e', f])]);
  const bool = (s: string) => /^(1|true)$/i.test(s);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const v = Object.fromEntries(line.split('\t').map((x, i) => [fields[i]!, x.split(',')]));
      const ipv4Outer = v['ipv6.hlim']![0] === '';
      // With an IPv4 underlay ip.* has two occurrences (outer first); with IPv6 only the inner one.
      return {
        vni: Number(v['geneve.vni']![0]),
        dport: Number(v['udp.dstport']![0]),
        csum: Number(v['udp.checksum']![0]),
        v6: !ipv4Outer,
        tos: Number(ipv4Outer ? v['ip.dsfield']![0] : v['ipv6.tclass']![0]),
        ttl: Number(ipv4Outer ? v['ip.ttl']![0] : v['ipv6.hlim']![0]),
        df: ipv4Outer ? bool(v['ip.flags.df']![0]!) : undefined,
        flowlabel: ipv4Outer ? undefined : Number(v['ipv6.flow']![0]),
        innerTtl: Number(v['ip.ttl']!.at(-1)),
        innerSrc: v['ip.src']!.at(-1)!,
      };
    });
}

kernelTest('netlink backend: every geneve attribute reads back; on the wire (tshark + lib/wire) VNI, dstport 6081/7000/7001, TOS and TTL fixed/inherit, DF, IPv6 flow label and hop limit, UDP checksum zero/non-zero', async (t) => {
  const L = labDir(t, 'kw');
  // srcport (IFLA_GENEVE_PORT_RANGE, Linux 6.15) is sent; an older kernel ignores it and the
  // backend must say so instead of claiming it applied.
  const file = L.write('wire.yaml', wireRecipe(L.lab, ', srcport: { low: 5000, high: 6000 }'));
  const up = L.gl(['up', '--no-checks', file], 'netlink');
  t.is(up.code, 0, up.stdout + up.stderr);
  const [maj = 0, min = 0] = sh(['uname', '-r']).split('.').map(Number);
  const hasPortRange = maj * 1000 + min >= 6015;
  const range = linkInfo(L.ns('box-1'), 't4a').data.port_range;
  if (hasPortRange) t.deepEqual(range, { low: 5000, high: 6000 });
  else {
    t.is(range, undefined, 'this kernel predates PORT_RANGE');
    t.regex(up.stdout + up.stderr, /tunnel "t4a".*kernel did not report geneve srcport: this kernel probably ignores it/);
  }
  assertReadBack(t, L.ns('box-1'), L.ns('box-2'), 'netlink');

  const pcap = join(L.dir, 'underlay.pcap');
  const cap = await startCapture({ exec: new LocalExecutor(), ns: L.ns('box-2') }, 'underlay', { file: pcap, filter: 'udp', decode: { genevePorts: [6081, 7000, 7001] } });
  let outcome;
  try {
    for (const p of PROBES) {
      const r = spawnSync('ip', ['netns', 'exec', L.ns(p.from), 'ping', '-n', '-c', String(COUNT), '-i', '0.2', '-W', '5', '-t', String(p.ttl), '-Q', String(p.tos), '-M', p.df ? 'do' : 'dont', p.to], { encoding: 'utf8' });
      t.regex(r.stdout, new RegExp(`${COUNT} packets transmitted, ${COUNT} received`), `${p.tunnel} ttl ${p.ttl}: ${r.stdout}${r.stderr}`);
    }
  } finally {
    outcome = await cap.stop();
  }
  t.falsy(outcome.stats.dropped, `tcpdump dropped packets: ${outcome.stderr}`);

  // Oracle: tshark. Requests are told apart by their inner source and inner TTL (= the probe).
  const rows = tsharkRows(pcap);
  for (const p of PROBES) {
    const src = { la: '203.0.113.1', lb: '203.0.113.11', lc: '203.0.113.21', ld: '203.0.113.31' }[p.from]!;
    const mine = rows.filter((r) => r.innerSrc === src && r.innerTtl === p.ttl);
    const label = `${p.tunnel} (inner tos 0x${p.tos.toString(16)} ttl ${p.ttl} df ${p.df})`;
    t.is(mine.length, COUNT, `${label}: tshark saw ${mine.length} echo requests of ${COUNT} sent`);
    for (const r of mine) {
      t.like(r, { vni: p.want.vni, dport: p.want.dport, v6: p.want.v6, tos: p.want.tos, ttl: p.want.ttl }, `${label}: tshark ${JSON.stringify(r)}`);
      t.is(r.csum === 0, p.want.csumZero, `${label}: UDP checksum 0x${r.csum.toString(16)}`);
      if (p.want.df !== undefined) t.is(r.df, p.want.df, `${label}: DF`);
      if (p.want.flowlabel !== undefined) t.is(r.flowlabel, p.want.flowlabel, `${label}: flow label`);
    }
    // The same requests through lib/wire must agree with tshark (inherited TTLs tell the two
    // t4b probes apart; fixed ones are the only probe on their tunnel).
    const dec = outcome.packets.filter((x) => x.geneve?.vni === p.want.vni && x.inner?.src === src && x.udp?.dstport === p.want.dport && (x.ipv6?.hlim ?? x.ip?.ttl) === p.want.ttl);
    t.is(dec.length, COUNT, `${label}: lib/wire found ${dec.length} echo requests`);
    for (const x of dec) {
      if (p.want.v6) t.like(x.ipv6 ?? {}, { tclass: p.want.tos, hlim: p.want.ttl, ...(p.want.flowlabel !== undefined ? { flowlabel: p.want.flowlabel } : {}) }, `${label}: lib/wire`);
      else t.like(x.ip ?? {}, { tos: p.want.tos, ttl: p.want.ttl, ...(p.want.df !== undefined ? { df: p.want.df } : {}) }, `${label}: lib/wire`);
      t.is(x.udp?.checksum === 0, p.want.csumZero, `${label}: lib/wire UDP checksum`);
    }
  }

  const down = L.gl(['down', L.lab]);
  t.is(down.code, 0, down.stdout + down.stderr);
  t.deepEqual(L.leftovers(), []);
}, { features: ['geneve'], tools: ['ping', 'tcpdump', 'tshark'] });


// ---------------------------------------------------------------------------------------------
// 5. An external (collect-metadata) geneve device driven by tc tunnel_key geneve_opts, and
// 6. kernel GRE (gretap) through a recipe — both in one lab.
// ---------------------------------------------------------------------------------------------

kernelTest('kernel gretap through a recipe (ping passes, key/ttl/tos read back); an external geneve tunnel of the recipe (tc tunnel_key … geneve_opts) carries VNI and option on the wire', async (t) => {
  const L = labDir(t, 'kg');
  const file = L.write('gre-ext.yaml', `lab: ${L.lab}
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24 }] }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24 }] }
switches:
  - { name: s1, host: box-1 }
  - { name: s2, host: box-2 }
  - { name: x1, host: box-1 }
  - { name: x2, host: box-2 }
guests:
  - { name: left, switch: s1, mtu: 1400, addresses: [203.0.113.1/24] }
  - { name: right, switch: s2, mtu: 1400, addresses: [203.0.113.2/24] }
  - { name: xl, switch: x1, mtu: 1400, addresses: [198.51.100.1/24] }
  - { name: xr, switch: x2, mtu: 1400, addresses: [198.51.100.2/24] }
tunnels:
  - { name: gt0, between: [s1, s2], type: gre, key: 5, ttl: 40, tos: 0x28 }
  - { name: gx0, between: [x1, x2], type: geneve, external: true, vni: 88, options: [{ class: 0x0102, type: 0x01, data: "00010002" }] }
checks:
  - { name: gre-across, ping: { from: left, to: right, count: 3 } }
`);
  const up = L.gl(['up', '--json', file]);
  const checks = parseChecks(up);
  t.is(up.code, 0, up.stdout + up.stderr);
  t.deepEqual(checks.map((c) => [c.name, c.status]), [['gre-across', 'passed']], show(checks));
  const gre = linkInfo(L.ns('box-1'), 'gt0');
  t.is(gre.kind, 'gretap');
  t.like(gre.data, { remote: '192.0.2.12', local: '192.0.2.11', ttl: 40, tos: '0x28' });
  t.true(JSON.stringify(gre.data).includes('"ikey":"0.0.0.5"') || JSON.stringify(gre.data).includes('"ikey":5'), JSON.stringify(gre.data));

  // The external device has no VNI or remote of its own: the recipe's tc rules on its egress
  // supply them per packet (lib/plan/external.ts), and its ingress accepts only them.
  for (const [box, local, remote] of [['box-1', '192.0.2.11', '192.0.2.12'], ['box-2', '192.0.2.12', '192.0.2.11']] as const) {
    t.like(linkInfo(L.ns(box), 'gx0').data, { external: true });
    const egress = sh(['tc', '-n', L.ns(box), 'filter', 'show', 'dev', 'gx0', 'egress']);
    for (const want of [`src_ip ${local}`, `dst_ip ${remote}`, 'key_id 88', 'dst_port 6081'])
      t.true(egress.includes(want), `${box} egress tunnel_key carries ${want}:\n${egress}`);
    t.regex(sh(['tc', '-n', L.ns(box), 'filter', 'show', 'dev', 'gx0', 'ingress']), /enc_key_id 88/);
  }
  const pcap = join(L.dir, 'ext.pcap');
  const cap = await startCapture({ exec: new LocalExecutor(), ns: L.ns('box-2') }, 'underlay', { file: pcap, filter: 'udp port 6081' });
  let outcome;
  try {
    const r = spawnSync('ip', ['netns', 'exec', L.ns('xl'), 'ping', '-n', '-c', '3', '-i', '0.2', '-W', '5', '198.51.100.2'], { encoding: 'utf8' });
    t.regex(r.stdout, /3 packets transmitted, 3 received/, r.stdout + r.stderr);
  } finally {
    outcome = await cap.stop();
  }
  const rows = sh(['tshark', '-r', pcap, '-Y', 'geneve && icmp', '-T', 'fields', '-E', 'separator=/t', '-e', 'geneve.vni', '-e', 'geneve.option.class', '-e', 'geneve.option.type', '-e', 'geneve.option.unknown.data', '-e', 'icmp.type'])
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t'));
  t.is(rows.filter((r) => r[4] === '8').length, 3, 'three echo requests');
  t.is(rows.filter((r) => r[4] === '0').length, 3, 'three echo replies: the other external end set its metadata too');
  for (const [vni, cls, type, data] of rows) {
    t.is(Number(vni), 88);
    t.is(Number(cls), 0x0102);
    t.is(Number(type), 0x01);
    t.is(data?.replace(/[:]/g, ''), '00010002');
  }
  const dec = outcome.packets.filter((p) => p.geneve && p.inner?.proto === 1);
  t.is(dec.length, 6);
  for (const p of dec) t.deepEqual(p.geneve?.options.map((o) => [o.class, o.type]), [[0x0102, 0x01]]);

  const down = L.gl(['down', L.lab]);
  t.is(down.code, 0, down.stdout + down.stderr);
  t.deepEqual(L.leftovers(), []);
}, { features: ['geneve'], tools: ['ping', 'tcpdump', 'tshark'] });
