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

export async function probeKernel(exec: Executor): Promise<FeatureProbe[]> {
  const ns = `gl-probe-${randomBytes(3).toString('hex')}`;
  const add = await exec.run(['ip', 'netns', 'add', ns]);
  if (add.exitCode !== 0) {
    return [{ feature: 'netns', ok: false, detail: `cannot create a network namespace: ${add.stderr.trim()}` }];
  }
  try {
    await exec.run(['ip', '-n', ns, 'link', 'set', 'lo', 'alias', PROBE_TAG]);
    await exec.run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    const tryLink = async (feature: KernelFeature, args: string[]): Promise<FeatureProbe> => {
      const r = await exec.run(['ip', '-n', ns, 'link', 'add', ...args]);
      const msg = r.stderr.trim().replace(/^Error: /, '');
      return { feature, ok: r.exitCode === 0, detail: r.exitCode === 0 ? 'supported' : msg || 'not supported' };
    };
    const results: FeatureProbe[] = [{ feature: 'netns', ok: true, detail: 'supported' }];
    results.push(await tryLink('veth', ['p-veth0', 'type', 'veth', 'peer', 'name', 'p-veth1']));
    results.push(await tryLink('bridge', ['p-br', 'type', 'bridge']));
    results.push(await tryLink('vxlan', ['p-vx', 'type', 'vxlan', 'id', '1', 'remote', '192.0.2.1', 'dstport', '4789']));
    results.push(await tryLink('geneve', ['p-gnv', 'type', 'geneve', 'id', '1', 'remote', '192.0.2.1']));
    results.push(await tryLink('gretap', ['p-gre', 'type', 'gretap', 'remote', '192.0.2.1', 'local', '192.0.2.2']));
    const netem = await exec.run(['tc', '-n', ns, 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']);
    results.push({
      feature: 'netem',
      ok: netem.exitCode === 0,
      detail: netem.exitCode === 0 ? 'supported' : netem.stderr.trim().replace(/^Error: /, '') || 'not supported',
    });
    const v6 = await exec.run(['ip', '-n', ns, '-6', 'addr', 'add', '2001:db8::1/128', 'dev', 'lo', 'nodad']);
    results.push({ feature: 'ipv6', ok: v6.exitCode === 0, detail: v6.exitCode === 0 ? 'supported' : v6.stderr.trim() || 'IPv6 disabled' });
    results.push(await probeOpenvswitch(exec));
    results.push(await probeEsp(exec, ns));
    return results;
  } finally {
    await removeNamespace(exec, ns, PROBE_TAG);
  }
}

/** ESP in the kernel (IPsec tunnels): an SA with AES-CBC + HMAC-SHA1, which every ESP-capable kernel has. */
async function probeEsp(exec: Executor, ns: string): Promise<FeatureProbe> {
  const r = await exec.run(
    ['ip', '-n', ns, 'xfrm', 'state', 'add', 'src', '192.0.2.1', 'dst', '192.0.2.2', 'proto', 'esp', 'spi', '0x100', 'mode', 'transport', 'enc', 'cbc(aes)', '0x' + '00'.repeat(16), 'auth-trunc', 'hmac(sha1)', '0x' + '00'.repeat(20), '96'],
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
