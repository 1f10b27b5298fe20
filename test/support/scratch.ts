/**
 * Scratch resources for one test — temp directories, namespaces, a veth pair between two
 * namespaces — each removed by t.teardown even when the test fails. Plain `ip` argv, nothing
 * from lib/, so fixtures cannot share a bug with the code under test.
 */
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });

/** A fresh directory under the system temp dir, removed with its contents on teardown. */
export function tempDir(t: ExecutionContext, prefix = 'gl-test-', parent = tmpdir()): string {
  const dir = mkdtempSync(join(parent, prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Delete namespaces (and every link in them); ones already gone are fine. */
export function deleteNamespaces(names: readonly string[]): void {
  for (const ns of names) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // already gone (or never created)
    }
  }
}

/** Add namespaces now; they are deleted on teardown. */
export function scratchNamespaces(t: ExecutionContext, ...names: string[]): string[] {
  t.teardown(() => deleteNamespaces(names));
  for (const ns of names) ip('netns', 'add', ns);
  return names;
}

export interface VethEnd {
  ns: string;
  ifname: string;
  /** CIDRs; IPv6 ones are added with nodad so they are usable at once. */
  addresses?: string[];
}

/**
 * A veth pair created inside `a.ns` with its peer moved straight to `b.ns` (so nothing ever
 * appears in the root namespace), addresses added and both ends up.
 */
export function vethPair(a: VethEnd, b: VethEnd): void {
  ip('-n', a.ns, 'link', 'add', a.ifname, 'type', 'veth', 'peer', 'name', b.ifname, 'netns', b.ns);
  for (const end of [a, b]) {
    for (const addr of end.addresses ?? []) ip('-n', end.ns, 'addr', 'add', addr, 'dev', end.ifname, ...(addr.includes(':') ? ['nodad'] : []));
    ip('-n', end.ns, 'link', 'set', end.ifname, 'up');
  }
}
