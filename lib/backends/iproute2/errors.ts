/** Turn what iproute2 and friends print on failure into the kernel's message and an errno. */
import { errnoFromText } from '../../errors.js';

/**
 * iproute2 prints only the kernel's extended-ack text when there is one, not the errno. The
 * kernel's messages are fixed strings, so the errno behind each one is known (geneve.c,
 * vxlan_core.c, rtnetlink.c); this keeps iproute2 errors as precise as netlink ones.
 */
const EXTACK_ERRNO: [RegExp, string][] = [
  [/Geneve ID must be lower than/, 'ERANGE'],
  [/Tunnel key geneve option data is/, 'ERANGE'],
  [/Invalid DF attribute|Invalid source port range|Cannot specify both IPv4 and IPv6|cannot be Multicast|cannot be link-local|Label attribute only applies|Provided link layer address is not Ethernet|Not enough attributes provided|multiple netns identifying attributes/, 'EINVAL'],
  [/Provided Ethernet address is not unicast/, 'EADDRNOTAVAIL'],
  [/IPv6 support not enabled/, 'EPFNOSUPPORT'],
  [/Changing VNI, Port, endpoint IP address family|Unknown device type/, 'EOPNOTSUPP'],
  [/There can be only one externally controlled device|There already exists an externally controlled device/, 'EPERM'],
  [/A VXLAN device with the specified VNI already exists|already exists/, 'EEXIST'],
  [/VNI must be|VXLAN ID/, 'ERANGE'],
  [/too big (gso|gro)_max_size/, 'EINVAL'],
];

export interface ParsedFailure {
  kernelMessage?: string;
  errno?: string;
}

export function parseIpFailure(stderr: string): ParsedFailure {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^Command failed /.test(l));
  // Kernel extended ack: "Error: Geneve ID must be lower than 16777216."
  const extack = lines.find((l) => l.startsWith('Error: '));
  const rtnl = lines.find((l) => l.startsWith('RTNETLINK answers: '));
  const errno = errnoFromText(stderr) ?? EXTACK_ERRNO.find(([re]) => re.test(extack ?? ''))?.[1] ??
    (/Cannot find device|does not exist/.test(stderr) ? 'ENODEV' : undefined);
  let kernelMessage: string | undefined;
  if (extack) kernelMessage = extack.slice('Error: '.length).replace(/\.$/, '');
  else if (rtnl) kernelMessage = rtnl.slice('RTNETLINK answers: '.length);
  else if (lines.length) kernelMessage = lines.join('; ');
  return { ...(kernelMessage ? { kernelMessage } : {}), ...(errno ? { errno } : {}) };
}
