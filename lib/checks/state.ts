/**
 * The `state` check: one read-only query in a lab node and assertions on what it printed.
 *   - kernel: `ip -d -j ARGS` (link, addr, route, route get, neigh, rule, …) as JSON, asserted
 *     on by JSON path (`linkinfo.info_data.id: 5000`, `mtu: { max: 1450 }`, `ifindex:
 *     { unchanged_since: STEP }`), with `where` to pick list entries and `count` on their number;
 *   - OVS: ovs-appctl / ovs-ofctl / ovs-vsctl read-only commands against the OVS instance of the
 *     node's host, as text, with contains / not_contains / matches / count of lines matching.
 * Read-only is enforced on the words (allow-lists below), at validation time and again here.
 */
import { isDeepStrictEqual } from 'node:util';
import { inNetns, shellQuote } from '../exec/executor.js';
import type { StateCheck } from '../model/look-checks.js';
import type { Lab } from '../model/types.js';
import { ofctlVersionForArgs } from '../model/ovs-program.js';
import { assert, assertionVerdict, getPath, matcherProblem, matches, showMatcher, showObserved, type Assertion, type Matcher, type Scalar, type Verdict } from './expect.js';
import { nodeAccess, ovsAccess, ovsPortName, resolveLink } from './nodes.js';
import type { CheckContext } from './context.js';
import { rawOf, toolStderr } from './ping.js';
import type { CheckResult } from './result.js';

// ---------------------------------------------------------------- read-only allow-lists

const IP_OBJECTS: Record<string, string[]> = {
  link: ['show', 'list', 'lst'],
  l: ['show', 'list', 'lst'],
  address: ['show', 'list', 'lst'],
  addr: ['show', 'list', 'lst'],
  a: ['show', 'list', 'lst'],
  route: ['show', 'list', 'lst', 'get'],
  r: ['show', 'list', 'lst', 'get'],
  rule: ['show', 'list', 'lst'],
  neighbour: ['show', 'list', 'lst'],
  neighbor: ['show', 'list', 'lst'],
  neigh: ['show', 'list', 'lst'],
  n: ['show', 'list', 'lst'],
  netconf: ['show', 'list'],
  maddress: ['show', 'list'],
  maddr: ['show', 'list'],
  mroute: ['show', 'list'],
  nexthop: ['show', 'list', 'get'],
  vrf: ['show', 'list'],
};
const IP_OPTIONS = new Set(['-4', '-6', '-s', '-stats', '-d', '-details']);

/** Why `ip ARGS` is not an allowed read-only query, or undefined. */
export function ipQueryProblem(args: readonly string[]): string | undefined {
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-')) {
    if (!IP_OPTIONS.has(args[i]!)) return `option "${args[i]}" is not allowed here; allowed before the object: ${[...IP_OPTIONS].join(', ')} (-d -j are always given)`;
    i++;
  }
  const obj = args[i];
  if (obj === undefined) return 'names no object; write e.g. [link, show, dev, tun0] or [route, get, 203.0.113.2]';
  const verbs = IP_OBJECTS[obj];
  if (!verbs) return `"${obj}" is not an object state can query; use one of: link, addr, route, rule, neigh, netconf, maddr, mroute, nexthop, vrf`;
  const verb = args[i + 1];
  if (verb !== undefined && !verbs.includes(verb)) return `"${obj} ${verb}" is not read-only; state queries only ${verbs.map((v) => `"${obj} ${v}"`).join(', ')} (change the lab with a step instead)`;
  return undefined;
}

const OFCTL_READ = new Set(['show', 'dump-desc', 'dump-tables', 'dump-table-features', 'dump-table-desc', 'dump-ports', 'dump-ports-desc', 'dump-flows', 'dump-aggregate', 'queue-stats', 'queue-get-config', 'dump-groups', 'dump-group-features', 'dump-group-stats', 'dump-meters', 'meter-stats', 'meter-features', 'dump-tlv-map', 'dump-ipfix-bridge', 'dump-ipfix-flow', 'get-frags']);
const VSCTL_READ = new Set(['show', 'list-br', 'br-exists', 'br-to-vlan', 'br-to-parent', 'br-get-external-id', 'list-ports', 'list-ifaces', 'iface-to-br', 'port-to-br', 'get-controller', 'get-fail-mode', 'get-manager', 'get-ssl', 'list', 'find', 'get', 'list-zone-tp']);
/** appctl commands that only read: */
function appctlReadOnly(cmd: string): boolean {
  if (['version', 'ofproto/trace', 'ofproto/list', 'ovs/route/lookup', 'list-commands', 'dpctl/get-flow'].includes(cmd)) return true;
  return /(^|\/)(show|list|dump-[a-z0-9-]+|dump|stats-show|[a-z-]+-show)$/.test(cmd);
}

/** Why `ovs-PROGRAM ARGS` is not an allowed read-only query, or undefined. */
export function ovsQueryProblem(program: string, args: readonly string[]): string | undefined {
  // Options, and the value of those that take one as the next word (-O OpenFlow15, -t SECS).
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (['-O', '-t', '-T', '-P', '-F'].includes(args[i]!)) i++;
    else if (!args[i]!.startsWith('-')) words.push(args[i]!);
  }
  const cmd = words[0];
  if (cmd === undefined) return `ovs: [${program}] names no command; write e.g. [appctl, dpctl/dump-flows] or [ofctl, dump-flows, sw1]`;
  switch (program) {
    case 'appctl':
      return appctlReadOnly(cmd) ? undefined : `"ovs-appctl ${cmd}" is not a read-only command; state allows show/list/dump commands and ofproto/trace (e.g. dpctl/dump-flows, dpif/show, tnl/ports/show, ofproto/trace) — change OVS with an ovs step instead`;
    case 'ofctl':
      return OFCTL_READ.has(cmd) ? undefined : `"ovs-ofctl ${cmd}" is not read-only; use one of: ${[...OFCTL_READ].join(', ')}`;
    case 'vsctl':
      return VSCTL_READ.has(cmd) ? undefined : `"ovs-vsctl ${cmd}" is not read-only; use one of: ${[...VSCTL_READ].join(', ')}`;
    default:
      return `"${program}" is not an OVS tool state can run; the first word is appctl, ofctl or vsctl`;
  }
}

// ---------------------------------------------------------------- the recipe's words → argv

/** `ip -d -j` + args, with the interface after `dev` translated from recipe names. */
export function ipStateArgs(lab: Lab, node: string, args: readonly string[]): string[] {
  return args.map((w, i) => (i > 0 && (args[i - 1] === 'dev' || args[i - 1] === 'iif' || args[i - 1] === 'oif') ? (resolveLink(lab, node, w) ?? w) : w));
}

/** Recipe names of switches (→ bridge), tunnels and guests (→ port) on `host`, translated in OVS query words. */
export function ovsStateArgs(lab: Lab, host: string, args: readonly string[]): string[] {
  const switches = lab.switches.filter((s) => s.host === host && s.kind === 'ovs');
  return args.map((w) => {
    const sw = switches.find((s) => s.name === w);
    if (sw) return sw.ifname;
    for (const s of switches) {
      const port = ovsPortName(lab, s.name, w);
      if (port !== w) return port;
    }
    return w;
  });
}

// ---------------------------------------------------------------- expectations

/** Extra matcher keys a state expectation may have: compared with a snapshot taken after a step. */
export interface SinceMatcher {
  unchanged_since?: string;
  changed_since?: string;
}

function sinceOf(v: unknown): SinceMatcher | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (o.unchanged_since === undefined && o.changed_since === undefined) return undefined;
  return { ...(typeof o.unchanged_since === 'string' ? { unchanged_since: o.unchanged_since } : {}), ...(typeof o.changed_since === 'string' ? { changed_since: o.changed_since } : {}) };
}

/** Why a state expectation value is wrong, or undefined (validation). */
export function stateExpectProblem(v: unknown): string | undefined {
  const since = sinceOf(v);
  if (since) {
    const keys = Object.keys(v as object);
    if (keys.length !== 1) return 'unchanged_since / changed_since stand alone: { unchanged_since: STEP }';
    const step = since.unchanged_since ?? since.changed_since;
    if (!step) return 'unchanged_since / changed_since name a step';
    return undefined;
  }
  return matcherProblem(v);
}

/** Step names a state check compares against (its unchanged_since / changed_since). */
export function stateSinceSteps(check: StateCheck): string[] {
  const out = new Set<string>();
  for (const v of Object.values(check.expect)) {
    const s = sinceOf(v);
    if (s?.unchanged_since) out.add(s.unchanged_since);
    if (s?.changed_since) out.add(s.changed_since);
  }
  return [...out];
}

/** The list `ip -j` printed, reduced by `where`. */
export function selectEntries(list: unknown[], where: Record<string, unknown>): unknown[] {
  const conds = Object.entries(where);
  return list.filter((e) => conds.every(([path, m]) => matches(m as Scalar | Matcher, getPath(e, path))));
}

/** What paths are asserted on: the one entry, or the list when there are several (paths start with an index then). */
export function documentOf(entries: unknown[]): unknown {
  return entries.length === 1 ? entries[0] : entries;
}

/**
 * Assertions of an ip state check on its selected entries. `before(step)` gives the entries
 * selected the same way right after that step (undefined: no snapshot); a missing snapshot is
 * reported as an error by the caller.
 */
export function ipAssertions(check: StateCheck, entries: unknown[], before: (step: string) => unknown[] | undefined): { assertions: Assertion[]; missing: string[] } {
  const assertions: Assertion[] = [];
  const missing: string[] = [];
  if (check.count !== undefined) assertions.push(assert('number of entries', check.count as Scalar | Matcher, entries.length));
  const doc = documentOf(entries);
  for (const [path, m] of Object.entries(check.expect)) {
    const now = getPath(doc, path);
    const since = sinceOf(m);
    if (!since) {
      assertions.push(assert(path, m as Scalar | Matcher, now));
      continue;
    }
    const step = (since.unchanged_since ?? since.changed_since)!;
    const then = before(step);
    if (then === undefined) {
      missing.push(step);
      continue;
    }
    const was = getPath(documentOf(then), path);
    if (was === undefined) {
      missing.push(`${step} (${path} was absent then)`);
      continue;
    }
    const same = now !== undefined && isDeepStrictEqual(now, was);
    assertions.push(
      since.unchanged_since
        ? { field: path, expected: `unchanged since step "${step}" (${showObserved(was)})`, observed: showObserved(now), ok: same }
        : { field: path, expected: `changed since step "${step}" (was ${showObserved(was)})`, observed: showObserved(now), ok: now !== undefined && !same },
    );
  }
  return { assertions, missing };
}

/** Assertions of an OVS state check on the text its tool printed. */
export function textAssertions(check: StateCheck, text: string): Assertion[] {
  const t = check.text;
  if (!t) return [];
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const where = `${lines.length} line${lines.length === 1 ? '' : 's'} of output`;
  const out: Assertion[] = [];
  for (const c of t.contains) out.push({ field: 'output', expected: `contains ${JSON.stringify(c)}`, observed: text.includes(c) ? 'it does' : `not found in ${where}`, ok: text.includes(c) });
  for (const c of t.notContains) {
    const hit = lines.find((l) => l.includes(c));
    out.push({ field: 'output', expected: `does not contain ${JSON.stringify(c)}`, observed: hit ? `found: ${showObserved(hit.trim())}` : 'it does not', ok: !hit });
  }
  for (const re of t.matches) {
    const m = new RegExp(re, 'm').exec(text);
    out.push({ field: 'output', expected: `matches /${re}/`, observed: m ? `matched ${showObserved(m[0])}` : `no match in ${where}`, ok: !!m });
  }
  if (t.count) {
    const re = new RegExp(t.count.pattern);
    const n = lines.filter((l) => re.test(l)).length;
    out.push({ field: `lines matching /${t.count.pattern}/`, expected: showMatcher(t.count.expect as Scalar | Matcher), observed: String(n), ok: matches(t.count.expect as Scalar | Matcher, n) });
  }
  return out;
}

// ---------------------------------------------------------------- running

export function stateWhat(check: StateCheck): string {
  const q = check.query.tool === 'ip' ? `ip ${check.query.args.join(' ')}` : `ovs-${check.query.program} ${check.query.args.join(' ')}`;
  return `state of ${check.on}: ${q}`;
}

export interface StateObservation {
  /** What was looked at, e.g. `ip -d -j link show dev tun0 in netns gl-x-box-1`. */
  subject: string;
  raw: string;
  /** ip: the selected entries. */
  entries?: unknown[];
  /** ovs: the tool's text. */
  text?: string;
  /** Could not observe: tool missing, failed, printed no JSON. */
  error?: string;
}

const NO_DEVICE = /does not exist|Cannot find device|No such device/i;

/** Run the query once (also used for snapshots after a step). Never throws. */
export async function observeState(check: StateCheck, ctx: CheckContext): Promise<StateObservation> {
  try {
    if (check.query.tool === 'ip') {
      const node = nodeAccess(ctx, check.on);
      const argv = inNetns(node.ns, ['ip', '-d', '-j', ...ipStateArgs(ctx.lab, check.on, check.query.args)]);
      const subject = `${shellQuote(argv.slice(node.ns ? 4 : 0))}${node.ns ? ` in netns ${node.ns}` : ` on host "${node.host}"`}`;
      const r = await node.exec.run(argv, { timeoutMs: 10_000 });
      const raw = rawOf(r);
      if (r.exitCode !== 0) {
        const err = toolStderr(r.stderr).trim() || `exit ${r.exitCode}`;
        // A device that does not exist is an observation (exists: false, count: 0), not a failure to look.
        if (NO_DEVICE.test(err)) return { subject, raw, entries: [] };
        return { subject, raw, error: `${subject} failed: ${err}` };
      }
      let data: unknown;
      try {
        data = r.stdout.trim() === '' ? [] : JSON.parse(r.stdout);
      } catch (e) {
        return { subject, raw, error: `${subject} did not print JSON (${(e as Error).message}); this ip object may not support -j` };
      }
      const list = Array.isArray(data) ? data : [data];
      return { subject, raw, entries: selectEntries(list, check.where) };
    }
    const q = check.query;
    const ovs = ovsAccess(ctx, check.host);
    const args = ovsStateArgs(ctx.lab, check.host, q.args);
    const tool = q.program === 'appctl' ? ovs.appctl(args) : q.program === 'ofctl' ? ovs.ofctl([...ofctlVersionForArgs(ctx.lab.switches, args), ...args]) : ovs.vsctl(args);
    const argv = inNetns(ovs.ns, tool);
    const subject = `ovs-${q.program} ${shellQuote(args)} (OVS of host "${check.host}")`;
    const r = await ovs.exec.run(argv, { timeoutMs: 15_000, env: ovs.env });
    const raw = rawOf(r);
    if (r.exitCode !== 0) return { subject, raw, error: `${subject} failed: ${toolStderr(r.stderr).trim() || `exit ${r.exitCode}`}` };
    return { subject, raw, text: r.stdout };
  } catch (e) {
    return { subject: stateWhat(check), raw: '', error: (e as Error).message };
  }
}

/** The verdict of a state check from its observation; `before(step)` are snapshots of earlier steps. */
export function stateVerdict(check: StateCheck, o: StateObservation, before: (step: string) => StateObservation | undefined): Verdict {
  if (o.error) return { status: 'error', message: o.error, assertions: [] };
  if (check.query.tool === 'ip') {
    const { assertions, missing } = ipAssertions(check, o.entries ?? [], (step) => {
      const b = before(step);
      return b && !b.error ? b.entries : undefined;
    });
    if (missing.length) {
      const why = missing.map((m) => {
        const b = before(m.split(' (')[0]!);
        return b?.error ? `${m}: the snapshot failed: ${b.error}` : m;
      });
      return { status: 'error', message: `${o.subject}: cannot compare with step ${why.join(', ')}: no snapshot of it (the step did not run, or no runner took one)`, assertions };
    }
    return assertionVerdict(o.subject, assertions);
  }
  return assertionVerdict(o.subject, textAssertions(check, o.text ?? ''));
}

export async function runState(check: StateCheck, ctx: CheckContext): Promise<CheckResult> {
  const started = Date.now();
  const o = await observeState(check, ctx);
  const v = stateVerdict(check, o, (step) => ctx.snapshots?.get(check.name, step)?.value as StateObservation | undefined);
  const figures: CheckResult['figures'] = {};
  if (o.entries) figures.entries = o.entries.length;
  if (o.text !== undefined) figures.lines = o.text.split('\n').filter((l) => l.trim()).length;
  return {
    name: check.name,
    kind: check.kind,
    what: stateWhat(check),
    status: v.status,
    ...(v.message ? { message: v.message } : {}),
    figures,
    durationMs: Date.now() - started,
    raw: o.raw,
    details: { subject: o.subject, assertions: v.assertions },
  };
}
