/**
 * The lab's ESP keys, for the capture decoder: every SA in the namespaces of the hosts with an
 * IPsec tunnel end, read with `ip xfrm state` there (the kernel holds them, whether IKE negotiated
 * them or the recipe gave them). Kept in memory only; never written to artifacts or printed.
 */
import { inNetns, type Executor } from '../exec/executor.js';
import type { Lab } from '../model/types.js';
import type { EspSa } from '../wire/esp.js';
import { espKeyring, parseXfrmStates } from './xfrm.js';

export async function labEspSas(lab: Lab, execFor: (host: string) => Executor): Promise<EspSa[]> {
  const hosts = new Set(lab.tunnels.filter((t) => t.ipsec).flatMap((t) => t.ends.map((e) => e.host)));
  const out: EspSa[] = [];
  for (const name of hosts) {
    const h = lab.hosts.find((x) => x.name === name);
    if (!h) continue;
    const r = await execFor(name).run(inNetns(h.placement.kind === 'netns' ? h.ns : undefined, ['ip', 'xfrm', 'state']), { timeoutMs: 10_000 });
    if (r.exitCode === 0) out.push(...espKeyring(parseXfrmStates(r.stdout)));
  }
  return out;
}
