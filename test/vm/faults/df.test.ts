/**
 * VM tier (issue 13): what `df` does on the wire, per implementation. A recipe's `df: unset`
 * (or `false`) must send the outer IPv4 header without DF, `df: set` (`true`) with it, and no
 * `df` the implementation's own default — the kernel geneve device's is unset, an OVS port's is
 * df_default=true (DF set). Three tunnels per lab (unset / set / not given), each end pair
 * checked by the recipe's capture (`ip.df`) and independently by tshark (`ip.flags.df`) on the
 * pcaps the run keeps in --artifacts.
 *
 * Kernel geneve ↔ kernel geneve, OVS kernel datapath ↔ kernel geneve, OVS userspace datapath
 * ↔ kernel geneve. Needs a geneve netdev (and the openvswitch module for the second): inside
 * the VM; elsewhere skipped LOUDLY.
 */
import type { ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { CLI_ARGV, ROOT } from '../../support/cli.js';
import { netnsList } from '../../support/oracle.js';
import { randomLabName } from '../../support/priv.js';
import { kernelTest, type Feature } from './kernel.js';

/**
 * The CLI with room for a slow guest: one `run` here does many checks, and under TCG on a busy
 * host it can take several minutes (support/cli.ts's `cli` gives up after 3).
 */
function cliSlow(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...CLI_ARGV, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20 * 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

type Impl = 'kernel' | 'ovs-system' | 'ovs-netdev';
const CASES = [
  { name: 'unset', df: 'df: unset, ', vni: 11 },
  { name: 'set', df: 'df: set, ', vni: 12 },
  { name: 'default', df: '', vni: 13 },
] as const;

/** DF of what box-1 sends, by case: its end is `impl`. */
function expectedDf(impl: Impl, c: (typeof CASES)[number]['name']): boolean {
  if (c === 'unset') return false;
  if (c === 'set') return true;
  return impl !== 'kernel'; // OVS: df_default=true; kernel geneve: DF unset
}

function recipe(lab: string, impl: Impl): string {
  const dp = impl === 'ovs-system' ? ', ovs: { datapath: system }' : impl === 'ovs-netdev' ? ', ovs: { datapath: netdev }' : '';
  const kind1 = impl === 'kernel' ? 'bridge' : 'ovs';
  const lines = [`lab: ${lab}`, 'hosts:', `  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24 }]${dp} }`, '  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24 }] }', 'switches:'];
  CASES.forEach((c) => lines.push(`  - { name: a-${c.name}, host: box-1, kind: ${kind1} }`, `  - { name: b-${c.name}, host: box-2, kind: bridge }`));
  lines.push('guests:');
  CASES.forEach((c, i) => lines.push(`  - { name: l-${c.name}, switch: a-${c.name}, addresses: [203.0.113.${2 * i + 1}/24] }`, `  - { name: r-${c.name}, switch: b-${c.name}, addresses: [203.0.113.${2 * i + 2}/24] }`));
  lines.push('tunnels:');
  CASES.forEach((c) => lines.push(`  - { name: t-${c.name}, between: [a-${c.name}, b-${c.name}], ${c.df}vni: ${c.vni} }`));
  lines.push('checks:');
  CASES.forEach((c, i) => {
    lines.push(`  - { name: ping-${c.name}, ping: { from: l-${c.name}, to: r-${c.name}, count: 3 } }`);
    // What box-1's end sends (seen on box-2) and what box-2's kernel device sends (seen on box-1).
    lines.push(`  - { name: there-${c.name}, capture: { host: box-2, interface: underlay, during: ping-${c.name}, at_least: 3, expect: { geneve.vni: ${c.vni}, inner.src: 203.0.113.${2 * i + 1}, ip.df: ${expectedDf(impl, c.name)} } } }`);
    lines.push(`  - { name: back-${c.name}, capture: { host: box-1, interface: underlay, during: ping-${c.name}, at_least: 3, expect: { geneve.vni: ${c.vni}, inner.src: 203.0.113.${2 * i + 2}, ip.df: ${expectedDf('kernel', c.name)} } } }`);
  });
  return lines.join('\n') + '\n';
}

/** tshark's reading of a pcap: the DF flags of the geneve packets with `vni` from `src`. */
function tsharkDf(pcap: string, vni: number, src: string): string[] {
  // The outer header is the first IP layer (occurrence=f); the inner packet has its own DF.
  const out = execFileSync('tshark', ['-n', '-r', pcap, '-d', 'udp.port==6081,geneve', '-Y', `geneve.vni == ${vni} && ip.src == ${src}`, '-T', 'fields', '-E', 'occurrence=f', '-e', 'ip.flags.df'], { encoding: 'utf8' });
  return [...new Set(out.split('\n').filter(Boolean))];
}

const features = (impl: Impl): Feature[] => (impl === 'ovs-system' ? ['geneve', 'ovs-kernel'] : ['geneve']);

for (const impl of ['kernel', 'ovs-system', 'ovs-netdev'] as const) {
  kernelTest(
    `df on the wire (${impl === 'kernel' ? 'kernel geneve' : `OVS ${impl === 'ovs-system' ? 'kernel' : 'userspace'} datapath`} → kernel geneve): unset clears DF, set sets it, no df = ${impl === 'kernel' ? 'unset' : 'set (OVS df_default)'}; tshark agrees`,
    (t: ExecutionContext) => {
      t.timeout(25 * 60_000);
      const lab = randomLabName('vd');
      const dir = mkdtempSync(join(tmpdir(), 'gl-vmdf-'));
      const file = join(dir, 'r.yaml');
      const artifacts = join(dir, 'artifacts');
      writeFileSync(file, recipe(lab, impl));
      const g = (a: string[]) => cliSlow(['--state-dir', join(dir, 'state'), ...a]);
      t.teardown(() => {
        g(['down', lab]);
        rmSync(dir, { recursive: true, force: true });
      });
      const r = g(['run', '--json', '--artifacts', artifacts, file]);
      const checks = (JSON.parse(r.stdout || '{"checks":[]}').checks ?? []) as { name: string; status: string; message?: string }[];
      t.deepEqual(
        checks.map((c) => [c.name, c.status]),
        // An OVS end on box-1 brings its vswitchd log gate, checked last.
        [...CASES.flatMap((c) => [`ping-${c.name}`, `there-${c.name}`, `back-${c.name}`]), ...(impl === 'kernel' ? [] : ['vswitchd-log box-1'])].map((n) => [n, 'passed']),
        JSON.stringify(checks, null, 1) + r.stderr,
      );
      t.is(r.code, 0);
      // The independent reading: tshark on the kept pcaps.
      CASES.forEach((c) => {
        const want = (b: boolean) => [b ? 'True' : 'False'];
        const there = tsharkDf(join(artifacts, `there-${c.name}.pcap`), c.vni, '192.0.2.11');
        const back = tsharkDf(join(artifacts, `back-${c.name}.pcap`), c.vni, '192.0.2.12');
        // tshark prints booleans as True/False or 1/0 depending on its version.
        const norm = (v: string[]) => v.map((x) => (x === '1' ? 'True' : x === '0' ? 'False' : x));
        t.deepEqual(norm(there), want(expectedDf(impl, c.name)), `${c.name}: box-1 (${impl}) sends`);
        t.deepEqual(norm(back), want(expectedDf('kernel', c.name)), `${c.name}: box-2 (kernel) sends`);
      });
      t.deepEqual(netnsList().filter((n) => n.startsWith(`gl-${lab}-`)), []);
    },
    { features: features(impl), tools: ['tcpdump', 'tshark', ...(impl === 'kernel' ? [] : ['ovs-vswitchd', 'ovsdb-server', 'ovs-vsctl', 'ovs-ofctl'])] },
  );
}
