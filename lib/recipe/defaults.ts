/**
 * `defaults:` shallow-merged into every object of that kind before validation (the object's own
 * keys win). Merged keys have no place in the source, so problems in them point at the object.
 */
const LIST_KIND: Record<string, string> = {
  networks: 'network',
  hosts: 'host',
  routers: 'router',
  switches: 'switch',
  guests: 'guest',
  tunnels: 'tunnel',
};
const CHECK_KINDS = ['ping', 'iperf', 'mtu', 'capture', 'transfer'];

const isMap = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

export function applyDefaults(tree: Record<string, unknown>, defaults: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!defaults) return tree;
  const out = { ...tree };
  for (const [list, kind] of Object.entries(LIST_KIND)) {
    const d = defaults[kind];
    const items = out[list];
    if (isMap(d) && Array.isArray(items)) out[list] = items.map((o) => (isMap(o) ? { ...d, ...o } : o));
  }
  const mergeCheck = (c: unknown): unknown => {
    if (!isMap(c)) return c;
    const merged = { ...c };
    for (const k of CHECK_KINDS) {
      const d = defaults[k];
      if (isMap(d) && isMap(c[k])) merged[k] = { ...d, ...c[k] };
    }
    // The checks an impair step runs get the same defaults as top-level ones.
    if (Array.isArray(c.then)) merged.then = c.then.map(mergeCheck);
    return merged;
  };
  if (Array.isArray(out.checks)) out.checks = out.checks.map(mergeCheck);
  return out;
}
