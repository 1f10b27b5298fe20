/** Helpers for the OVN priv tests: which OVN/OVS daemons run, and in which network namespace. */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';

export const OVN_TOOLS = {
  tools: ['ovs-vswitchd', 'ovsdb-server', 'ovsdb-tool', 'ovs-vsctl', 'ovn-northd', 'ovn-controller', 'ovn-nbctl', 'ovn-sbctl', 'ovn-trace', 'ovn-appctl', 'tcpdump'],
};

export interface Daemon {
  pid: number;
  comm: string;
  args: string;
  /** `net:[INODE]` of its network namespace. */
  netns: string;
}

/** Every live process whose command line mentions `needle` (a state dir), with its netns. */
export function daemonsMentioning(needle: string): Daemon[] {
  const out: Daemon[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const args = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (!args.includes(needle)) continue;
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (/\)\s+[ZX]/.test(stat)) continue; // zombies are not running
      const comm = readFileSync(`/proc/${d}/comm`, 'utf8').trim();
      if (/^(ps|sh|bash|ssh|node|tcpdump|ip)$/.test(comm)) continue;
      out.push({ pid: Number(d), comm, args, netns: readlinkSync(`/proc/${d}/ns/net`) });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** `net:[INODE]` of a named namespace. */
export function netnsId(ns: string): string {
  return `net:[${statSync(`/run/netns/${ns}`).ino}]`;
}

export const rootNetns = () => readlinkSync('/proc/self/ns/net');
