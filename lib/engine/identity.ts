/**
 * Which namespace is THE one a lab created, not merely one with the same name.
 *
 * A named namespace is a bind mount of an nsfs inode at /run/netns/NAME. Its identity here is
 * `dev:ino:ctime` of that inode (stat follows the bind mount to the nsfs inode):
 * - dev:ino alone is not enough: the kernel hands namespace inode numbers out again (lowest
 *   free number first), so `ip netns del X; ip netns add X` very often gives the new namespace
 *   the old number;
 * - the nsfs inode's ctime is set when that inode is made (when the namespace is first bound to
 *   a name) and does not change while the name holds it, so a re-created namespace differs.
 * An ownership decision uses it only as a second proof beside the lab's tag (lo's alias): a
 * namespace is the lab's when it carries the tag OR its identity is the one journaled when the
 * lab created it.
 *
 * A stale entry is a file under /run/netns with no namespace mounted on it (a crash between
 * creating the file and the bind mount, or a namespace made inside another mount namespace
 * that has ended).
 */
import { lstatSync, statSync } from 'node:fs';
import type { Executor } from '../exec/executor.js';

export const NETNS_DIR = '/run/netns';

const nsPath = (ns: string) => `${NETNS_DIR}/${ns}`;

/** `dev:ino:sec.nsec` from the numbers of a stat. */
function format(dev: bigint | number, ino: bigint | number, sec: bigint | number, nsec: bigint | number): string {
  return `${dev}:${ino}:${sec}.${String(nsec).padStart(9, '0')}`;
}

/** The identity of namespace `ns` of this machine, or undefined when there is none (or a stale entry). */
export function localNamespaceIdentity(ns: string): string | undefined {
  try {
    const s = statSync(nsPath(ns), { bigint: true });
    // A stale entry is a plain file of /run's filesystem; a namespace is on nsfs (a different dev).
    if (s.dev === lstatParentDev()) return undefined;
    return format(s.dev, s.ino, s.ctimeNs / 1_000_000_000n, s.ctimeNs % 1_000_000_000n);
  } catch {
    return undefined;
  }
}

function lstatParentDev(): bigint | undefined {
  try {
    return lstatSync(NETNS_DIR, { bigint: true }).dev;
  } catch {
    return undefined;
  }
}

/** Parse `stat -L -c '%d:%i:%Z %z'` output ("4:4026532174:1796529405 2026-12-06 03:56:45.561380273 +0000"). */
export function parseStatIdentity(text: string): string | undefined {
  const m = /^(\d+):(\d+):(\d+) \S+ \d+:\d+:\d+(?:\.(\d+))?/.exec(text.trim());
  if (!m) return undefined;
  return format(BigInt(m[1]!), BigInt(m[2]!), BigInt(m[3]!), BigInt((m[4] ?? '0').padEnd(9, '0').slice(0, 9)));
}

/**
 * Identities of namespaces of the machine `exec` runs on: in-process here, one `stat` for all
 * of them over SSH. Names without a namespace (absent, or a stale entry) are left out.
 */
export async function namespaceIdentities(exec: Executor, names: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!names.length) return out;
  if (exec.where === 'local') {
    for (const ns of names) {
      const id = localNamespaceIdentity(ns);
      if (id) out.set(ns, id);
    }
    return out;
  }
  // `stat -L` of each entry and of the directory itself: an entry on the directory's own
  // filesystem (same dev) is a stale file, not a namespace.
  const r = await exec.run(['stat', '-L', '-c', '%d:%i:%Z %z', NETNS_DIR, ...names.map(nsPath)]);
  const lines = r.stdout.split('\n');
  const dirDev = lines[0]?.split(':')[0];
  // stat prints nothing for a name it cannot stat, so match lines to names by re-asking when short.
  if (lines.filter(Boolean).length !== names.length + 1) {
    for (const ns of names) {
      const one = await exec.run(['stat', '-L', '-c', '%d:%i:%Z %z', nsPath(ns)]);
      const id = one.exitCode === 0 ? parseStatIdentity(one.stdout) : undefined;
      if (id && id.split(':')[0] !== dirDev) out.set(ns, id);
    }
    return out;
  }
  names.forEach((ns, i) => {
    const id = parseStatIdentity(lines[i + 1] ?? '');
    if (id && id.split(':')[0] !== dirDev) out.set(ns, id);
  });
  return out;
}

/** The identity of one namespace (see namespaceIdentities). */
export async function namespaceIdentity(exec: Executor, ns: string): Promise<string | undefined> {
  return (await namespaceIdentities(exec, [ns])).get(ns);
}

/**
 * Entries under /run/netns of this machine that are files with no namespace mounted on them.
 * Only names in `candidates` are looked at (gc passes the names its labs' states know).
 */
export function staleLocalEntries(candidates: Iterable<string>): string[] {
  const dirDev = lstatParentDev();
  if (dirDev === undefined) return [];
  const out: string[] = [];
  for (const ns of candidates) {
    try {
      const s = statSync(nsPath(ns), { bigint: true });
      if (s.dev === dirDev && s.isFile()) out.push(ns);
    } catch {
      /* absent */
    }
  }
  return out;
}
