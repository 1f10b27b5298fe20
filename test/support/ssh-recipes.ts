/**
 * Recipes for the SSH-lab proofs and benchmarks: the same topology either on simulated hosts or
 * on the sshd "machines" of test/support/sshd.ts (198.51.100.0/24 underlay, guests 203.0.113.x),
 * and a runner for the real CLI that can run inside the namespace holding the ssh client.
 */
import { spawnSync } from 'node:child_process';
import type { SshLab } from './sshd.js';
import { CLI_ARGV, ROOT, type CliResult } from './cli.js';

export interface ChainOptions {
  lab: string;
  /** Number of hosts; host i (1-based) is box-i at 198.51.100.(10+i), one guest g<i> on bridge sw<i>. */
  hosts: number;
  /** When given, every host is that sshd box over SSH (key and known_hosts of the SshLab). */
  ssh?: SshLab;
  /** Per-host overrides of the ssh map (e.g. a wrong port for box-2). */
  sshExtra?: Record<string, string>;
  /** Extra YAML lines under a guest (e.g. a route), by guest name. */
  guestExtra?: Record<string, string>;
  checks?: string;
}

/**
 * The checks every two-host SSH proof runs: ping both ways, iperf3 TCP g1 → g2, and a capture on
 * `captureHost`'s underlay during the first ping expecting `wire` (e.g. `geneve.vni: 77`).
 */
export function twoGuestChecks(captureHost: string, wire: string): string {
  return [
    '  - name: g1-to-g2',
    '    ping: { from: g1, to: g2, count: 3 }',
    '  - name: g2-to-g1',
    '    ping: { from: g2, to: g1, count: 2 }',
    '  - name: tcp',
    '    iperf: { from: g1, to: g2, duration: 2, min: 1Mbit }',
    '  - name: on-the-wire',
    `    capture: { host: ${captureHost}, interface: underlay, during: g1-to-g2, at_least: 3, expect: { ${wire} } }`,
  ].join('\n');
}

/**
 * A chain of hosts box-1 … box-N, a Linux bridge and one guest on each, VXLAN tunnels between
 * neighbours (VNI 100+i), so the overlay is one L2 segment without loops.
 */
export function chainRecipe(o: ChainOptions): string {
  const lines = [`lab: ${o.lab}`, 'networks:', '  - { name: underlay, mtu: 1500 }', 'hosts:'];
  for (let i = 1; i <= o.hosts; i++) {
    const box = `box-${i}`;
    const addr = `198.51.100.${10 + i}`;
    lines.push(`  - name: ${box}`);
    if (o.ssh) {
      const extra = o.sshExtra?.[box] ?? '';
      lines.push(`    ssh: { target: root@${addr}, identity: ${o.ssh.clientKey}, known_hosts: ${o.ssh.knownHosts}${extra ? `, ${extra}` : ''} }`);
    }
    lines.push(`    interfaces: [{ network: underlay, ipv4: ${addr}/24 }]`);
  }
  lines.push('switches:');
  for (let i = 1; i <= o.hosts; i++) lines.push(`  - { name: sw${i}, host: box-${i}, kind: bridge }`);
  lines.push('guests:');
  for (let i = 1; i <= o.hosts; i++) {
    lines.push(`  - name: g${i}`, `    switch: sw${i}`, `    addresses: [203.0.113.${i}/24]`, '    mtu: 1450');
    if (o.guestExtra?.[`g${i}`]) lines.push(o.guestExtra[`g${i}`]!);
  }
  lines.push('tunnels:');
  for (let i = 1; i < o.hosts; i++) lines.push(`  - { name: t${i}, between: [sw${i}, sw${i + 1}], type: vxlan, vni: ${100 + i} }`);
  if (o.checks) lines.push('checks:', o.checks);
  return lines.join('\n') + '\n';
}

/** The real CLI, optionally inside network namespace `ns` (where the ssh client must run). */
export function cliIn(ns: string | undefined, args: string[], timeout = 300_000): CliResult & { ms: number } {
  const argv = [process.execPath, ...CLI_ARGV, ...args];
  const full = ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv;
  const t0 = Date.now();
  const r = spawnSync(full[0]!, full.slice(1), { cwd: ROOT, encoding: 'utf8', timeout });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: Date.now() - t0 };
}
