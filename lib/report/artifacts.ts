/**
 * Artifacts for a failed run, written to a directory a human (or CI) can open later:
 * per failed check its message, figures and the tool's raw output; per lab namespace the
 * kernel's own view (`ip -d -j link/addr`, routes, neighbours); per host running OVS, OVS's
 * view (bridges, OpenFlow flows per bridge, tunnel ports). Pcaps are already written there by
 * capture checks (their path is in the result's figures).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckResult } from '../checks/result.js';
import { inNetns, shellQuote, type Executor } from '../exec/executor.js';
import type { Lab } from '../model/types.js';
import { ofctlProtocolArgs } from '../model/ovs-program.js';
import { hostUsesOvs, ovsRunDir } from '../plan/ovs.js';
import { ovsEnv, ovsPaths } from '../ovs/paths.js';
import { ipsecDumps } from '../ipsec/artifacts.js';
import { redactPskText } from '../ipsec/redact.js';

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
  /** Root of the lab's OVS run directories (the engine's `<state dir>/run`; default as planLab's). */
  ovsRunRoot?: string;
  /** Write only when some check did not pass (default true). */
  onlyOnFailure?: boolean;
}

/**
 * Write artifacts to `dir`. Returns the files written (empty when everything passed and
 * onlyOnFailure). Never throws because a dump failed: the error text is written instead.
 */
export async function writeArtifacts(dir: string, lab: Lab, results: CheckResult[], exec: Executor, opts: ArtifactsOptions = {}): Promise<string[]> {
  // A step that was not run (skipped) has nothing to show; the failure before it does.
  const bad = results.filter((r) => r.status === 'failed' || r.status === 'error');
  if ((opts.onlyOnFailure ?? true) && bad.length === 0) return [];
  const files: string[] = [];
  const put = async (rel: string, text: string) => {
    const f = join(dir, rel);
    await mkdir(join(f, '..'), { recursive: true });
    await writeFile(f, text);
    files.push(f);
  };
  // Inner checks of a step (impair's `then`) get their own files, next to the step's.
  const all = results.flatMap((r) => [r, ...(r.children ?? [])]);
  for (const r of opts.onlyOnFailure === false ? all : all.filter((x) => x.status === 'failed' || x.status === 'error')) {
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
  for (const o of ovsInstances(lab, opts.ovsRunRoot)) {
    const ex = opts.execForHost ? opts.execForHost(o.host) : exec;
    for (const [file, text] of await ovsDumps(ex, o)) await put(join('ovs', safeFileName(o.host), file), text);
  }
  for (const h of lab.hosts) {
    const ex = opts.execForHost ? opts.execForHost(h.name) : exec;
    for (const [file, text] of await ipsecDumps(lab, h.name, ex, opts.ovsRunRoot ?? '/run/geneve-lab/run')) await put(join('ipsec', safeFileName(h.name), file), text);
  }
  await put('summary.json', JSON.stringify({ lab: lab.name, written: new Date().toISOString(), checks: results.map(summaryOf) }, null, 2) + '\n');
  return files;
}

type Summary = Omit<CheckResult, 'raw' | 'details' | 'children'> & { children?: Summary[] };
function summaryOf({ raw: _raw, details: _d, children, ...r }: CheckResult): Summary {
  return { ...r, ...(children ? { children: children.map(summaryOf) } : {}) };
}

/** An OVS instance the lab runs: the host, its namespace and the daemons' run directory. */
export interface OvsInstanceRef {
  host: string;
  ns: string;
  runDir: string;
  /** Per bridge, `-O VERSION` when its switch does not speak ovs-ofctl's default (lib/model/ovs-program.ts); absent when none needs it. */
  ofctlArgs?: Record<string, string[]>;
}

/** Every host of the lab that runs its own OVS daemons (simulated hosts with an OVS switch or port). */
export function ovsInstances(lab: Lab, runRoot = '/run/geneve-lab/run'): OvsInstanceRef[] {
  return lab.hosts
    .filter((h) => h.placement.kind === 'netns' && hostUsesOvs(lab, h.name))
    .map((h) => {
      const versions = lab.switches.filter((s) => s.host === h.name && s.kind === 'ovs' && ofctlProtocolArgs(s.program).length).map((s) => [s.ifname, ofctlProtocolArgs(s.program)] as const);
      return { host: h.name, ns: h.ns, runDir: ovsRunDir(runRoot, lab.name, h.name), ...(versions.length ? { ofctlArgs: Object.fromEntries(versions) } : {}) };
    });
}

/**
 * OVS's own view of one instance, as text files: `ovs-vsctl show`, `ovs-ofctl dump-flows` per
 * bridge, `ovs-appctl tnl/ports/show` (the tunnel ports vswitchd listens on) and the datapath
 * flows. A failed command leaves its error text in the file instead.
 */
export async function ovsDumps(ex: Executor, o: OvsInstanceRef): Promise<[string, string][]> {
  const p = ovsPaths(o.runDir);
  const env = ovsEnv(o.runDir);
  const run = async (argv: string[]) => {
    const full = inNetns(o.ns, argv);
    const r = await ex.run(full, { timeoutMs: 10_000, env });
    return { ok: r.exitCode === 0, stdout: r.stdout, text: r.exitCode === 0 ? r.stdout : `${shellQuote(full)} failed (exit ${r.exitCode})\n${r.stderr.trim()}\n` };
  };
  const vsctl = ['ovs-vsctl', `--db=unix:${p.dbSocket}`, '--timeout=5'];
  const out: [string, string][] = [];
  out.push(['vsctl-show.txt', redactPskText((await run([...vsctl, 'show'])).text)]);
  const brs = await run([...vsctl, 'list-br']);
  if (!brs.ok) out.push(['bridges.txt', brs.text]);
  const bridges = brs.ok ? brs.stdout.split('\n').map((l) => l.trim()).filter(Boolean) : [];
  for (const br of bridges) out.push([`flows-${safeFileName(br)}.txt`, (await run(['ovs-ofctl', '--timeout=5', ...(o.ofctlArgs?.[br] ?? []), 'dump-flows', br])).text]);
  out.push(['tnl-ports.txt', (await run(['ovs-appctl', '--timeout=5', '-t', p.vswitchdCtl, 'tnl/ports/show'])).text]);
  // The userspace datapath resolves a tunnel's next hop from its own neighbour cache (learned
  // from ARP/ND on the underlay bridge): an address missing there is a tunnel that sends nothing.
  out.push(['tnl-neigh.txt', (await run(['ovs-appctl', '--timeout=5', '-t', p.vswitchdCtl, 'tnl/neigh/show'])).text]);
  // …and the route to the remote from its own copy of the routing table.
  out.push(['tnl-routes.txt', (await run(['ovs-appctl', '--timeout=5', '-t', p.vswitchdCtl, 'ovs/route/show'])).text]);
  out.push(['dp-flows.txt', (await run(['ovs-appctl', '--timeout=5', '-t', p.vswitchdCtl, 'dpctl/dump-flows'])).text]);
  return out;
}
