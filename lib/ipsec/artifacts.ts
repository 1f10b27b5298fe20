/**
 * What a failed run keeps of each host's IPsec (lib/report/artifacts.ts writes it): strongSwan's
 * status, the kernel's policies and SAs (keys redacted), and the logs of charon and
 * ovs-monitor-ipsec (on an SSH host: charon's journal, the monitor's log and the ipsec.conf it
 * generated). Never a secrets file.
 */
import { inNetns, shellQuote, type Executor } from '../exec/executor.js';
import type { Lab } from '../model/types.js';
import { charonLogTail, ipsecArgv } from './await.js';
import { ipsecDir, ipsecPaths } from './paths.js';
import { redactPskText, redactXfrmKeys } from './redact.js';

/** Where Debian's (and OVS's own packaging's) openvswitch-ipsec service logs ovs-monitor-ipsec. */
export const SERVICE_MONITOR_LOG = '/var/log/openvswitch/ovs-monitor-ipsec.log';

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
    const target = { exec: ex, ns: ns ?? '', ...(dir ? { ipsecDir: dir } : {}) };
    out.push(['ipsec-statusall.txt', await run([...ipsecArgv(target), 'statusall'])]);
    if (dir) {
      const p = ipsecPaths(dir);
      for (const [name, file] of [['charon.log', p.charonLog], ['ovs-monitor-ipsec.log', p.monitorLog]] as const) {
        const r = await ex.run(['cat', file]);
        if (r.exitCode === 0) out.push([name, redactPskText(r.stdout)]);
      }
    } else {
      // The machine's own openvswitch-ipsec: charon's journal, the monitor's log, the ipsec.conf the
      // monitor generated (no secret in it, redacted all the same) and charon's plugins (which
      // algorithms it can run). Never ipsec.secrets.
      const charon = await charonLogTail(target, 2000, true);
      if (charon) out.push(['charon.log', redactPskText(charon)]);
      for (const [name, argv] of [
        ['ovs-monitor-ipsec.log', ['tail', '-n', '1000', SERVICE_MONITOR_LOG]],
        ['ipsec.conf', ['cat', '/etc/ipsec.conf']],
        ['ipsec-listplugins.txt', [...ipsecArgv(target), 'listplugins']],
      ] as const) {
        const r = await ex.run([...argv], { timeoutMs: 10_000 });
        if (r.exitCode === 0) out.push([name, redactPskText(r.stdout)]);
      }
    }
  }
  return out;
}
