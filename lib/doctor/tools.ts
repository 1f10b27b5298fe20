/** The programs geneve-lab runs, and the Debian package that provides each. */
import { accessSync, constants } from 'node:fs';

export const TOOLS: Record<string, { pkg: string; why: string }> = {
  ip: { pkg: 'iproute2', why: 'namespaces, links, addresses' },
  tc: { pkg: 'iproute2', why: 'impairments, tc geneve_opts' },
  ping: { pkg: 'iputils-ping', why: 'ping and mtu checks' },
  ethtool: { pkg: 'ethtool', why: 'offload settings (tx checksum off)' },
  sysctl: { pkg: 'procps', why: 'namespace sysctls' },
  iperf3: { pkg: 'iperf3', why: 'iperf checks' },
  tcpdump: { pkg: 'tcpdump', why: 'capture checks' },
  tshark: { pkg: 'tshark', why: 'optional cross-check of captures' },
  'ovs-vsctl': { pkg: 'openvswitch-switch', why: 'OVS switches and tunnel ports' },
  'ovs-vswitchd': { pkg: 'openvswitch-switch', why: 'OVS switches' },
  'ovsdb-server': { pkg: 'openvswitch-switch', why: 'OVS switches' },
  'ovs-ofctl': { pkg: 'openvswitch-common', why: 'Geneve option (TLV) flows' },
  ipsec: { pkg: 'strongswan openvswitch-ipsec libstrongswan-standard-plugins', why: 'IPsec tunnels with a pre-shared key (IKE)' },
  'qemu-system-x86_64': { pkg: 'qemu-system-x86', why: '`geneve-lab vm`' },
  ssh: { pkg: 'openssh-client', why: 'remote hosts' },
};

/** Path of an executable on PATH (plus the sbin directories, which a sudo PATH may lack). */
export function which(tool: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean).concat(['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  for (const dir of dirs) {
    try {
      accessSync(`${dir}/${tool}`, constants.X_OK);
      return `${dir}/${tool}`;
    } catch {
      /* not here */
    }
  }
  return undefined;
}
