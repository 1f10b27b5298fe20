/**
 * On a real (SSH) host nothing is assumed about interface names: the underlay interface is the
 * one that holds the host's address from the recipe. `ip -j addr show` is the oracle.
 */
import { OpError } from '../errors.js';
import type { Executor } from '../exec/executor.js';

export interface DiscoveredInterface {
  ifname: string;
  mtu: number;
  prefixlen: number;
  up: boolean;
}

interface IpAddrEntry {
  ifname?: string;
  mtu?: number;
  operstate?: string;
  flags?: string[];
  addr_info?: { local?: string; prefixlen?: number }[];
}

/** Same address, whatever the spelling (IPv6 case and zero compression). */
function sameAddress(a: string, b: string): boolean {
  const norm = (x: string) => {
    if (!x.includes(':')) return x;
    const [head, tail = ''] = x.toLowerCase().split('::') as [string, string?];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const fill = x.includes('::') ? Array(8 - h.length - t.length).fill('0') : [];
    return [...h, ...fill, ...t].map((g) => g.replace(/^0+(?=.)/, '')).join(':');
  };
  return norm(a) === norm(b);
}

/** Find the interface holding `address` (with or without /prefix) in `ip -j addr show` output. */
export function findInterface(ipJson: string, address: string): DiscoveredInterface | undefined {
  const ip = address.split('/')[0]!;
  const entries = JSON.parse(ipJson) as IpAddrEntry[];
  for (const e of entries)
    for (const a of e.addr_info ?? [])
      if (a.local && sameAddress(a.local, ip) && e.ifname)
        return { ifname: e.ifname, mtu: e.mtu ?? 0, prefixlen: a.prefixlen ?? 0, up: (e.flags ?? []).includes('UP') };
  return undefined;
}

/** All addresses a host has, for the error message when the one we look for is missing. */
function listAddresses(ipJson: string): string[] {
  return (JSON.parse(ipJson) as IpAddrEntry[]).flatMap((e) => (e.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen} on ${e.ifname}`));
}

/** The interface holding the recipe's address on a remote host; an error naming the host otherwise. */
export async function discoverInterface(ex: Executor, host: string, address: string): Promise<DiscoveredInterface> {
  const argv = ['ip', '-j', 'addr', 'show'];
  const r = await ex.run(argv);
  if (r.exitCode !== 0) throw new OpError({ subject: `listing addresses on host "${host}"`, host, request: argv.join(' '), stderr: r.stderr, exitCode: r.exitCode });
  const found = findInterface(r.stdout, address);
  if (!found)
    throw new OpError({
      subject: `host "${host}" has no interface with address ${address.split('/')[0]} (the recipe's underlay address must be one the machine really has)`,
      host,
      request: argv.join(' '),
      stderr: `addresses there: ${listAddresses(r.stdout).join(', ') || 'none'}`,
    });
  return found;
}
