/**
 * Shared by the OVS-on-SSH-hosts proofs (test/priv/ssh/ssh-ovs.test.ts on the userspace datapath,
 * test/vm/ovs/ssh-ovs-system.test.ts on the kernel datapath): the recipe, and oracles that read
 * the machines' OVS services and namespaces directly (never through the CLI).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { randomLabName } from './priv.js';
import { addUnderlayNics, startServiceOvs, startSshLab, type ServiceOvs, type SshLab } from './sshd.js';
import { twoGuestChecks } from './ssh-recipes.js';

export interface OvsRecipeOptions {
  lab: string;
  /** SSH hosts (each box with its service's db socket), or simulated hosts when absent. */
  ssh?: { lab: SshLab; ovs: ServiceOvs[] };
  checks?: boolean;
  /** Per box, the `ovs.datapath` written in the recipe (absent: none written, i.e. auto). */
  datapath?: Record<string, 'system' | 'netdev' | 'auto'>;
  /** Geneve option of OVN on the tunnel (TLV map + flows); default true. */
  ovn?: boolean;
  /** VNI of the tunnel; default 77. */
  vni?: number;
}

export interface OvsMachines {
  ssh: SshLab;
  /** One OVS service per box, in box order. */
  ovs: ServiceOvs[];
  /** A scratch directory for recipes and the state directory; removed at teardown. */
  dir: string;
}

/**
 * Two fake remote machines (sshd in namespaces) with the underlay NIC eth1 (192.0.2.1i/24) and the
 * OVS service their admin runs, with a bridge of the admin's own (br-user). `datapath` is the
 * service's: netdev (userspace; the admin's native tunnelling bridge br-phy owns the address) or
 * system (kernel; the address stays on eth1). `broken` names a box whose ovs-vswitchd never starts.
 * Everything is stopped and removed at the test's teardown (after any teardown registered later).
 */
export async function startOvsMachines(t: ExecutionContext, o: { datapath?: 'netdev' | 'system'; broken?: string; labPrefix: string }): Promise<OvsMachines> {
  const ssh = await startSshLab(randomLabName(o.labPrefix), 2);
  const dir = mkdtempSync(join(tmpdir(), 'gl-sshovs-'));
  const ovs: ServiceOvs[] = [];
  t.teardown(async () => {
    for (const s of ovs) await s.stop();
    await ssh.teardown();
    rmSync(dir, { recursive: true, force: true });
  });
  await addUnderlayNics(ssh);
  for (const b of ssh.boxes) {
    const i = Number(b.name.slice(4));
    ovs.push(
      await startServiceOvs(ssh, b.name, {
        ...(o.datapath ? { datapath: o.datapath } : {}),
        underlayAddress: `192.0.2.${10 + i}/24`,
        userBridges: ['br-user'],
        ...(o.broken === b.name ? { noVswitchd: true } : {}),
      }),
    );
  }
  return { ssh, ovs, dir };
}

/** Two hosts, an OVS switch and a guest on each, one OVS geneve tunnel (with an OVN option unless `ovn: false`). */
export function ovsRecipe(o: OvsRecipeOptions): string {
  const vni = o.vni ?? 77;
  const lines = [`lab: ${o.lab}`, 'networks:', '  - { name: underlay, mtu: 1500 }', 'hosts:'];
  for (const i of [1, 2]) {
    const box = `box-${i}`;
    lines.push(`  - name: ${box}`);
    const dp = o.datapath?.[box];
    if (o.ssh) {
      const svc = o.ssh.ovs.find((s) => s.box === box)!;
      lines.push(`    ssh: { target: root@198.51.100.${10 + i}, identity: ${o.ssh.lab.clientKey}, known_hosts: ${o.ssh.lab.knownHosts} }`);
      lines.push(`    ovs: { db: "unix:${svc.dbSocket}"${dp ? `, datapath: ${dp}` : ''} }`);
    } else if (dp) lines.push(`    ovs: { datapath: ${dp} }`);
    lines.push(`    interfaces: [{ network: underlay, ipv4: 192.0.2.${10 + i}/24 }]`);
  }
  lines.push(
    'switches:',
    '  - { name: sw1, host: box-1, kind: ovs }',
    '  - { name: sw2, host: box-2, kind: ovs }',
    'guests:',
    '  - { name: g1, switch: sw1, addresses: [203.0.113.1/24] }',
    '  - { name: g2, switch: sw2, addresses: [203.0.113.2/24] }',
    'tunnels:',
    `  - { name: t1, between: [sw1, sw2], type: geneve, impl: ovs, vni: ${vni}${o.ovn === false ? '' : ', ovn: { ingress: 1, egress: 2 }'} }`,
  );
  if (o.checks !== false) lines.push('checks:', twoGuestChecks('box-2', `geneve.vni: ${vni}, udp.dstport: 6081`));
  return lines.join('\n') + '\n';
}

/** name, status (and loss when reported) of each check in the CLI's `--json` output. */
export const checkSummary = (stdout: string) =>
  (JSON.parse(stdout).checks as { name: string; status: string; figures: Record<string, unknown> }[]).map((c) => ({
    name: c.name,
    status: c.status,
    ...(c.figures.loss_pct !== undefined ? { loss_pct: c.figures.loss_pct } : {}),
  }));

/** Bridge → ports (sorted) on an OVS service, with each bridge's geneve-lab owner tag. */
export async function serviceBridges(svc: ServiceOvs): Promise<Record<string, { ports: string[]; owner?: string }>> {
  const out: Record<string, { ports: string[]; owner?: string }> = {};
  for (const br of (await svc.vsctl(['list-br'])).split('\n').filter(Boolean)) {
    const owner = (await svc.vsctl(['--if-exists', 'get', 'Bridge', br, 'external_ids:geneve-lab'])).trim().replace(/^"|"$/g, '');
    out[br] = { ports: (await svc.vsctl(['list-ports', br])).split('\n').filter(Boolean).sort(), ...(owner ? { owner } : {}) };
  }
  return out;
}

export function spawnSyncText(argv: string[]): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
}

/** Named namespaces as seen from the mount namespace of process `pid` (an sshd box's view). */
export const netnsOf = (pid: number) => {
  const r = spawnSyncText(['nsenter', '-t', String(pid), '-m', 'ip', 'netns', 'list']);
  return r.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
};

/** Links of network namespace `ns` (ip -j link show). */
export const linksIn = (ns: string) => JSON.parse(spawnSyncText(['ip', '-n', ns, '-j', '-d', 'link', 'show'])) as { ifname: string; linkinfo?: { info_kind?: string } }[];
