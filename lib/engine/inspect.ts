/**
 * Read-only views of kernel state through `ip -j`, used by converge, status, down and gc.
 * (Independent of the backend that created the objects.)
 */
import type { Executor } from '../exec/executor.js';

export interface NsInfo {
  name: string;
  tag?: string;
}

export interface LinkInfo {
  ifname: string;
  ifalias?: string;
  operstate?: string;
  mtu?: number;
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
  [k: string]: unknown;
}

function parseJson<T>(text: string, fallback: T): T {
  const t = text.trim();
  if (!t) return fallback;
  try {
    return JSON.parse(t) as T;
  } catch {
    return fallback;
  }
}

export async function listNetns(exec: Executor): Promise<string[]> {
  const r = await exec.run(['ip', '-j', 'netns', 'list']);
  if (r.exitCode !== 0) return [];
  return parseJson<{ name: string }[]>(r.stdout, []).map((n) => n.name);
}

/** The ownership tag of a namespace: the alias of its `lo`. */
export async function netnsTag(exec: Executor, ns: string): Promise<string | undefined> {
  const r = await exec.run(['ip', '-n', ns, '-j', 'link', 'show', 'dev', 'lo']);
  if (r.exitCode !== 0) return undefined;
  return parseJson<LinkInfo[]>(r.stdout, [])[0]?.ifalias;
}

export async function links(exec: Executor, ns?: string): Promise<LinkInfo[]> {
  const r = await exec.run(ns ? ['ip', '-n', ns, '-d', '-j', 'link', 'show'] : ['ip', '-d', '-j', 'link', 'show']);
  if (r.exitCode !== 0) return [];
  return parseJson<LinkInfo[]>(r.stdout, []);
}

export async function netnsPids(exec: Executor, ns: string): Promise<number[]> {
  const r = await exec.run(['ip', 'netns', 'pids', ns]);
  if (r.exitCode !== 0) return [];
  return r.stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

