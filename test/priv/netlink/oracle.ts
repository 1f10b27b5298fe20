/**
 * Independent oracle: what `ip -d -j link/addr/route show` reports inside a namespace,
 * reduced to the facts a lab cares about. Imports nothing from lib/ on purpose, so a bug in
 * our encoders cannot also hide in the oracle.
 */
import { execFileSync } from 'node:child_process';

const ipJson = (ns: string, ...args: string[]): any[] => {
  const out = execFileSync('ip', ['-n', ns, '-j', ...args], { encoding: 'utf8' }).trim();
  return out ? JSON.parse(out) : [];
};

export interface OracleLink {
  name: string;
  kind: string;
  mtu: number;
  up: boolean;
  alias?: string;
  master?: string;
  slaveKind?: string;
  /** veth: the peer's name when it lives in the same namespace, "other-netns" otherwise. */
  peer?: string;
  mac?: string;
  infoData?: Record<string, unknown>;
}

export interface OracleState {
  links: OracleLink[];
  addrs: string[]; // "dev family local/prefix scope [nodad]"
  routes: string[]; // "family dst via gw dev D proto P scope S"
}

export function snapshot(ns: string, opts: { macs?: boolean } = {}): OracleState {
  const links: OracleLink[] = ipJson(ns, '-d', 'link', 'show').map((l) => {
    const o: OracleLink = {
      name: l.ifname,
      kind: l.linkinfo?.info_kind ?? l.link_type,
      mtu: l.mtu,
      up: (l.flags as string[]).includes('UP'),
    };
    if (l.ifalias !== undefined) o.alias = l.ifalias;
    if (l.master !== undefined) o.master = l.master;
    if (l.linkinfo?.info_slave_kind) o.slaveKind = l.linkinfo.info_slave_kind;
    if (o.kind === 'veth') o.peer = l.link_netnsid !== undefined ? 'other-netns' : l.link;
    if (opts.macs) o.mac = l.address;
    if (l.linkinfo?.info_data && ['vxlan', 'geneve'].includes(o.kind)) o.infoData = l.linkinfo.info_data;
    return o;
  });
  const byIndex = new Map<number, string>();
  for (const l of ipJson(ns, 'link', 'show')) byIndex.set(l.ifindex, l.ifname);
  const addrs: string[] = [];
  for (const l of ipJson(ns, 'addr', 'show'))
    for (const a of l.addr_info ?? []) {
      if (a.scope === 'link') continue; // fe80:: addresses are derived from random MACs
      addrs.push(`${l.ifname} ${a.family} ${a.local}/${a.prefixlen} ${a.scope}${a.nodad ? ' nodad' : ''}`);
    }
  const routes: string[] = [];
  for (const [fam, flag] of [['inet', '-4'], ['inet6', '-6']] as const)
    for (const r of ipJson(ns, flag, 'route', 'show', 'table', 'main')) {
      if (String(r.dst).startsWith('fe80:') || r.dst === 'multicast') continue;
      routes.push(`${fam} ${r.dst}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.dev} proto ${r.protocol ?? 'boot'} scope ${r.scope ?? 'global'}`);
    }
  return { links: links.sort((a, b) => a.name.localeCompare(b.name)), addrs: addrs.sort(), routes: routes.sort() };
}

/** Namespaces whose names start with the prefix (to verify nothing is left behind). */
export function namespacesWithPrefix(prefix: string): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

/** Best-effort removal for test teardown. */
export function removeNamespaces(names: string[]): void {
  for (const n of names) {
    try {
      execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }
}
