/**
 * Why traffic across an IPsec tunnel failed, for the message of the check that saw it: "the IPsec
 * SA of tunnel "tun0" never came up (IKE authentication failed: the pre-shared keys differ)" says
 * more than "100% loss". Looks at the strongSwan state of each IKE tunnel's first end and the ESP
 * error counters of static-key tunnels. Never throws: a diagnosis that cannot be made is omitted.
 */
import { inNetns, type Executor } from '../exec/executor.js';
import type { Lab, Tunnel } from '../model/types.js';
import { charonLogTail, ipsecArgv } from './await.js';
import { ipsecDir } from './paths.js';
import { installed, negotiationHints, ovsPortConns, parseIpsecStatus } from './status.js';
import { ikeConnsFor } from './strongswan.js';

export interface DiagnoseOptions {
  execFor: (host: string) => Executor;
  /** Root of the lab's run directories (where each simulated host's IKE daemon keeps its files). */
  runRoot: string;
}

function port(t: Tunnel): number | undefined {
  return t.type === 'geneve' ? (t.geneve?.dstport ?? 6081) : t.type === 'vxlan' ? (t.vxlan?.dstport ?? 4789) : undefined;
}

async function ikeProblem(lab: Lab, t: Tunnel, o: DiagnoseOptions): Promise<string | undefined> {
  const end = t.ends[0];
  const h = lab.hosts.find((x) => x.name === end.host)!;
  const local = h.placement.kind === 'netns';
  const target = { exec: o.execFor(h.name), ns: local ? h.ns : '', ...(local ? { ipsecDir: ipsecDir(o.runRoot, lab.name, h.name) } : {}) };
  const st = await target.exec.run([...ipsecArgv(target), 'status'], { timeoutMs: 10_000 });
  if (st.exitCode !== 0 && !st.stdout) return `the IPsec SA of tunnel "${t.name}" cannot be checked: strongSwan on host "${h.name}" does not answer (${st.stderr.trim().split('\n').pop() ?? ''})`;
  const status = parseIpsecStatus(st.stdout);
  const conns = end.impl === 'ovs' ? ovsPortConns(status.routed.concat(status.children.map((c) => c.conn)), end.ifname) : ikeConnsFor(t.name, t.type, end.local, end.remote, port(t)).map((c) => c.name);
  if (conns.length && conns.every((c) => installed(status, c))) return undefined;
  const log = await charonLogTail(target, 300);
  const hints = negotiationHints(log);
  return `the IPsec SA of tunnel "${t.name}" never came up (${end.local} ⇄ ${end.remote}${hints.length ? `: ${hints.join('; ')}` : conns.length ? '' : ': no strongSwan connection for it on host "' + h.name + '"'})`;
}

/** Per-namespace ESP counters: an SA that rejects what it receives means the keys differ. */
async function staticProblem(lab: Lab, t: Tunnel, o: DiagnoseOptions): Promise<string | undefined> {
  const bad: string[] = [];
  for (const end of t.ends) {
    const h = lab.hosts.find((x) => x.name === end.host)!;
    const r = await o.execFor(h.name).run(inNetns(h.placement.kind === 'netns' ? h.ns : undefined, ['cat', '/proc/net/xfrm_stat']), { timeoutMs: 10_000 });
    const n = Number(/XfrmInStateProtoError\s+(\d+)/.exec(r.stdout)?.[1] ?? 0);
    if (n > 0) bad.push(`host "${h.name}" rejected ${n} ESP packet(s) that failed authentication (XfrmInStateProtoError)`);
  }
  return bad.length ? `the static IPsec SAs of tunnel "${t.name}" do not match: ${bad.join('; ')} — the two ends' keys differ` : undefined;
}

export async function diagnoseIpsec(lab: Lab, o: DiagnoseOptions): Promise<string | undefined> {
  const found: string[] = [];
  for (const t of lab.tunnels) {
    if (!t.ipsec) continue;
    try {
      const p = t.ipsec.psk ? await ikeProblem(lab, t, o) : await staticProblem(lab, t, o);
      if (p) found.push(p);
    } catch {
      /* no diagnosis, not a new failure */
    }
  }
  return found.length ? found.join('; ') : undefined;
}
