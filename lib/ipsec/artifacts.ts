/**
 * What a failed run keeps of each host's IPsec (lib/report/artifacts.ts writes it): strongSwan's
 * status, the kernel's policies and SAs (keys redacted), and the logs of charon and
 * ovs-monitor-ipsec. Never a secrets file.
 */
import { inNetns, shellQuote, type Executor } from '../exec/executor.js';
import type { Lab } from '../model/types.js';
import { ipsecArgv } from './await.js';
import { ipsecDir, ipsecPaths } from './paths.js';
import { redactPskText, redactXfrmKeys } from './redact.js';

export async function ipsecDumps(lab: Lab, host: string, ex: Executor, runRoot: string): Promise<[string, string][]> {
  const h = lab.hosts.find((x) => x.name === host);
  if (!h || !lab.tunnels.some((t) => t.ipsec && t.ends.some((e) => e.host === host))) return [];
  const local = h.placement.kind === 'netns';
  const ns = local ? h.ns : undefined;
  const dir = local ? ipsecDir(runRoot, lab.name, host) : undefined;
  const run = async (argv: string[]) => {
    const r = await ex.run(argv, { timeoutMs: 10_000 });
    return r.exitCode === 0 ? r.stdout : `${shellQuote(argv)} failed (exit ${r.exitCode})\n${r.stderr.trim()}\n`;
  };
  const out: [string, string][] = [
    ['xfrm-policy.txt', await run(inNetns(ns, ['ip', 'xfrm', 'policy']))],
    ['xfrm-state.txt', redactXfrmKeys(await run(inNetns(ns, ['ip', '-s', 'xfrm', 'state'])))],
  ];
  if (lab.tunnels.some((t) => t.ipsec?.psk && t.ends.some((e) => e.host === host))) {
    out.push(['ipsec-statusall.txt', await run([...ipsecArgv({ exec: ex, ns: ns ?? '', ...(dir ? { ipsecDir: dir } : {}) }), 'statusall'])]);
    if (dir) {
      const p = ipsecPaths(dir);
      for (const [name, file] of [['charon.log', p.charonLog], ['ovs-monitor-ipsec.log', p.monitorLog]] as const) {
        const r = await ex.run(['cat', file]);
        if (r.exitCode === 0) out.push([name, redactPskText(r.stdout)]);
      }
    }
  }
  return out;
}
