/**
 * An independent view of kernel state for tests: reads `ip -j` directly and imports nothing
 * from lib/, so a bug in the toolkit cannot hide itself from its own tests.
 */
import { execFileSync } from 'node:child_process';

function ipJson(args: string[]): any[] {
  try {
    const out = execFileSync('ip', ['-j', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return out ? (JSON.parse(out) as any[]) : [];
  } catch {
    return [];
  }
}

export function netnsList(): string[] {
  return ipJson(['netns', 'list']).map((n) => n.name as string);
}

/** Links, addresses and routes of one namespace ('' = root), without counters or volatile fields. */
export function nsDump(ns = ''): { links: unknown[]; addrs: unknown[]; routes: unknown[] } {
  const n = ns ? ['-n', ns] : [];
  const links = ipJson([...n, '-d', 'link', 'show']).map((l) => ({
    ifname: l.ifname,
    kind: l.linkinfo?.info_kind,
    alias: l.ifalias,
    mtu: l.mtu,
    master: l.master,
    flags: l.flags,
    data: l.linkinfo?.info_data,
  }));
  const addrs = ipJson([...n, 'addr', 'show']).map((a) => ({
    ifname: a.ifname,
    addrs: (a.addr_info ?? []).map((i: any) => `${i.local}/${i.prefixlen}`).sort(),
  }));
  const routes = [...ipJson([...n, 'route', 'show']), ...ipJson([...n, '-6', 'route', 'show'])].map((r) => `${r.dst} ${r.gateway ?? ''} ${r.dev ?? ''}`);
  return { links, addrs, routes: routes.sort() };
}

/** A snapshot of everything the tests may touch: the root namespace and the namespace list. */
export function systemSnapshot(nsFilter: (ns: string) => boolean = () => true) {
  const nss = netnsList().filter(nsFilter).sort();
  return { root: nsDump(''), namespaces: Object.fromEntries(nss.map((ns) => [ns, nsDump(ns)])) };
}

export function ipRun(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function pingOk(ns: string, addr: string): boolean {
  try {
    execFileSync('ip', ['netns', 'exec', ns, 'ping', '-n', '-c', '2', '-i', '0.2', '-W', '1', addr], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
