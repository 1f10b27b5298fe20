/**
 * Artifacts for a failed run, written to a directory a human (or CI) can open later:
 * per failed check its message, figures and the tool's raw output; per lab namespace the
 * kernel's own view (`ip -d -j link/addr`, routes, neighbours). Pcaps are already written
 * there by capture checks (their path is in the result's figures).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckResult } from '../checks/result.js';
import { inNetns, shellQuote, type Executor } from '../exec/executor.js';
import type { Lab } from '../model/types.js';

export function safeFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^\.+/, '_') || '_';
}

/** Every namespace the lab owns, once, with the host it lives on (for SSH placements). */
export function labNamespaces(lab: Lab): { ns: string; host?: string }[] {
  const seen = new Map<string, { ns: string; host?: string }>();
  const add = (ns: string | undefined, host?: string) => {
    if (ns && !seen.has(ns)) seen.set(ns, { ns, ...(host ? { host } : {}) });
  };
  for (const n of lab.networks) add(n.ns);
  for (const h of lab.hosts) if (h.placement.kind === 'netns') add(h.ns);
  for (const g of lab.guests) add(g.ns, g.host);
  return [...seen.values()];
}

/** The `ip` commands whose JSON is kept per namespace (file suffix → argv). */
export const NAMESPACE_DUMPS: Record<string, string[]> = {
  'link.json': ['ip', '-d', '-j', 'link', 'show'],
  'addr.json': ['ip', '-d', '-j', 'addr', 'show'],
  'route4.json': ['ip', '-j', '-4', 'route', 'show', 'table', 'all'],
  'route6.json': ['ip', '-j', '-6', 'route', 'show', 'table', 'all'],
  'neigh.json': ['ip', '-j', 'neigh', 'show'],
};

export interface ArtifactsOptions {
  /** Executor for a host (SSH placements); default: `exec`. */
  execForHost?: (host: string) => Executor;
  /** Write only when some check did not pass (default true). */
  onlyOnFailure?: boolean;
}

/**
 * Write artifacts to `dir`. Returns the files written (empty when everything passed and
 * onlyOnFailure). Never throws because a dump failed: the error text is written instead.
 */
export async function writeArtifacts(dir: string, lab: Lab, results: CheckResult[], exec: Executor, opts: ArtifactsOptions = {}): Promise<string[]> {
  const bad = results.filter((r) => r.status !== 'passed');
  if ((opts.onlyOnFailure ?? true) && bad.length === 0) return [];
  const files: string[] = [];
  const put = async (rel: string, text: string) => {
    const f = join(dir, rel);
    await mkdir(join(f, '..'), { recursive: true });
    await writeFile(f, text);
    files.push(f);
  };
  for (const r of opts.onlyOnFailure === false ? results : bad) {
    const base = join('checks', safeFileName(r.name));
    const figures = Object.entries(r.figures).map(([k, v]) => `  ${k}: ${v}`).join('\n');
    await put(`${base}.txt`, `check: ${r.name} (${r.kind})\nwhat: ${r.what}\nresult: ${r.status}\n${r.message ? `message: ${r.message}\n` : ''}time: ${r.durationMs} ms\nfigures:\n${figures}\n\n${r.raw ?? '(no raw output)'}\n`);
    if (r.details !== undefined) await put(`${base}.details.json`, JSON.stringify(r.details, null, 2) + '\n');
  }
  for (const { ns, host } of labNamespaces(lab)) {
    const ex = host && opts.execForHost ? opts.execForHost(host) : exec;
    for (const [suffix, argv] of Object.entries(NAMESPACE_DUMPS)) {
      const full = inNetns(ns, argv);
      const r = await ex.run(full, { timeoutMs: 10_000 });
      const text = r.exitCode === 0 ? r.stdout : JSON.stringify({ error: `${shellQuote(full)} failed (exit ${r.exitCode})`, stderr: r.stderr.trim() }, null, 2) + '\n';
      await put(join('netns', safeFileName(ns), suffix), text);
    }
  }
  await put('summary.json', JSON.stringify({ lab: lab.name, written: new Date().toISOString(), checks: results.map(({ raw: _raw, details: _d, ...r }) => r) }, null, 2) + '\n');
  return files;
}
