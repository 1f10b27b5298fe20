/**
 * Conflicts between tunnels that the kernel would only refuse at apply time (after changes,
 * with a message about one device): several kernel tunnel ends on one host — in one network
 * namespace — that the kernel cannot tell apart.
 *
 * - VXLAN: one device per (VNI, UDP port, address family) — "A VXLAN device with the specified
 *   VNI already exists" (EEXIST); an external (collect-metadata) device owns its UDP port: a second
 *   external one fails at add (EEXIST), any other VXLAN device on that port when it comes up (EADDRINUSE).
 * Per-end settings (`ends:`) are taken into account.
 * - Geneve: one device per (remote, VNI, UDP port) (EBUSY); and an external device shares its
 *   port with no other Geneve device ("There can be only one externally controlled device on a
 *   port" / "There already exists an externally controlled device on this port", EPERM).
 * OVS tunnel ports are not kernel devices (OVS shares one socket per port): not judged here.
 */
import type { Problem } from '../errors.js';
import type { Family } from '../model/types.js';
import type { Locator, Path } from './locate.js';
import type { RawRecipe } from './schema.js';
import type { TunnelDecision } from './semantic.js';
import { parseCidr } from './addr.js';

interface KernelEnd {
  tunnel: string;
  index: number;
  host: string;
  type: 'geneve' | 'vxlan';
  vni: number;
  port: number;
  family: Family;
  external: boolean;
  remote?: string;
  /** VXLAN over IPv6 with udp6zerocsumrx: the kernel keeps such a device apart (its receive flags differ). */
  zeroCsumRx?: boolean;
  /** Where a per-end setting made this end clash (`ends.<name>.vni`), else the tunnel's own field. */
  at?: Path;
}

const DEFAULT_PORT = { geneve: 6081, vxlan: 4789 } as const;

export function tunnelConflicts(r: RawRecipe, decisions: readonly (TunnelDecision | undefined)[], ifaceNetwork: readonly string[][], loc: Locator): Problem[] {
  const hosts = r.hosts ?? [];
  const addressOf = (host: string, network: string, family: Family): string | undefined => {
    const hi = hosts.findIndex((h) => h.name === host);
    const h = hosts[hi];
    if (!h) return undefined;
    const fi = (ifaceNetwork[hi] ?? []).indexOf(network);
    const a = h.interfaces?.[fi]?.[family];
    return a ? parseCidr(a)?.address : undefined;
  };
  const ends: KernelEnd[] = [];
  (r.tunnels ?? []).forEach((t, ti) => {
    const d = decisions[ti];
    const type = t.type ?? 'geneve';
    if (!d || (type !== 'geneve' && type !== 'vxlan')) return;
    d.hosts.forEach((host, i) => {
      if (d.impls[i] !== 'kernel') return;
      // Per-end settings (`ends:`) win over the tunnel's own.
      const name = (t.between as string[])[i]!;
      const e = t.ends?.[name];
      const own = e?.remote !== undefined && e.remote !== 'flow' ? e.remote : undefined;
      const remote = own ?? addressOf(d.hosts[1 - i]!, d.network, d.family);
      const field = e?.external !== undefined ? 'external' : e?.vni !== undefined ? 'vni' : e?.dstport !== undefined ? 'dstport' : undefined;
      ends.push({
        tunnel: t.name,
        index: ti,
        host,
        type,
        vni: e?.vni ?? t.vni ?? 0,
        port: e?.dstport ?? t.dstport ?? DEFAULT_PORT[type],
        family: d.family,
        external: (e?.external ?? t.external) === true,
        ...((e?.udp6zerocsumrx ?? t.udp6zerocsumrx) ? { zeroCsumRx: true } : {}),
        ...(remote ? { remote } : {}),
        ...(field ? { at: ['tunnels', ti, 'ends', name, field] as Path } : {}),
      });
    });
  });

  const problems: Problem[] = [];
  const reported = new Set<number>();
  const where = (e: KernelEnd): Path => {
    if (e.at) return e.at;
    const t = r.tunnels![e.index]!;
    return ['tunnels', e.index, t.external ? 'external' : t.vni !== undefined ? 'vni' : t.dstport !== undefined ? 'dstport' : 'between'];
  };
  const clash = (later: KernelEnd, earlier: KernelEnd, what: string, fix: string) => {
    if (reported.has(later.index)) return;
    reported.add(later.index);
    problems.push(loc.problem(where(later), `tunnel "${later.tunnel}" and tunnel "${earlier.tunnel}" ${what} on host "${later.host}"; the kernel refuses the second one — ${fix}`));
  };
  for (let j = 0; j < ends.length; j++)
    for (let i = 0; i < j; i++) {
      const a = ends[i]!;
      const b = ends[j]!;
      if (a.host !== b.host || a.type !== b.type || a.index === b.index) continue;
      if (a.type === 'vxlan') {
        if (a.port !== b.port) continue;
        // An external device holds the port's UDP socket for every VNI and family: any other VXLAN
        // device on that port fails when it comes up (EADDRINUSE), both external ones already at add.
        if (a.external || b.external) {
          if (a.external && b.external && a.family === b.family) clash(b, a, `would both be external (collect-metadata) VXLAN devices on UDP port ${b.port} over ${b.family}`, 'one external device serves every VNI of a port: keep one, or give the other another dstport');
          else clash(b, a, `would share UDP port ${b.port} with an external (collect-metadata) VXLAN device (EADDRINUSE when the second comes up)`, 'an external device must be the only VXLAN device on its port: give the other another dstport');
        } else if (a.family === b.family && a.vni === b.vni && Boolean(a.zeroCsumRx) === Boolean(b.zeroCsumRx)) clash(b, a, `would both be VXLAN devices with VNI ${b.vni} on UDP port ${b.port} over ${b.family}`, 'give one of them another vni or dstport');
        continue;
      }
      // Geneve
      if (a.port !== b.port) continue;
      if (a.external || b.external)
        clash(b, a, `would share UDP port ${b.port} with ${a.external && b.external ? 'two external Geneve devices' : 'an external (collect-metadata) Geneve device'}`, 'an external device must be the only Geneve device on its port: give the other another dstport');
      else if (a.vni === b.vni && a.remote !== undefined && a.remote === b.remote)
        clash(b, a, `would both be Geneve devices with VNI ${b.vni} to remote ${b.remote} on UDP port ${b.port}`, 'give one of them another vni or dstport');
    }
  return problems;
}
