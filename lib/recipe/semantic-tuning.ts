/**
 * Where link tuning (`offloads:`, `gso_max_size`, `gro_max_size`) cannot apply, said at validation:
 * an SSH host's interfaces are the machine's real NICs; a tunnel whose ends are all OVS ports has
 * no kernel device to tune; a guest's `offload:` and `offloads:` must not disagree.
 */
import type { Path } from './locate.js';
import type { RawRecipe } from './schema.js';

type Err = (path: Path, msg: string) => void;

const TUNING_KEYS = ['offloads', 'gso_max_size', 'gro_max_size'] as const;

function tuned(o: Partial<Record<(typeof TUNING_KEYS)[number], unknown>>): (typeof TUNING_KEYS)[number] | undefined {
  return TUNING_KEYS.find((k) => o[k] !== undefined);
}

/** ethtool's short names and the long names of the four legacy guest `offload:` keys. */
const LEGACY_ALIASES: Record<string, string[]> = {
  tx: ['tx', 'tx-checksumming'],
  tso: ['tso', 'tcp-segmentation-offload', 'tx-tcp-segmentation'],
  gso: ['gso', 'generic-segmentation-offload', 'tx-generic-segmentation'],
  gro: ['gro', 'generic-receive-offload', 'rx-gro'],
};

export function checkLinkTuning(r: RawRecipe, err: Err, tunnelImpls: ((('kernel' | 'ovs')[]) | undefined)[]): void {
  (r.hosts ?? []).forEach((h, hi) =>
    (h.interfaces ?? []).forEach((f, fi) => {
      const k = tuned(f);
      if (k && h.ssh !== undefined)
        err(['hosts', hi, 'interfaces', fi, k], `host "${h.name}" is an SSH host and this interface is its real NIC; geneve-lab tunes only links it created — tune a guest or the tunnel instead`);
    }),
  );
  (r.guests ?? []).forEach((g, gi) => {
    if (!g.offload || !g.offloads) return;
    for (const [legacy, on] of Object.entries(g.offload)) {
      if (typeof on !== 'boolean') continue;
      for (const name of LEGACY_ALIASES[legacy] ?? []) {
        const v = g.offloads[name];
        if (v !== undefined && v !== on)
          err(['guests', gi, 'offloads', name], `offloads.${name}: ${v ? 'on' : 'off'} contradicts offload.${legacy}: ${on}; say it once (offloads: takes every ethtool feature, offload: only tx/tso/gso/gro)`);
      }
    }
  });
  (r.tunnels ?? []).forEach((t, ti) => {
    const k = tuned(t);
    const impls = tunnelImpls[ti];
    if (k && impls && !impls.includes('kernel'))
      err(['tunnels', ti, k], `both ends of tunnel "${t.name}" are OVS ports, which are not kernel devices; ${k} applies to kernel tunnel devices — tune the hosts' underlay interfaces instead, or attach an end to a Linux bridge`);
  });
}
