/**
 * Kernel tier (VM): the Geneve variants of issue 14's routed topologies, which need the kernel's
 * geneve netdev (absent on the development machine, where the VXLAN variants run in
 * test/priv/topology).
 * - recipes/pmtu-router-geneve.yaml: guests behind kernel Geneve devices, a routed underlay whose
 *   middle is 4000 bytes; the mtu checks pass over IPv4 and IPv6 outer headers with the guests'
 *   learned PMTU exceptions (3950 / 3930).
 * - its black-hole twin (the routers drop their ICMP too-big errors): the same checks FAIL.
 * - Geneve inside Geneve: tunnel-in-tunnel with both tunnels Geneve; the capture sees both
 *   headers (geneve.vni 42 outside, nested.geneve.vni 43 inside).
 */
import { execFileSync } from 'node:child_process';
import { kernelTest } from './faults/kernel.js';
import { NOTHING_LEFT, leftovers, recipeCopy, runJson } from '../priv/ovs-recipes/support.js';

const TOOLS = ['ping', 'nft', 'tcpdump'];

kernelTest('pmtu-router-geneve: kernel Geneve over a routed underlay — guests learn PMTU exceptions, the mtu checks PASS (IPv4 and IPv6 outer)', async (t) => {
  const c = recipeCopy(t, 'pmtu-router-geneve.yaml');
  const r = runJson(c);
  t.is(r.code, 0, r.out);
  for (const n of ['small-v4', 'small-v6', 'pmtu-v4', 'pmtu-v6']) t.is(r.checks[n]?.status, 'passed', `${n}: ${r.checks[n]?.message}\n${r.out}`);
  t.like(r.checks['pmtu-v4']!.figures, { path_mtu: 3950, sender_mtu: 8950, pmtu_exception: 3950 });
  t.like(r.checks['pmtu-v6']!.figures, { path_mtu: 3930, sender_mtu: 8930, pmtu_exception: 3930 });
  t.deepEqual(leftovers(c), NOTHING_LEFT);
}, { features: ['geneve'], tools: TOOLS });

kernelTest('pmtu-router-geneve, black-hole twin: routers drop their ICMP too-big errors — the mtu checks FAIL as a black hole', async (t) => {
  const c = recipeCopy(t, 'pmtu-router-geneve.yaml', (s) => {
    const out = s.replace(/( {2}- name: r[12]\n)/g, '$1    icmp_too_big: drop\n');
    if ((out.match(/^ {4}icmp_too_big: drop$/gm) ?? []).length !== 2) throw new Error('could not make the routers drop ICMP');
    return out;
  });
  const r = runJson(c);
  t.is(r.code, 1, r.out);
  t.is(r.checks['small-v4']?.status, 'passed', r.out);
  for (const [n, mtu] of [['pmtu-v4', 3950], ['pmtu-v6', 3930]] as const) {
    t.is(r.checks[n]?.status, 'failed', r.out);
    t.regex(r.checks[n]!.message!, new RegExp(`^path MTU is ${mtu} as expected, but DF packets of ${mtu + 1} B vanish without an ICMP error: a PMTU black hole`));
  }
  t.deepEqual(leftovers(c), NOTHING_LEFT);
}, { features: ['geneve'], tools: TOOLS });

kernelTest('Geneve inside Geneve: the guests talk through both tunnels and the capture decodes both Geneve headers', async (t) => {
  const c = recipeCopy(t, 'tunnel-in-tunnel.yaml', (s) =>
    s
      .replace('{ name: outer, between: [box-1, box-2], type: vxlan, vni: 42,', '{ name: outer, between: [box-1, box-2], type: geneve, vni: 42,')
      .replace('{ name: inner, between: [sw1, sw2], type: vxlan, vni: 43, dstport: 4790, network: outer }', '{ name: inner, between: [sw1, sw2], type: geneve, vni: 43, dstport: 6082, network: outer }')
      .replace('vxlan.vni: 42', 'geneve.vni: 42')
      .replace('udp.dstport: 4789', 'udp.dstport: 6081')
      .replace('nested.udp.dstport: 4790', 'nested.udp.dstport: 6082')
      .replace('nested.vxlan.vni: 43', 'nested.geneve.vni: 43'),
  );
  const up = c.g(['up', '--no-checks', c.file]);
  t.is(up.code, 0, up.stdout + up.stderr);
  const inner = JSON.parse(execFileSync('ip', ['-n', `gl-${c.lab}-box-1`, '-d', '-j', 'link', 'show', 'dev', 'inner'], { encoding: 'utf8' }))[0];
  t.like(inner.linkinfo, { info_kind: 'geneve', info_data: { id: 43, port: 6082, remote: '198.51.100.2' } });
  const r = c.g(['check', '--json', c.file]);
  const b = Object.fromEntries((JSON.parse(r.stdout).checks as any[]).map((x) => [x.name, x]));
  t.is(r.code, 0, r.stdout + r.stderr);
  t.is(b['two-encapsulations']?.status, 'passed', JSON.stringify(b['two-encapsulations']));
  t.like(b['guest-mtu']?.figures, { path_mtu: 1400 });
  t.is(c.g(['down', c.lab]).code, 0);
  t.deepEqual(leftovers(c), NOTHING_LEFT);
}, { features: ['geneve'], tools: TOOLS });
