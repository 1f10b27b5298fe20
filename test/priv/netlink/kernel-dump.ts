/**
 * Oracle for backend equivalence: the complete `ip -d -j link/addr/route show` view of each
 * namespace, with only the fields the kernel makes up by itself removed (ifindexes, netns ids,
 * random MACs and what derives from them, counters, timers, carrier/operational state that
 * depends on timing). Everything that configuration decides stays: kinds, names, aliases,
 * MTUs, masters, admin flags, the info_data of vxlan/geneve/bridge, port settings, addresses
 * and routes. Imports nothing from lib/ on purpose.
 */
import { execFileSync } from 'node:child_process';

export type NamespaceDump = Record<string, { links: unknown[]; addrs: unknown[]; routes: unknown[] }>;

const ipJson = (ns: string, ...args: string[]): any[] => {
  const out = execFileSync('ip', ['-n', ns, '-j', ...args], { encoding: 'utf8' }).trim();
  return out ? JSON.parse(out) : [];
};

/** Link fields that the kernel assigns or that change with time or traffic. */
const VOLATILE_LINK = new Set([
  'ifindex', 'link_index', 'link_netnsid', 'address', 'perm_address', 'operstate', 'stats', 'stats64',
  'parentbus', 'parentdev', 'inet6_addr_gen_mode',
]);
/** Carrier-derived flags: appear when the other end/ports settle, not by configuration. */
const VOLATILE_FLAGS = new Set(['LOWER_UP', 'M-DOWN', 'NO-CARRIER']);
/** Bridge and bridge-port data derived from random MACs, port numbering or running timers. */
const VOLATILE_BRIDGE = /(_timer$|^bridge_id$|^root_id$|^designated_root$|^designated_bridge$|^id$|^no$|^root_port$|^root_path_cost$|^designated_port$|^designated_cost$|^state$|^topology_change|^config_pending$|^gc_timer$)/;

function scrub(obj: Record<string, unknown> | undefined, volatile: RegExp): Record<string, unknown> | undefined {
  if (!obj) return obj;
  return Object.fromEntries(Object.entries(obj).filter(([k]) => !volatile.test(k)));
}

function normaliseLink(l: any): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(l)) if (!VOLATILE_LINK.has(k)) out[k] = v;
  out.flags = (l.flags as string[]).filter((f) => !VOLATILE_FLAGS.has(f));
  // A veth peer in another namespace is named only by its (kernel-chosen) index: keep the fact.
  if (l.link_netnsid !== undefined) out.link = 'other-netns';
  if (l.linkinfo) {
    const li = { ...l.linkinfo };
    if (li.info_kind === 'bridge') li.info_data = scrub(li.info_data, VOLATILE_BRIDGE);
    if (li.info_slave_kind === 'bridge') li.info_slave_data = scrub(li.info_slave_data, VOLATILE_BRIDGE);
    out.linkinfo = li;
  }
  return out;
}

function normaliseAddr(l: any): Record<string, unknown> {
  return {
    ifname: l.ifname,
    addr: (l.addr_info ?? [])
      // fe80:: addresses are derived from the random MACs
      .filter((a: any) => !(a.family === 'inet6' && a.scope === 'link'))
      .map((a: any) => {
        const { tentative: _t, dadfailed: _d, valid_life_time: _v, preferred_life_time: _p, ...rest } = a;
        return rest;
      })
      .sort((a: any, b: any) => `${a.family}${a.local}`.localeCompare(`${b.family}${b.local}`)),
  };
}

function normaliseRoute(r: any): Record<string, unknown> {
  // "linkdown" comes and goes with the carrier; expiry counts down
  const { flags, expires: _e, ...rest } = r;
  const kept = (flags as string[] | undefined)?.filter((f) => f !== 'linkdown');
  return kept?.length ? { ...rest, flags: kept } : rest;
}

const byKey = (key: (x: any) => string) => (a: any, b: any) => key(a).localeCompare(key(b));

/** The normalised kernel state of one namespace. */
export function dumpNamespace(ns: string): NamespaceDump[string] {
  const links = ipJson(ns, '-d', 'link', 'show').map(normaliseLink).sort(byKey((l) => String(l.ifname)));
  const addrs = ipJson(ns, 'addr', 'show').map(normaliseAddr).sort(byKey((a) => String(a.ifname)));
  const routes = [
    ...ipJson(ns, '-d', '-4', 'route', 'show', 'table', 'all'),
    ...ipJson(ns, '-d', '-6', 'route', 'show', 'table', 'all'),
  ]
    // host routes of fe80:: addresses (local table) carry the random MAC-derived address
    .filter((r) => !(String(r.dst).startsWith('fe80:') && r.dst !== 'fe80::/64'))
    .map(normaliseRoute)
    .sort(byKey((r) => JSON.stringify(r)));
  return { links, addrs, routes };
}

export function dumpNamespaces(names: string[]): NamespaceDump {
  return Object.fromEntries([...names].sort().map((ns) => [ns, dumpNamespace(ns)]));
}
