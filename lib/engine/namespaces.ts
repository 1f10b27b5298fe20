/**
 * Removing lab namespaces safely: only when a namespace carries our tag, or its identity is the
 * one the journal recorded when the lab created it (identity.ts) — never by name alone — after
 * stopping every process still running inside it (an iperf3 server or an OVS daemon would
 * otherwise keep the namespace alive after `ip netns del`).
 *
 * A lab of hundreds of namespaces comes down as one batch per machine: one listing of the
 * namespaces, one tag read per namespace, one /proc scan for the processes inside all of them,
 * then the deletions in a tight loop. On this machine, with the netlink backend, the tag read
 * and the deletion happen in-process (no process per namespace).
 */
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import type { Executor } from '../exec/executor.js';
import type { Backend } from '../backends/backend.js';
import { OpError } from '../errors.js';
import { shellQuote } from '../exec/executor.js';
import type { OpFailure } from '../errors.js';
import { listNetns, netnsPids, netnsTag } from './inspect.js';
import { parseIpFailure } from '../backends/iproute2/errors.js';
import { namespaceIdentities } from './identity.js';

export type RemoveOutcome = 'removed' | 'absent' | 'foreign';

export interface NamespaceToRemove {
  ns: string;
  /**
   * The identity journaled when the lab created it: without the tag (a crash before tagging,
   * or a tag someone removed) the namespace is still the lab's when its identity is this one.
   * A namespace with neither is someone else's, even under the lab's name.
   */
  identity?: string;
  /** Names the object in a failure (default `namespace "NS"`). */
  subject?: string;
}

export interface RemoveResult {
  ns: string;
  outcome: RemoveOutcome;
  failure?: OpFailure;
}

export interface RemoveOptions {
  /** The local backend: with `netnsTag` it reads tags and deletes namespaces in-process. */
  backend?: Backend;
  /** The machine's namespace names when the caller already listed them (saves a listing). */
  present?: ReadonlySet<string>;
  /** How long processes get after SIGTERM before SIGKILL. */
  graceMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NETNS_DIR = '/run/netns';

/** The named namespaces of a machine: a directory read here, `ip netns list` elsewhere. */
export async function namespaceNames(exec: Executor): Promise<Set<string>> {
  if (exec.where !== 'local') return new Set(await listNetns(exec));
  try {
    return new Set(readdirSync(NETNS_DIR));
  } catch {
    return new Set(); // no /run/netns yet: no named namespace
  }
}

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

/** The nsfs identity (`net:[INODE]`) of each named namespace of this machine that still exists. */
function localIdentities(names: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const ns of names) {
    try {
      out.set(`net:[${statSync(`${NETNS_DIR}/${ns}`).ino}]`, ns);
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/**
 * Processes of this machine inside any of the given namespaces, from ONE pass over /proc
 * (comparing each /proc/PID/ns/net with the namespaces' identities) instead of one
 * `ip netns pids` (itself a /proc scan) per namespace.
 */
function localPidsIn(identities: Map<string, string>): number[] {
  if (!identities.size) return [];
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (d.charCodeAt(0) > 57 || !/^\d+$/.test(d)) continue;
    try {
      if (identities.has(readlinkSync(`/proc/${d}/ns/net`))) out.push(Number(d));
    } catch {
      /* exited meanwhile, or a kernel thread */
    }
  }
  return out;
}

/**
 * Stop every process inside the namespaces: SIGTERM, up to `graceMs` to exit, then SIGKILL.
 * Locally one /proc scan covers all namespaces (a rescan only while some process is left).
 */
async function killProcessesIn(exec: Executor, names: readonly string[], graceMs: number): Promise<void> {
  if (!names.length) return;
  let find: () => Promise<number[]>;
  if (exec.where === 'local') {
    const ids = localIdentities(names);
    find = async () => localPidsIn(ids);
  } else {
    find = async () => (await Promise.all(names.map((ns) => netnsPids(exec, ns)))).flat();
  }
  let pids = await find();
  if (!pids.length) return;
  await signal(exec, pids, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (Date.now() < until) {
    await sleep(100);
    pids = await find();
    if (!pids.length) return;
  }
  await signal(exec, pids, 'SIGKILL');
  await sleep(100);
}

/** Stop every process inside one namespace (see killProcessesIn). */
export async function killNamespaceProcesses(exec: Executor, ns: string, graceMs = 3000): Promise<void> {
  await killProcessesIn(exec, [ns], graceMs);
}

/**
 * Remove namespaces of one machine that belong to the lab with `tag`. A namespace is removed
 * only when its tag is `tag` or its identity is the journaled one (`identity`); any other is
 * left alone and reported as 'foreign'. Results come back in the order asked.
 */
export async function removeNamespaces(
  exec: Executor,
  wanted: readonly NamespaceToRemove[],
  tag: string,
  opts: RemoveOptions = {},
): Promise<RemoveResult[]> {
  const local = exec.where === 'local';
  const inProcess = local && opts.backend?.netnsTag !== undefined ? opts.backend : undefined;
  const present = opts.present ?? (await namespaceNames(exec));
  const results = new Map<string, RemoveResult>();
  const ours: NamespaceToRemove[] = [];
  const untagged: NamespaceToRemove[] = [];
  for (const w of wanted) {
    if (results.has(w.ns) || ours.some((o) => o.ns === w.ns) || untagged.some((o) => o.ns === w.ns)) continue;
    if (!present.has(w.ns)) {
      results.set(w.ns, { ns: w.ns, outcome: 'absent' });
      continue;
    }
    const t = inProcess ? await inProcess.netnsTag!(w.ns) : await netnsTag(exec, w.ns);
    if (t === tag) ours.push(w);
    else if (w.identity) untagged.push(w);
    else results.set(w.ns, { ns: w.ns, outcome: 'foreign' });
  }
  // Without the tag, only the identity recorded at creation proves it is still the lab's namespace.
  if (untagged.length) {
    const now = await namespaceIdentities(exec, untagged.map((w) => w.ns));
    for (const w of untagged) {
      if (now.get(w.ns) === w.identity) ours.push(w);
      else results.set(w.ns, { ns: w.ns, outcome: now.has(w.ns) ? 'foreign' : 'absent' });
    }
  }

  await killProcessesIn(
    exec,
    ours.map((o) => o.ns),
    opts.graceMs ?? 3000,
  );

  for (const { ns, subject = `namespace "${ns}"` } of ours) {
    if (inProcess) {
      try {
        await inProcess.run({ id: 0, subject, op: { op: 'netns.del', ns }, undo: null });
        results.set(ns, { ns, outcome: 'removed' });
      } catch (e) {
        if (!(e instanceof OpError)) throw e;
        results.set(ns, { ns, outcome: 'foreign', failure: { ...e.failure, ns } });
      }
      continue;
    }
    const argv = ['ip', 'netns', 'del', ns];
    const r = await exec.run(argv);
    results.set(
      ns,
      r.exitCode === 0
        ? { ns, outcome: 'removed' }
        : { ns, outcome: 'foreign', failure: { subject, ns, request: shellQuote(argv), ...parseIpFailure(r.stderr), stderr: r.stderr.trim() } },
    );
  }
  return wanted.map((w) => results.get(w.ns)!);
}

/** Remove one namespace (see removeNamespaces). */
export async function removeNamespace(
  exec: Executor,
  ns: string,
  tag: string,
  opts: { identity?: string; subject?: string; backend?: Backend } = {},
): Promise<{ outcome: RemoveOutcome; failure?: OpFailure }> {
  const [r] = await removeNamespaces(
    exec,
    [{ ns, ...(opts.identity ? { identity: opts.identity } : {}), ...(opts.subject ? { subject: opts.subject } : {}) }],
    tag,
    opts.backend ? { backend: opts.backend } : {},
  );
  return { outcome: r!.outcome, ...(r!.failure ? { failure: r!.failure } : {}) };
}

/**
 * The namespaces of a machine tagged `tag`, among those whose names start with `prefix`: one
 * listing, then one tag read each (in-process through the local backend where it can).
 */
export async function taggedNamespaces(
  exec: Executor,
  tag: string | ((t: string) => boolean),
  opts: { prefix?: string; backend?: Backend; present?: ReadonlySet<string> } = {},
): Promise<{ ns: string; tag: string }[]> {
  const inProcess = exec.where === 'local' && opts.backend?.netnsTag !== undefined ? opts.backend : undefined;
  const matches = typeof tag === 'string' ? (t: string) => t === tag : tag;
  const out: { ns: string; tag: string }[] = [];
  for (const ns of opts.present ?? (await namespaceNames(exec))) {
    if (opts.prefix && !ns.startsWith(opts.prefix)) continue;
    const t = inProcess ? await inProcess.netnsTag!(ns) : await netnsTag(exec, ns);
    if (t !== undefined && matches(t)) out.push({ ns, tag: t });
  }
  return out;
}
