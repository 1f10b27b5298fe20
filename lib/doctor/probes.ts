/**
 * Probing what the running kernel can do, by trying it in a throwaway namespace (tagged like
 * a lab so gc can find it after a crash). Probing beats guessing from /proc/config.gz: a
 * module may be loadable, built in, or blacklisted.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readlinkSync } from 'node:fs';
import { spawn } from 'node:child_process';
import type { Executor } from '../exec/executor.js';
import { removeNamespace } from '../engine/namespaces.js';

export type KernelFeature = 'netns' | 'veth' | 'bridge' | 'vxlan' | 'geneve' | 'gretap' | 'netem' | 'ipv6' | 'openvswitch' | 'esp';

export interface FeatureProbe {
  feature: KernelFeature;
  ok: boolean;
  detail: string;
}

const PROBE_TAG = 'geneve-lab:doctor-probe';

/**
 * A throwaway namespace to probe in, and how to run a command inside it.
 * Here (local): a namespace no file names, held by a child the kernel kills when this process
 * dies (PR_SET_PDEATHSIG via setpriv) — a probe cut short by kill -9 leaves nothing behind, and
 * nothing under /run/netns that gc would have to prove is ours. Elsewhere (SSH): a named
 * namespace tagged like a lab, removed at the end (gc finds it by its tag after a crash).
 */
interface ProbeNs {
  /** argv that runs `argv` inside the probe namespace. */
  inside(argv: string[]): string[];
  /** Remove the namespace (local: end its holder, and with it the namespace). */
  dispose(): Promise<void>;
}

async function probeNamespace(exec: Executor): Promise<ProbeNs | string> {
  if (exec.where === 'local') {
    const holder = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'unshare', '--net', '--', 'sleep', 'infinity'], { stdio: 'ignore' });
    const failed = await new Promise<string | undefined>((settle) => {
      let settled = false;
      const resolve = (v: string | undefined) => {
        settled = true;
        settle(v);
      };
      holder.once('error', (e) => resolve(`cannot start setpriv/unshare: ${e.message}`));
      holder.once('exit', (code) => resolve(`unshare --net exited (${code}): cannot create a network namespace`));
      // The namespace exists once unshare has exec'd sleep: its net namespace differs from ours.
      const mine = readlinkSafe('/proc/self/ns/net');
      const poll = () => {
        if (settled) return;
        const theirs = holder.pid ? readlinkSafe(`/proc/${holder.pid}/ns/net`) : undefined;
        if (theirs && theirs !== mine && readlinkSafe(`/proc/${holder.pid}/exe`)?.endsWith('/sleep')) resolve(undefined);
        else setTimeout(poll, 5);
      };
      poll();
    });
    if (failed) {
      holder.kill('SIGKILL');
      return failed;
    }
    const net = `--net=/proc/${holder.pid}/ns/net`;
    return {
      inside: (argv) => ['nsenter', net, '--', ...argv],
      dispose: async () => {
        holder.kill('SIGKILL');
      },
    };
  }
  const ns = `gl-probe-${randomBytes(3).toString('hex')}`;
  const add = await exec.run(['ip', 'netns', 'add', ns]);
  if (add.exitCode !== 0) return `cannot create a network namespace: ${add.stderr.trim()}`;
  await exec.run(['ip', '-n', ns, 'link', 'set', 'lo', 'alias', PROBE_TAG]);
  return { inside: (argv) => ['ip', 'netns', 'exec', ns, ...argv], dispose: () => removeNamespace(exec, ns, PROBE_TAG).then(() => undefined) };
}

function readlinkSafe(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Probe the kernel: every feature (doctor), or only `only` (the preflight of `up` asks for what
 * the lab needs — each probe is a process or two, seconds in a TCG guest). The probes are
 * independent (links of distinct names, lo's qdisc, an address, an SA) and run at once; the
 * results keep the order of KernelFeature.
 */
export async function probeKernel(exec: Executor, only?: readonly KernelFeature[]): Promise<FeatureProbe[]> {
  const probe = await probeNamespace(exec);
  if (typeof probe === 'string') return [{ feature: 'netns', ok: false, detail: probe }];
  const run = (argv: string[]) => exec.run(probe.inside(argv));
  const wanted = (f: KernelFeature) => !only || only.includes(f);
  try {
    await run(['ip', 'link', 'set', 'lo', 'up']);
    // A probe passes when its command succeeds; else the kernel's own words say why.
    const judge = async (feature: KernelFeature, argv: string[], fallback: string): Promise<FeatureProbe> => {
      const r = await run(argv);
      return { feature, ok: r.exitCode === 0, detail: r.exitCode === 0 ? 'supported' : r.stderr.trim().replace(/^Error: /, '') || fallback };
    };
    const tryLink = (feature: KernelFeature, args: string[]) => judge(feature, ['ip', 'link', 'add', ...args], 'not supported');
    const probes: Record<Exclude<KernelFeature, 'netns'>, () => Promise<FeatureProbe>> = {
      veth: () => tryLink('veth', ['p-veth0', 'type', 'veth', 'peer', 'name', 'p-veth1']),
      bridge: () => tryLink('bridge', ['p-br', 'type', 'bridge']),
      vxlan: () => tryLink('vxlan', ['p-vx', 'type', 'vxlan', 'id', '1', 'remote', '192.0.2.1', 'dstport', '4789']),
      geneve: () => tryLink('geneve', ['p-gnv', 'type', 'geneve', 'id', '1', 'remote', '192.0.2.1']),
      gretap: () => tryLink('gretap', ['p-gre', 'type', 'gretap', 'remote', '192.0.2.1', 'local', '192.0.2.2']),
      netem: () => judge('netem', ['tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms'], 'not supported'),
      ipv6: () => judge('ipv6', ['ip', '-6', 'addr', 'add', '2001:db8::1/128', 'dev', 'lo', 'nodad'], 'IPv6 disabled'),
      openvswitch: () => probeOpenvswitch(exec),
      esp: () => probeEsp(run),
    };
    const chosen = (Object.keys(probes) as (keyof typeof probes)[]).filter(wanted);
    return [{ feature: 'netns', ok: true, detail: 'supported' }, ...(await Promise.all(chosen.map((f) => probes[f]())))];
  } finally {
    await probe.dispose();
  }
}

/** ESP in the kernel (IPsec tunnels): an SA with AES-CBC + HMAC-SHA1, which every ESP-capable kernel has. */
async function probeEsp(run: (argv: string[]) => Promise<{ exitCode: number; stderr: string }>): Promise<FeatureProbe> {
  const r = await run(
    ['ip', 'xfrm', 'state', 'add', 'src', '192.0.2.1', 'dst', '192.0.2.2', 'proto', 'esp', 'spi', '0x100', 'mode', 'transport', 'enc', 'cbc(aes)', '0x' + '00'.repeat(16), 'auth-trunc', 'hmac(sha1)', '0x' + '00'.repeat(20), '96'],
  );
  const msg = r.stderr.trim().replace(/^Error: /, '');
  return { feature: 'esp', ok: r.exitCode === 0, detail: r.exitCode === 0 ? 'supported' : `${msg || 'not supported'} (no ESP: CONFIG_INET_ESP)` };
}

async function probeOpenvswitch(exec: Executor): Promise<FeatureProbe> {
  if (existsSync('/sys/module/openvswitch')) return { feature: 'openvswitch', ok: true, detail: 'module loaded' };
  const r = await exec.run(['modprobe', '-n', '-q', 'openvswitch']);
  if (r.exitCode === 0) return { feature: 'openvswitch', ok: true, detail: 'module loadable' };
  return { feature: 'openvswitch', ok: false, detail: 'no openvswitch kernel module (OVS can still use the userspace datapath)' };
}

export const FEATURE_FIX: Record<KernelFeature, string> = {
  netns: 'run as root on a Linux kernel with network namespaces',
  veth: 'load the veth module (modprobe veth)',
  bridge: 'load the bridge module (modprobe bridge)',
  vxlan: 'load the vxlan module (modprobe vxlan), or run the lab in a VM: `geneve-lab vm -- up RECIPE`',
  geneve: 'this kernel has no geneve support: run it in a VM with `geneve-lab vm -- up RECIPE`, or use an OVS tunnel (switch kind: ovs)',
  gretap: 'this kernel has no GRE support: run it in a VM with `geneve-lab vm -- up RECIPE`, or use an OVS tunnel',
  netem: 'link impairments (netem qdisc) need it: run the lab in the VM with `geneve-lab vm -- up RECIPE`, whose Debian kernel has netem',
  ipv6: 'enable IPv6 (sysctl net.ipv6.conf.all.disable_ipv6=0)',
  openvswitch: 'modprobe openvswitch for the kernel datapath; without it OVS switches use the userspace (netdev) datapath',
  esp: 'IPsec tunnels need ESP in the kernel (modprobe esp4 esp6): run the lab in a VM with `geneve-lab vm -- up RECIPE`, whose Debian kernel has it',
};
