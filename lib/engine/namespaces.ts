/**
 * Removing a lab namespace safely: only when it carries our tag (or the journal proves we
 * created it), after stopping every process still running inside it (an iperf3 server or an
 * OVS daemon would otherwise keep the namespace alive after `ip netns del`).
 */
import { existsSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import type { Executor } from '../exec/executor.js';
import type { Backend } from '../backends/backend.js';
import { OpError } from '../errors.js';
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

/**
 * Processes inside a namespace of this machine, found by comparing /proc/PID/ns/net with the
 * namespace's inode — in-process, instead of one `ip netns pids` per namespace.
 */
function localNetnsPids(ns: string): number[] {
  let ino: number;
  try {
    ino = statSync(`/run/netns/${ns}`).ino;
  } catch {
    return [];
  }
  const want = `net:[${ino}]`;
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readlinkSync(`/proc/${d}/ns/net`) === want) out.push(Number(d));
    } catch {
      /* exited meanwhile, or a kernel thread */
    }
  }
  return out;
}

const pidsIn = (exec: Executor, ns: string) => (exec.where === 'local' ? Promise.resolve(localNetnsPids(ns)) : netnsPids(exec, ns));

export async function killNamespaceProcesses(exec: Executor, ns: string, graceMs = 3000): Promise<void> {
  let pids = await pidsIn(exec, ns);
  if (!pids.length) return;
  await signal(exec, pids, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (Date.now() < until) {
    await sleep(100);
    pids = await pidsIn(exec, ns);
    if (!pids.length) return;
  }
  await signal(exec, pids, 'SIGKILL');
  await sleep(100);
}

export async function removeNamespace(
  exec: Executor,
  ns: string,
  tag: string,
  opts: { allowUntagged?: boolean; subject?: string; backend?: Backend } = {},
): Promise<{ outcome: RemoveOutcome; failure?: OpFailure }> {
  // On this machine the namespace list is a directory and the tag can be read in-process by
  // the netlink backend: a lab of hundreds of namespaces comes down without a process each.
  const local = exec.where === 'local';
  const exists = local ? existsSync(`/run/netns/${ns}`) : (await listNetns(exec)).includes(ns);
  if (!exists) return { outcome: 'absent' };
  const t = local && opts.backend?.netnsTag ? await opts.backend.netnsTag(ns) : await netnsTag(exec, ns);
  if (t !== tag && !(opts.allowUntagged && (t === undefined || t === ''))) return { outcome: 'foreign' };
  await killNamespaceProcesses(exec, ns);
  const subject = opts.subject ?? `namespace "${ns}"`;
  if (local && opts.backend?.netnsTag) {
    try {
      await opts.backend.run({ id: 0, subject, op: { op: 'netns.del', ns }, undo: null });
      return { outcome: 'removed' };
    } catch (e) {
      if (e instanceof OpError) return { outcome: 'foreign', failure: { ...e.failure, ns } };
      throw e;
    }
  }
  const argv = ['ip', 'netns', 'del', ns];
  const r = await exec.run(argv);
  if (r.exitCode !== 0) {
    return {
      outcome: 'foreign',
      failure: { subject, ns, request: shellQuote(argv), ...parseIpFailure(r.stderr), stderr: r.stderr.trim() },
    };
  }
  return { outcome: 'removed' };
}
