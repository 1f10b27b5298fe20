/** The programs geneve-lab runs, and the Debian package that provides each. */
import { accessSync, constants } from 'node:fs';

export const TOOLS: Record<string, { pkg: string; why: string }> = {
  ip: { pkg: 'iproute2', why: 'namespaces, links, addresses' },
  tc: { pkg: 'iproute2', why: 'impairments, tc geneve_opts' },
  ping: { pkg: 'iputils-ping', why: 'ping and mtu checks' },
  ethtool: { pkg: 'ethtool', why: 'offload settings (tx checksum off, offloads:)' },
  sysctl: { pkg: 'procps', why: 'namespace sysctls' },
  iperf3: { pkg: 'iperf3', why: 'iperf checks' },
  tcpdump: { pkg: 'tcpdump', why: 'capture checks' },
  nft: { pkg: 'nftables', why: 'counter checks on nftables rules; routers that drop their ICMP too-big errors (icmp_too_big: drop)' },
  tshark: { pkg: 'tshark', why: 'optional cross-check of captures' },
  'ovs-vsctl': { pkg: 'openvswitch-switch', why: 'OVS switches and tunnel ports' },
  'ovs-vswitchd': { pkg: 'openvswitch-switch', why: 'OVS switches' },
  'ovsdb-server': { pkg: 'openvswitch-switch', why: 'OVS switches' },
  'ovs-ofctl': { pkg: 'openvswitch-common', why: 'Geneve option (TLV) flows' },
  'ovn-northd': { pkg: 'ovn-central', why: 'OVN control plane (recipes with ovn:)' },
  'ovn-controller': { pkg: 'ovn-host', why: 'OVN chassis (recipes with ovn:)' },
  'ovn-nbctl': { pkg: 'ovn-common', why: 'OVN logical topology and checks' },
  'ovn-sbctl': { pkg: 'ovn-common', why: 'OVN readiness and checks' },
  'ovn-trace': { pkg: 'ovn-common', why: 'ovn checks with trace:' },
  'ovn-appctl': { pkg: 'ovn-common', why: 'stopping the lab\'s OVN daemons' },
  'ovsdb-tool': { pkg: 'openvswitch-common', why: 'creating OVS/OVN databases' },
  ipsec: { pkg: 'strongswan openvswitch-ipsec libstrongswan-standard-plugins', why: 'IPsec tunnels with a pre-shared key (IKE)' },
  'qemu-system-x86_64': { pkg: 'qemu-system-x86', why: '`geneve-lab vm`' },
  ssh: { pkg: 'openssh-client', why: 'remote hosts' },
};

/**
 * Path of an executable on PATH — exactly the lookup the processes geneve-lab starts will make
 * (execa and `ip netns exec` search PATH), so that doctor, the preflight of `up` and the run
 * agree. `dirs` replaces PATH (e.g. to say where a tool outside PATH is).
 */
export function which(tool: string, dirs: readonly string[] = (process.env.PATH ?? '').split(':').filter(Boolean)): string | undefined {
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

/** Where a tool is when it is installed but not on PATH (a sudo whose secure_path lacks sbin). */
export function offPath(tool: string): string | undefined {
  return which(tool, ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin', '/bin']);
}
