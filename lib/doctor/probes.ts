/**
 * Probing what the running kernel can do, by trying it in a throwaway namespace (tagged like
 * a lab so gc can find it after a crash). Probing beats guessing from /proc/config.gz: a
 * module may be loadable, built in, or blacklisted.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
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
 * Where the probe commands run, and how to run one there.
 * Here (local): every probe process starts in a namespace of its own (`unshare --net`) that no
 * file names and that ends with the process — a probe cut short by kill -9 leaves nothing behind,
 * nothing under /run/netns that gc would have to prove is ours, and no holder process to start
 * and end. Elsewhere (SSH): one named namespace tagged like a lab, removed at the end (gc finds it
 * by its tag after a crash).
 */
interface ProbeNs {
  /** argv that runs `argv` inside a probe namespace. */
  inside(argv: string[]): string[];
  /** Remove the namespace (local: nothing to remove). */
  dispose(): Promise<void>;
}

async function probeNamespace(exec: Executor): Promise<ProbeNs | string> {
  if (exec.where === 'local') return { inside: (argv) => ['unshare', '--net', '--', ...argv], dispose: async () => undefined };
  const ns = `gl-probe-${randomBytes(3).toString('hex')}`;
  const add = await exec.run(['ip', 'netns', 'add', ns]);
  if (add.exitCode !== 0) return `cannot create a network namespace: ${add.stderr.trim()}`;
  await exec.run(['ip', '-n', ns, 'link', 'set', 'lo', 'alias', PROBE_TAG]);
  return { inside: (argv) => ['ip', 'netns', 'exec', ns, ...argv], dispose: () => removeNamespace(exec, ns, PROBE_TAG).then(() => undefined) };
}

/** The probes that are one line of `ip -batch` each; `fallback`: what a failure without words means (default "not supported"). */
export const IP_BATCH_PROBES: Partial<Record<KernelFeature, { line: string; fallback?: string }>> = {
  veth: { line: 'link add p-veth0 type veth peer name p-veth1' },
  bridge: { line: 'link add p-br type bridge' },
  vxlan: { line: 'link add p-vx type vxlan id 1 remote 192.0.2.1 dstport 4789' },
  geneve: { line: 'link add p-gnv type geneve id 1 remote 192.0.2.1' },
  gretap: { line: 'link add p-gre type gretap remote 192.0.2.1 local 192.0.2.2' },
  ipv6: { line: 'addr add 2001:db8::1/128 dev lo nodad', fallback: 'IPv6 disabled' },
};

/**
 * `ip -force -batch` carries on past a failed line and names it after the kernel's words:
 * "Error: Unknown device type.\nCommand failed -:3". Returns those words by line number (1-based).
 */
export function batchFailures(stderr: string): Map<number, string> {
  const failures = new Map<number, string>();
  let words: string[] = [];
  for (const line of stderr.split('\n')) {
    const failed = /^Command failed .*:(\d+)$/.exec(line.trim());
    if (failed) {
      failures.set(Number(failed[1]), words.join(' ').replace(/^Error: /, '').trim());
      words = [];
    } else if (line.trim()) words.push(line.trim());
  }
  return failures;
}

/**
 * Probe the kernel: every feature (doctor), or only `only` (the preflight of `up` asks for what
 * the lab needs). Every link and address probe is one line of a single `ip -force -batch` (one
 * process, where one per feature cost a second each in a TCG guest); tc's netem and ip xfrm (which
 * ends the batch at its first error) are processes of their own, at the same time. Distinct names,
 * so the lines are independent. The results keep the order of KernelFeature.
 */
export async function probeKernel(exec: Executor, only?: readonly KernelFeature[]): Promise<FeatureProbe[]> {
  const probe = await probeNamespace(exec);
  if (typeof probe === 'string') return [{ feature: 'netns', ok: false, detail: probe }];
  const wanted = (f: KernelFeature) => !only || only.includes(f);
  const run = (argv: string[], input?: string) => exec.run(probe.inside(argv), input === undefined ? undefined : { input });
  try {
    const inBatch = (Object.keys(IP_BATCH_PROBES) as KernelFeature[]).filter(wanted);
    // Line 1 brings lo up (netem and the IPv6 address sit on it); the batch always runs, as the
    // probe of the namespace itself.
    const lines = ['link set lo up', ...inBatch.map((f) => IP_BATCH_PROBES[f]!.line)];
    const judge = async (feature: KernelFeature, argv: string[], fallback: string): Promise<FeatureProbe> => {
      const r = await run(argv);
      return { feature, ok: r.exitCode === 0, detail: r.exitCode === 0 ? 'supported' : r.stderr.trim().replace(/^Error: /, '') || fallback };
    };
    const separate: Partial<Record<KernelFeature, () => Promise<FeatureProbe>>> = {
      netem: () => judge('netem', ['tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms'], 'not supported'),
      openvswitch: () => probeOpenvswitch(exec),
      esp: () => probeEsp(run),
    };
    const [batch, ...others] = await Promise.all([
      run(['ip', '-force', '-batch', '-'], lines.join('\n') + '\n'),
      ...(Object.keys(separate) as KernelFeature[]).filter(wanted).map((f) => separate[f]!()),
    ]);
    const noNetns = /^unshare: .*/m.exec(batch.stderr);
    if (noNetns) return [{ feature: 'netns', ok: false, detail: `cannot create a network namespace: ${noNetns[0]}` }];
    const failures = batchFailures(batch.stderr);
    // ip ended without naming a line (it crashed, or was killed): no line's verdict is known.
    const unexplained = batch.exitCode !== 0 && failures.size === 0 ? batch.stderr.trim() || `ip -batch exited with ${batch.exitCode}` : undefined;
    const results: FeatureProbe[] = [{ feature: 'netns', ok: true, detail: 'supported' }, ...others];
    inBatch.forEach((feature, i) => {
      const words = unexplained ?? failures.get(i + 2);
      results.push(words === undefined ? { feature, ok: true, detail: 'supported' } : { feature, ok: false, detail: words || IP_BATCH_PROBES[feature]!.fallback || 'not supported' });
    });
    const order = Object.keys(FEATURE_FIX) as KernelFeature[];
    return results.sort((a, b) => order.indexOf(a.feature) - order.indexOf(b.feature));
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
