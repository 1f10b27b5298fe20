/**
 * ipsec_gre needs ovs-monitor-ipsec (Debian: openvswitch-ipsec) and an IKE daemon (strongswan),
 * and the kernel datapath: on the userspace datapath vswitchd builds the outer GRE packet itself
 * and sends it from its own socket, so kernel XFRM policies never see it.
 */
import type { Executor } from '../exec/executor.js';
import type { Datapath } from './datapath.js';

export interface IpsecSupport {
  supported: boolean;
  reason: string;
}

export async function ipsecGreSupport(exec: Executor, datapath: Datapath): Promise<IpsecSupport> {
  if (datapath === 'netdev')
    return { supported: false, reason: 'ipsec_gre is unsupported on the userspace (netdev) datapath: encrypted GRE needs the kernel datapath (run the lab in the VM tier)' };
  const monitor = await exec.run(['test', '-x', '/usr/share/openvswitch/scripts/ovs-monitor-ipsec']);
  const ike = await exec.run(['test', '-x', '/usr/sbin/ipsec']);
  const missing = [monitor.exitCode !== 0 ? 'ovs-monitor-ipsec (apt-get install openvswitch-ipsec)' : '', ike.exitCode !== 0 ? 'strongswan (apt-get install strongswan)' : ''].filter(Boolean);
  if (missing.length) return { supported: false, reason: `ipsec_gre unsupported here: missing ${missing.join(' and ')}` };
  return { supported: true, reason: 'ovs-monitor-ipsec and strongswan are installed' };
}
