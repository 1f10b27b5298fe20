/**
 * The `log` check: ovs-vswitchd's log of a host must / must not contain lines matching patterns,
 * and the gate the OVS system tests apply at the end of every test: no WARN/ERR/EMER line other
 * than the allowed ones. Window: around a check (`during`), since a named step (`since`), or —
 * on the lab's own daemons (simulated hosts) — the whole log, i.e. the lab's life.
 *
 * DEFAULT_ALLOWED lists what every fresh lab logs here and in the VM and is harmless (see
 * docs/recipes.md, "The vswitchd log gate"); a recipe adds its own with `allow:`.
 */
import { inNetns, shellQuote } from '../exec/executor.js';
import type { LogCheck } from '../model/look-checks.js';
import type { Assertion, Verdict } from './expect.js';
import { assertionVerdict, showObserved } from './expect.js';
import type { CheckContext } from './context.js';
import { ovsAccess } from './nodes.js';
import { rawOf, toolStderr } from './ping.js';
import type { CheckResult } from './result.js';
import { escapeRegExp } from '../regexp.js';

/**
 * A module name in a line logged by a thread other than the main one carries the thread:
 * `tunnel(handler1)|WARN|…` (the kernel datapath's upcall handlers), `dpif_netdev(pmd-c01/id:7)|…`.
 */
const THREAD = String.raw`(\([^|)]*\))?`;

/**
 * WARN/ERR lines a healthy lab logs at any time, as regexes on `module|LEVEL|message`:
 * - a port is added to the userspace datapath a moment before the lab sets its link up (the
 *   netdev threads see ENETDOWN once): netdev_linux WARN + dpif_netdev ERR;
 * - `ovs-appctl dpctl/…` without a datapath name enumerates the kernel's datapaths, and warns
 *   when the openvswitch module is absent (this machine; the userspace datapath is in use);
 * - timeval's "Unreasonably long …ms poll interval" and its follow-up lines, from any thread, and
 *   ovs_rcu's "blocked N ms waiting for T to quiesce": the machine is slow (seen in the TCG VM,
 *   more under load), which the OVS system tests also ignore.
 */
export const DEFAULT_ALLOWED: readonly { re: string; why: string }[] = [
  { re: String.raw`^netdev_linux${THREAD}\|WARN\|error (receiving|sending) Ethernet packet on \S+: Network is down$`, why: 'a port added to the userspace datapath just before its link is set up' },
  { re: String.raw`^dpif_netdev${THREAD}\|ERR\|error (receiving|sending) data (from|to) \S+: Network is down$`, why: 'the same, reported by the datapath' },
  { re: String.raw`^dpif${THREAD}\|WARN\|failed to enumerate system datapaths: No such file or directory$`, why: 'dpctl/* without a datapath name (a state query, the artifacts dump) on a machine without the openvswitch kernel module' },
  {
    re: String.raw`^timeval${THREAD}\|WARN\|(Unreasonably long \d+ms poll interval \(.*\)|faults: \d+ minor, \d+ major|disk: \d+ reads, \d+ writes|context switches: \d+ voluntary, \d+ involuntary)$`,
    why: 'a vswitchd thread\'s poll loop took over a second: a slow or emulated machine (the TCG VM), not a network problem',
  },
  {
    re: String.raw`^ovs_rcu${THREAD}\|WARN\|blocked \d+ ms waiting for [\w-]+ to quiesce$`,
    why: 'a vswitchd thread did not reach an RCU quiescent point for over a second: the same slow-machine stall (OVS\'s own check_logs ignores it too)',
  },
  {
    // OVS 3.1's tunnel code knows psk/remote_cert/remote_name but not the ipsec_* options that
    // ovs-monitor-ipsec reads (a recipe's `ipsec: { esp: … }` sets options:ipsec_esp): one WARN per port.
    re: String.raw`^netdev_vport${THREAD}\|WARN\|\S+: unknown (geneve|gre|vxlan|stt) argument 'ipsec_[a-z_]+'$`,
    why: "an ipsec_* option (e.g. ipsec_esp) meant for ovs-monitor-ipsec, which vswitchd's tunnel code does not know",
  },
];

/**
 * Allowed only in lines logged while the lab was being built (before the run's first check):
 * one host's guests already send while the other host's tunnel port, TLV map or flows do not
 * exist yet, so a packet or two arrives at a switch that cannot handle it yet.
 */
export const SETUP_ALLOWED: readonly { re: string; why: string }[] = [
  { re: String.raw`^ofproto_dpif_xlate${THREAD}\|WARN\|Invalid Geneve tunnel metadata on bridge \S+ while processing `, why: 'a packet with Geneve options arrived before this switch had its TLV map' },
  { re: String.raw`^tunnel${THREAD}\|WARN\|receive tunnel port not found `, why: 'a tunnel packet arrived before this host\'s tunnel port existed' },
];

export interface LogLine {
  text: string;
  /** The line's timestamp (ms since the epoch; vswitchd logs UTC), when it has one. */
  at?: number;
  /** `module|LEVEL|message` (without the timestamp and sequence number). */
  body: string;
  level?: string;
}

/** Split vswitchd log text into lines with their level (`2026-…Z|00057|netdev_linux|WARN|…`). */
export function parseLogLines(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const m = /^([^|]*)\|\d+\|([^|]*)\|([A-Z]+)\|(.*)$/.exec(l);
      if (!m) return { text: l, body: l };
      const at = Date.parse(m[1]!);
      return { text: l, body: `${m[2]}|${m[3]}|${m[4]}`, level: m[3], ...(Number.isFinite(at) ? { at } : {}) };
    });
}

const GATED = new Set(['WARN', 'ERR', 'EMER']);

/**
 * The assertions of a log check on the lines of its window. `runStartedAt`: when the run's first
 * check started; lines before it were logged while the lab was built (SETUP_ALLOWED applies).
 */
export function logAssertions(check: LogCheck, lines: LogLine[], runStartedAt?: number): Assertion[] {
  const out: Assertion[] = [];
  const n = `${lines.length} line${lines.length === 1 ? '' : 's'}`;
  for (const re of check.must) {
    const r = new RegExp(re);
    const hits = lines.filter((l) => r.test(l.text));
    out.push({ field: `a line matching /${re}/`, expected: 'present', observed: hits.length ? `${hits.length} line${hits.length === 1 ? '' : 's'}, first: ${showObserved(hits[0]!.body)}` : `none in ${n}`, ok: hits.length > 0 });
  }
  for (const re of check.mustNot) {
    const r = new RegExp(re);
    const hits = lines.filter((l) => r.test(l.text));
    out.push({ field: `a line matching /${re}/`, expected: 'absent', observed: hits.length ? `${hits.length} line${hits.length === 1 ? '' : 's'}, first: ${showObserved(hits[0]!.body)}` : `none in ${n}`, ok: hits.length === 0 });
  }
  if (check.gate) {
    const bad = notAllowed(check, lines, runStartedAt);
    const shown = bad.slice(0, 5).map((l) => showObserved(l.body));
    out.push({
      field: 'WARN/ERR/EMER lines not allowed',
      expected: 'none',
      observed: bad.length ? `${bad.length}: ${shown.join('; ')}${bad.length > 5 ? '; …' : ''}` : `none in ${n}`,
      ok: bad.length === 0,
    });
  }
  return out;
}

/** The gated lines (WARN/ERR/EMER) that neither the defaults nor the check's `allow` accept. */
function notAllowed(check: LogCheck, lines: LogLine[], runStartedAt?: number): LogLine[] {
  const allowed = [...DEFAULT_ALLOWED.map((a) => a.re), ...(check.gate?.allow ?? [])].map((r) => new RegExp(r));
  const setup = SETUP_ALLOWED.map((a) => new RegExp(a.re));
  const ok = (l: LogLine) =>
    allowed.some((r) => r.test(l.body) || r.test(l.text)) || (runStartedAt !== undefined && l.at !== undefined && l.at < runStartedAt && setup.some((r) => r.test(l.body)));
  return lines.filter((l) => l.level && GATED.has(l.level) && !ok(l));
}

/**
 * What to write when the lines are expected — a scenario that makes the ends differ on purpose
 * makes vswitchd warn, as OVS's own tests do, and those tests allow the line by hand. Names the
 * recipe key (the host's `ovs.log.allow` for the default gate, the check's `allow` otherwise)
 * and a regex per distinct message: its text up to the first variable part (a number, ` (`, `: `).
 */
export function gateHint(check: LogCheck, lines: LogLine[], runStartedAt?: number): string | undefined {
  if (!check.gate) return undefined;
  const res = new Set<string>();
  for (const l of notAllowed(check, lines, runStartedAt)) {
    const message = l.body.split('|').slice(2).join('|');
    const stem = message.split(/\s\(|: |\b\d/)[0]!.trim();
    if (stem.length >= 8) res.add(escapeRegExp(stem));
  }
  if (!res.size) return undefined;
  const list = `[${[...res].slice(0, 3).map((r) => JSON.stringify(r)).join(', ')}]`;
  return check.final
    ? `if the scenario causes them on purpose, allow them for the host: hosts: [{ name: ${check.host}, ovs: { log: { allow: ${list} } } }] (or ovs: { log: { gate: false } })`
    : `if they are expected, add them to this check's allow: ${list}`;
}

export function logWhat(check: LogCheck): string {
  const parts: string[] = [];
  if (check.must.length) parts.push(`must ${check.must.map((r) => `/${r}/`).join(', ')}`);
  if (check.mustNot.length) parts.push(`must not ${check.mustNot.map((r) => `/${r}/`).join(', ')}`);
  if (check.gate) parts.push(`no WARN/ERR beyond ${check.gate.allow.length ? `${check.gate.allow.length} allowed + ` : ''}the defaults`);
  const window = check.during ? ` during "${check.during}"` : check.since ? ` since step "${check.since}"` : ' over the lab\'s life';
  return `ovs-vswitchd log of ${check.host}${window}: ${parts.join('; ')}`;
}

/** Where the window starts: a byte offset into the log. */
export interface LogMark {
  subject: string;
  offset: number;
  at: number;
  error?: string;
}

/** The log's current size (the start of a window). Never throws. */
export async function logSnapshot(check: LogCheck, ctx: CheckContext): Promise<LogMark> {
  const at = Date.now();
  try {
    const ovs = ovsAccess(ctx, check.host, check.file);
    const subject = `${ovs.log} (ovs-vswitchd of host "${check.host}")`;
    const r = await ovs.exec.run(['stat', '-c', '%s', ovs.log], { timeoutMs: 10_000 });
    if (r.exitCode !== 0) return { subject, offset: 0, at, error: `cannot read ${subject}: ${toolStderr(r.stderr).trim() || `exit ${r.exitCode}`}` };
    return { subject, offset: Number(r.stdout.trim()), at };
  } catch (e) {
    return { subject: `ovs-vswitchd log of host "${check.host}"`, offset: 0, at, error: (e as Error).message };
  }
}

/** The log from `offset` to its end. */
async function readFrom(check: LogCheck, ctx: CheckContext, offset: number): Promise<{ subject: string; text?: string; raw: string; error?: string }> {
  const ovs = ovsAccess(ctx, check.host, check.file);
  const subject = `${ovs.log} (ovs-vswitchd of host "${check.host}")`;
  const argv = ['tail', '-c', `+${offset + 1}`, ovs.log];
  const r = await ovs.exec.run(inNetns(undefined, argv), { timeoutMs: 15_000 });
  if (r.exitCode !== 0) return { subject, raw: rawOf(r), error: `cannot read ${subject}: ${toolStderr(r.stderr).trim() || `exit ${r.exitCode}`} (${shellQuote(argv)})` };
  return { subject, text: r.stdout, raw: `$ ${shellQuote(argv)}\n${r.stdout}` };
}

function result(check: LogCheck, started: number, v: Verdict, raw: string, lines?: number): CheckResult {
  return {
    name: check.name,
    kind: check.kind,
    what: logWhat(check),
    status: v.status,
    ...(v.message ? { message: v.message } : {}),
    figures: lines !== undefined ? { lines } : {},
    durationMs: Date.now() - started,
    raw,
    details: { assertions: v.assertions },
  };
}

async function judge(check: LogCheck, ctx: CheckContext, started: number, from: LogMark): Promise<CheckResult> {
  if (from.error) return result(check, started, { status: 'error', message: from.error, assertions: [] }, '');
  try {
    const r = await readFrom(check, ctx, from.offset);
    if (r.error || r.text === undefined) return result(check, started, { status: 'error', message: r.error ?? 'no log text', assertions: [] }, r.raw);
    const lines = parseLogLines(r.text);
    const v = assertionVerdict(r.subject, logAssertions(check, lines, ctx.runStartedAt));
    const hint = v.status === 'failed' ? gateHint(check, lines, ctx.runStartedAt) : undefined;
    return result(check, started, hint ? { ...v, message: `${v.message}\n  ${hint}` } : v, r.raw, lines.length);
  } catch (e) {
    return result(check, started, { status: 'error', message: (e as Error).message, assertions: [] }, '');
  }
}

/** No window given: the lab's own daemons' whole log (since the lab started them). */
export async function runLog(check: LogCheck, ctx: CheckContext): Promise<CheckResult> {
  const started = Date.now();
  if (check.since) {
    const snap = ctx.snapshots?.get(check.name, check.since);
    if (!snap) return result(check, started, { status: 'error', message: `log "${check.name}": no snapshot of the log when step "${check.since}" finished (the step did not run, or the runner took none)`, assertions: [] }, '');
    return judge(check, ctx, started, snap.value as LogMark);
  }
  try {
    const ovs = ovsAccess(ctx, check.host, check.file);
    if (!ovs.owned) return result(check, started, { status: 'error', message: `host "${check.host}" uses the machine's own OVS service, whose log is shared: give the log check a window (during: CHECK or since: STEP)`, assertions: [] }, '');
  } catch (e) {
    return result(check, started, { status: 'error', message: (e as Error).message, assertions: [] }, '');
  }
  return judge(check, ctx, started, { subject: '', offset: 0, at: started });
}

/** `during`: mark, run the check inside, read what was logged meanwhile. The inner check always runs. */
export async function runLogAround(check: LogCheck, ctx: CheckContext, inner: () => Promise<unknown>): Promise<CheckResult> {
  const started = Date.now();
  const mark = await logSnapshot(check, ctx);
  await inner();
  return judge(check, ctx, started, mark);
}
