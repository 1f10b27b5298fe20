/**
 * Shared pieces of the fault suite: fault recipes under random lab names, the real CLI with a
 * private state and artifacts directory, check results by name, and an independent view of
 * what the kernel did (`ip -d -j`, /proc/net/snmp{,6} inside a namespace) that imports nothing
 * from lib/, so a lying check cannot hide behind its own helpers.
 *
 * Also used by the VM tier (test/vm/faults), which runs the same way inside the VM.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { cli, ROOT, type CliResult } from '../../support/cli.js';
import { netnsList } from '../../support/oracle.js';
import { randomLabName } from '../../support/priv.js';

export const FAULT_RECIPES = join(ROOT, 'test/fixtures/recipes/faults');

/** A check result as `--json` prints it (the fields the suite asserts on). */
export interface JsonCheck {
  name: string;
  kind: string;
  status: 'passed' | 'failed' | 'error';
  message?: string;
  figures: Record<string, string | number | boolean>;
  what: string;
}

/**
 * The template's text with its `lab:` line replaced and some `variables:` entries overridden.
 * An override of a variable the template does not define is a test bug: it throws.
 */
export function fillRecipe(template: string, lab: string, vars: Record<string, string | number | boolean> = {}): string {
  let text = readFileSync(join(FAULT_RECIPES, template), 'utf8');
  if (!/^lab: fault-lab$/m.test(text)) throw new Error(`${template}: no "lab: fault-lab" line to replace`);
  text = text.replace(/^lab: fault-lab$/m, `lab: ${lab}`);
  for (const [k, v] of Object.entries(vars)) {
    const re = new RegExp(`^(  ${k}:) .*$`, 'm');
    if (!re.test(text)) throw new Error(`${template}: variable "${k}" is not defined in its variables:`);
    text = text.replace(re, `$1 ${String(v)}`);
  }
  return text;
}

export interface FaultLab {
  lab: string;
  file: string;
  /** Namespace of a lab object: ns('box-2') = gl-<lab>-box-2. */
  ns(name: string): string;
  /** The CLI with this lab's private state directory. */
  gl(args: string[]): CliResult;
  /** `check --json` (or another command printing {checks}) → results by name, plus the raw run. */
  checks(args: string[]): { code: number; byName: Record<string, JsonCheck>; raw: CliResult };
  /** Write another recipe file for the same lab (e.g. fewer checks) in the lab's directory; returns its path. */
  variant(name: string, text: string): string;
}

/**
 * A fault lab from a template: recipe file, state and artifacts directories in a temporary
 * directory. t.teardown brings the lab down and removes the directory, even when the test failed.
 */
export function faultLab(
  t: ExecutionContext,
  template: string,
  vars: Record<string, string | number | boolean> = {},
  prefix = 'f',
  transform: (text: string) => string = (x) => x,
): FaultLab {
  const lab = randomLabName(prefix);
  const dir = mkdtempSync(join(tmpdir(), `gl-fault-${lab}-`));
  const file = join(dir, template);
  writeFileSync(file, transform(fillRecipe(template, lab, vars)));
  const stateDir = join(dir, 'state');
  const artifacts = join(dir, 'artifacts');
  const gl = (args: string[]) => cli(['--state-dir', stateDir, ...args]);
  t.teardown(() => {
    const down = gl(['down', lab]);
    rmSync(dir, { recursive: true, force: true });
    // The capture check's default pcap directory, in case a check ran without --artifacts.
    rmSync(join(tmpdir(), `geneve-lab-${lab}`), { recursive: true, force: true });
    const left = netnsList().filter((n) => n.startsWith(`gl-${lab}-`));
    if (left.length) throw new Error(`lab ${lab} left namespaces behind: ${left.join(', ')} (down said: ${down.stdout}${down.stderr})`);
  });
  const checks = (args: string[]) => {
    const raw = gl([...args, '--json', '--artifacts', artifacts]);
    let parsed: { checks?: JsonCheck[] };
    try {
      parsed = JSON.parse(raw.stdout);
    } catch {
      throw new Error(`geneve-lab ${args.join(' ')} printed no JSON (exit ${raw.code}):\n${raw.stdout}\n${raw.stderr}`);
    }
    const byName = Object.fromEntries((parsed.checks ?? []).map((c) => [c.name, c]));
    return { code: raw.code, byName, raw };
  };
  const variant = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  return { lab, file, ns: (n) => `gl-${lab}-${n}`, gl, checks, variant };
}

/**
 * The recipe text keeping only the named checks (one-line `  - { name: X, … }` entries, which is
 * how the fault templates write them) — for `check FILE` runs of a subset on a running lab.
 */
export function onlyChecks(text: string, names: string[]): string {
  const [head, checks] = text.split(/^checks:\n/m) as [string, string | undefined];
  if (checks === undefined) throw new Error('the recipe has no checks: section');
  const entries = checks.split(/^(?=  - )/m).filter((e) => e.trim() && !e.trim().startsWith('#'));
  const kept = entries.filter((e) => names.some((n) => new RegExp(`^  - \\{ name: ${n},`).test(e)));
  if (kept.length !== names.length) throw new Error(`onlyChecks: found ${kept.length} of ${names.join(', ')}`);
  return `${head}checks:\n${kept.join('')}`;
}

/** Results in a readable form for assertion messages. */
export function show(byName: Record<string, JsonCheck>): string {
  return Object.values(byName)
    .map((c) => `${c.status.toUpperCase()} ${c.name}: ${c.message ?? ''} ${JSON.stringify(c.figures)}`)
    .join('\n');
}

// ---------- the kernel's own view ----------

export function ipJson(ns: string, args: string[]): any[] {
  const out = execFileSync('ip', ['-n', ns, '-j', ...args], { encoding: 'utf8' }).trim();
  return out ? (JSON.parse(out) as any[]) : [];
}

/** `ip -d -j link show IF` in a namespace. */
export function linkDetails(ns: string, ifname: string): any {
  const l = ipJson(ns, ['-d', 'link', 'show', 'dev', ifname])[0];
  if (!l) throw new Error(`no link ${ifname} in ${ns}`);
  return l;
}

/** One counter from /proc/net/snmp or /proc/net/snmp6 as seen inside `ns`, e.g. ('Udp6', 'InCsumErrors'). */
export function snmpCounter(ns: string, proto: string, field: string): number {
  if (proto.endsWith('6')) {
    const text = execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp6'], { encoding: 'utf8' });
    const m = new RegExp(`^${proto}${field}\\s+(\\d+)$`, 'm').exec(text);
    if (!m) throw new Error(`no ${proto}${field} in /proc/net/snmp6 of ${ns}`);
    return Number(m[1]);
  }
  const lines = execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.startsWith(`${proto}:`));
  if (lines.length < 2) throw new Error(`no ${proto} lines in /proc/net/snmp of ${ns}`);
  const names = lines[0]!.split(/\s+/).slice(1);
  const values = lines[1]!.split(/\s+/).slice(1);
  const i = names.indexOf(field);
  if (i < 0) throw new Error(`no ${proto} ${field} in /proc/net/snmp of ${ns}`);
  return Number(values[i]);
}

/** A link's detailed rx/tx statistics (`ip -s -s -j link show`: errors, dropped, frame_errors, …). */
export function linkStats(ns: string, ifname: string): { rx: Record<string, number>; tx: Record<string, number> } {
  const l = ipJson(ns, ['-s', '-s', 'link', 'show', 'dev', ifname])[0];
  return { rx: l.stats64.rx, tx: l.stats64.tx };
}

export function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Re-create ONE end of a kernel VXLAN or Geneve tunnel with some parameters changed — the way to
 * build a lab whose two ends disagree, which a recipe cannot express (both ends of a recipe
 * tunnel share their VNI and port; the kernel refuses to change either on a live device). Every
 * other setting is copied from the kernel's own description of the device (`ip -d -j`): remote,
 * local, ttl, tos, df, checksum flags, learning, flow label, bridge, MTU, alias.
 * Returns the new device's description.
 */
export function recreateTunnelEnd(ns: string, ifname: string, change: { id?: number; dstport?: number }): any {
  const old = linkDetails(ns, ifname);
  const kind = old.linkinfo?.info_kind;
  const d = old.linkinfo?.info_data;
  if ((kind !== 'vxlan' && kind !== 'geneve') || !d) throw new Error(`${ifname} in ${ns} is not a vxlan or geneve device (${kind})`);
  if (d.external || d.collect_metadata) throw new Error(`${ifname} in ${ns} is an external device: it has no VNI or remote to change`);
  const argv = ['-n', ns, 'link', 'add', ifname, 'type', kind, 'id', String(change.id ?? d.id)];
  const remote = d.remote ?? d.remote6;
  if (remote) argv.push('remote', remote);
  const local = d.local ?? d.local6;
  if (kind === 'vxlan' && local) argv.push('local', local);
  argv.push('dstport', String(change.dstport ?? d.port));
  if (kind === 'vxlan' && d.port_range && (d.port_range.low || d.port_range.high)) argv.push('srcport', String(d.port_range.low), String(d.port_range.high));
  argv.push('ttl', typeof d.ttl === 'number' && d.ttl > 0 ? String(d.ttl) : d.ttl === 'inherit' ? 'inherit' : 'auto');
  if (d.tos !== undefined) argv.push('tos', String(d.tos));
  if (d.df) argv.push('df', String(d.df));
  if (d.label !== undefined && d.label !== '0x0' && d.label !== 0) argv.push(kind === 'vxlan' ? 'flowlabel' : 'label', String(d.label));
  if (kind === 'vxlan' && d.learning === false) argv.push('nolearning');
  if (d.remote) argv.push(d.udp_csum === false ? 'noudpcsum' : 'udpcsum'); // IPv4 only
  if (d.udp_zero_csum6_tx) argv.push('udp6zerocsumtx');
  if (d.udp_zero_csum6_rx) argv.push('udp6zerocsumrx');
  if (kind === 'geneve' && d.inner_proto_inherit) argv.push('innerprotoinherit');
  ip(['-n', ns, 'link', 'del', ifname]);
  ip(argv);
  ip(['-n', ns, 'link', 'set', ifname, 'mtu', String(old.mtu)]);
  if (old.ifalias) ip(['-n', ns, 'link', 'set', ifname, 'alias', old.ifalias]);
  if (old.master) ip(['-n', ns, 'link', 'set', ifname, 'master', old.master]);
  ip(['-n', ns, 'link', 'set', ifname, 'up']);
  return linkDetails(ns, ifname);
}
