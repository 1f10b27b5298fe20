/**
 * The tunnel-offload features of a lab's interfaces, for `status` (issue 14, item 8): what
 * `ethtool -k` says about tx-udp_tnl-segmentation and tx-udp_tnl-csum-segmentation (and any other
 * tx-udp_tnl-* a kernel has), e.g. { "tx-udp_tnl-segmentation": "on", "…-csum-segmentation": "off [fixed]" }.
 */
import { inNetns, type Executor } from '../exec/executor.js';

/** Feature lines of `ethtool -k`: name → state as printed ("on", "off [fixed]"). */
export function parseEthtoolFeatures(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^\s*([a-z0-9_-]+): (on|off)( \[[^\]]+\])?\s*$/gm)) out[m[1]!] = m[2]! + (m[3] ?? '');
  return out;
}

export const TUNNEL_OFFLOAD = /^tx-udp_tnl-/;

/** The tx-udp_tnl-* features of one link, or undefined when ethtool cannot say (not installed, link gone). */
export async function tunnelOffloads(exec: Executor, ns: string | undefined, ifname: string): Promise<Record<string, string> | undefined> {
  const r = await exec.run(inNetns(ns, ['ethtool', '-k', ifname]), { timeoutMs: 5000 });
  if (r.exitCode !== 0) return undefined;
  const all = parseEthtoolFeatures(r.stdout);
  const tnl = Object.fromEntries(Object.entries(all).filter(([k]) => TUNNEL_OFFLOAD.test(k)));
  return Object.keys(tnl).length ? tnl : undefined;
}

/** One line for humans: "tx-udp_tnl-segmentation on, tx-udp_tnl-csum-segmentation off [fixed]". */
export function formatOffloads(o: Record<string, string>): string {
  return Object.entries(o)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}
