/**
 * Removing a lab namespace safely: only when it carries our tag (or the journal proves we
 * created it), after stopping every process still running inside it (an iperf3 server or an
 * OVS daemon would otherwise keep the namespace alive after `ip netns del`).
 */
import type { Executor } from '../exec/executor.js';
import { shellQuote } from '../exec/executor.js';
import type { OpFailure } from '../errors.js';
import { listNetns, netnsPids, netnsTag } from './inspect.js';
import { parseIpFailure } from '../backends/iproute2/errors.js';

export type RemoveOutcome = 'removed' | 'absent' | 'foreign';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Signal pids where the namespace is: this process's kill() locally, `kill` on an SSH host. */
async function signal(exec: Executor, pids: number[], sig: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (exec.where !== 'local') {
    await exec.run(['kill', `-${sig.slice(3)}`, '--', ...pids.map(String)]);
    return;
  }
  for (const p of pids) {
    try {
      process.kill(p, sig);
    } catch {
      /* already gone */
    }
  }
}

export async function killNamespaceProcesses(exec: Executor, ns: string, graceMs = 3000): Promise<void> {
  let pids = await netnsPids(exec, ns);
  if (!pids.length) return;
  await signal(exec, pids, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (Date.now() < until) {
    await sleep(100);
    pids = await netnsPids(exec, ns);
    if (!pids.length) return;
  }
  await signal(exec, pids, 'SIGKILL');
  await sleep(100);
}

export async function removeNamespace(
  exec: Executor,
  ns: string,
  tag: string,
  opts: { allowUntagged?: boolean; subject?: string } = {},
): Promise<{ outcome: RemoveOutcome; failure?: OpFailure }> {
  if (!(await listNetns(exec)).includes(ns)) return { outcome: 'absent' };
  const t = await netnsTag(exec, ns);
  if (t !== tag && !(opts.allowUntagged && (t === undefined || t === ''))) return { outcome: 'foreign' };
  await killNamespaceProcesses(exec, ns);
  const argv = ['ip', 'netns', 'del', ns];
  const r = await exec.run(argv);
  if (r.exitCode !== 0) {
    return {
      outcome: 'foreign',
      failure: { subject: opts.subject ?? `namespace "${ns}"`, ns, request: shellQuote(argv), ...parseIpFailure(r.stderr), stderr: r.stderr.trim() },
    };
  }
  return { outcome: 'removed' };
}
