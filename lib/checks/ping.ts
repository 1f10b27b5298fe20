/**
 * The ping check: an argv builder, a pure parser of iputils ping output, the verdict, and the
 * runner. The parser keeps every reason ping gave for a lost packet (ICMP errors, local
 * errors, MTU hints) so a failure says what was seen, not just "failed".
 */
import { inNetns, shellQuote, type RunResult } from '../exec/executor.js';
import type { Family, PingCheck } from '../model/types.js';
import type { CheckContext } from './context.js';
import type { CheckResult } from './result.js';
import { formatPercent } from './units.js';
import { InProcessUnavailable, pingInProcess } from './icmp/pinger.js';

export interface PingArgs {
  address: string;
  family: Family;
  count: number;
  intervalMs: number;
  deadlineS: number;
  size: number;
  df: boolean;
  /** Per-reply wait (-W), seconds. */
  waitS?: number;
  /** -Q: IPv4 TOS byte / IPv6 traffic class. */
  tos?: number;
  /** -t: IPv4 TTL / IPv6 unicast hop limit. */
  ttl?: number;
  /** -M: path MTU discovery strategy (want, do = DF set and no local fragmentation, dont). Overrides df. */
  pmtu?: 'want' | 'do' | 'dont';
  /** -I: interface name or source address. */
  source?: string;
}

export function pingArgv(a: PingArgs): string[] {
  const argv = ['ping', '-n', '-c', String(a.count), '-i', seconds(a.intervalMs), '-W', String(a.waitS ?? 1), '-w', String(a.deadlineS), '-s', String(a.size)];
  if (a.pmtu) argv.push('-M', a.pmtu);
  else if (a.df) argv.push('-M', 'do');
  if (a.tos !== undefined) argv.push('-Q', `0x${a.tos.toString(16)}`);
  if (a.ttl !== undefined) argv.push('-t', String(a.ttl));
  if (a.source !== undefined) argv.push('-I', a.source);
  argv.push(a.family === 'ipv6' ? '-6' : '-4', a.address);
  return argv;
}

/** The probe knobs of a ping check, as words for its one-line description ("tos 0x28, ttl 3"). */
export function pingKnobs(c: Pick<PingArgs, 'tos' | 'ttl' | 'pmtu' | 'source'>): string {
  const k: string[] = [];
  if (c.pmtu) k.push(`pmtu ${c.pmtu}`);
  if (c.tos !== undefined) k.push(`tos 0x${c.tos.toString(16)}`);
  if (c.ttl !== undefined) k.push(`ttl ${c.ttl}`);
  if (c.source !== undefined) k.push(`from ${c.source}`);
  return k.join(', ');
}

/** 200 → "0.2", 1000 → "1": ping takes the interval in seconds. */
function seconds(ms: number): string {
  return String(Number((ms / 1000).toFixed(3)));
}

export interface MtuHint {
  mtu: number;
  /** local: the sender's own kernel refused (EMSGSIZE); icmp: a router sent "frag needed"/"packet too big". */
  source: 'local' | 'icmp';
  from?: string;
}

export interface PingOutput {
  /** The statistics block was printed (ping ran to its end). */
  complete: boolean;
  transmitted: number;
  received: number;
  errors: number;
  lossPct: number;
  rtt?: { min: number; avg: number; max: number; mdev: number };
  /** Distinct reasons for lost packets, in order of first appearance, e.g. "Destination Host Unreachable (from 203.0.113.1)". */
  problems: string[];
  /** Errors that mean "traffic could not leave / no route": count as evidence of unreachability. */
  networkErrors: string[];
  mtuHint?: MtuHint;
  /** ping did not run (bad argument, unknown namespace, not installed): the message. */
  fatal?: string;
  /** Per-probe round trips of the replies, in the order printed: icmp_seq and milliseconds. */
  replies: { seq: number; ms: number }[];
  /** Probes still on their way when ping stopped at its count-th reply: not judged (settleInFlight). */
  inFlight: number;
}

// "0 packets transmitted, 0 received" (nothing could be sent) has no loss figure.
const STATS = /(\d+) packets transmitted, (\d+) (?:packets )?received(?:, \+(\d+) duplicates)?(?:, \+(\d+) errors)?(?:, ([0-9.]+)% packet loss)?/;
const RTT = /(?:rtt|round-trip) min\/avg\/max(?:\/mdev)? = ([0-9.]+)\/([0-9.]+)\/([0-9.]+)(?:\/([0-9.]+))? ms/;

export function parsePing(stdout: string, stderr = ''): PingOutput {
  const out: PingOutput = { complete: false, transmitted: 0, received: 0, errors: 0, lossPct: 100, problems: [], networkErrors: [], replies: [], inFlight: 0 };
  const note = (p: string) => {
    if (!out.problems.includes(p)) out.problems.push(p);
  };
  const stats = STATS.exec(stdout);
  if (stats) {
    out.complete = true;
    out.transmitted = Number(stats[1]);
    out.received = Number(stats[2]);
    out.errors = Number(stats[4] ?? 0);
    out.lossPct = stats[5] !== undefined ? Number(stats[5]) : out.transmitted ? (100 * (out.transmitted - out.received)) / out.transmitted : 100;
  }
  const rtt = RTT.exec(stdout);
  if (rtt) out.rtt = { min: Number(rtt[1]), avg: Number(rtt[2]), max: Number(rtt[3]), mdev: Number(rtt[4] ?? 0) };

  for (const line of stdout.split('\n')) {
    // "64 bytes from 203.0.113.2: icmp_seq=1 ttl=64 time=0.050 ms" (DUP! lines are not replies)
    const reply = /^\d+ bytes from \S+ icmp_seq=(\d+)(?: \S+)*? time=([0-9.]+) ms$/.exec(line.trim().replace(/:(?= icmp_seq)/, ''));
    if (reply) {
      out.replies.push({ seq: Number(reply[1]), ms: Number(reply[2]) });
      continue;
    }
    // "From 203.0.113.254 icmp_seq=1 Frag needed and DF set (mtu = 1400)"
    const from = /^From (\S+?):? (?:icmp_seq=\d+ )?(.+)$/.exec(line.trim());
    if (!from) continue;
    const [, who, text] = from as unknown as [string, string, string];
    note(`${text.trim()} (from ${who})`);
    const mtu = /(?:Frag needed and DF set \(mtu = |Packet too big: mtu=)(\d+)/.exec(text);
    if (mtu) out.mtuHint = { mtu: Number(mtu[1]), source: 'icmp', from: who };
  }
  let fatal: string | undefined;
  for (const raw of stderr.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const local = /local error: message too long, mtu[=:] ?(\d+)/.exec(line);
    if (local) {
      note(line.replace(/^ping: /, ''));
      out.mtuHint ??= { mtu: Number(local[1]), source: 'local' };
      continue;
    }
    // "ping: connect: Network is unreachable", "ping: sendmsg: No buffer space available"
    const sys = /^ping: (connect|sendmsg|sendto): (.+)$/.exec(line);
    if (sys) {
      note(`${sys[1]}: ${sys[2]}`);
      if (/unreachable|No route to host|not permitted|Permission denied/i.test(sys[2]!)) {
        if (!out.networkErrors.includes(sys[2]!)) out.networkErrors.push(sys[2]!);
      }
      continue;
    }
    if (/^(ping: )?Warning:/i.test(line)) continue;
    fatal ??= line;
  }
  if (!out.complete && out.networkErrors.length === 0) out.fatal = fatal ?? (stdout.trim() || 'ping printed no statistics');
  return out;
}

/**
 * `ping -c N -w D` stops the moment its N-th reply arrives and counts every probe sent meanwhile
 * as lost: on a slow path (a TCG guest, 100 ms of netem delay) a healthy path read "16.7% loss:
 * 5/6 replies". A probe sent after the last answered one has had less time than that reply's
 * round trip — it is in flight, not lost — so it is left out of the judged probes. Only when ping
 * stopped on its count: stopped by its deadline, every unanswered probe counts, as before. Both
 * paths (ping's own output, the in-process transcript) go through here, so they still agree.
 */
export function settleInFlight(p: PingOutput, count: number): PingOutput {
  if (!p.complete || p.received < count || p.replies.length === 0) return p;
  const inFlight = Math.max(0, p.transmitted - Math.max(...p.replies.map((r) => r.seq)));
  if (inFlight === 0) return p;
  const judged = p.transmitted - inFlight;
  return { ...p, inFlight, lossPct: (100 * Math.max(0, judged - p.received)) / judged };
}

export type Verdict = { ok: true } | { ok: false; message: string };

/** Summary of what ping saw, used in every message: "100% loss: 0/3 replies; Destination Host Unreachable (from …)". */
export function describePing(p: PingOutput): string {
  const inFlight = p.inFlight ? ` (+${p.inFlight} still in flight when ping stopped, not judged)` : '';
  const base = p.complete && p.transmitted > 0 ? `${formatPercent(p.lossPct)} loss: ${p.received}/${p.transmitted - p.inFlight} replies${inFlight}` : 'no packet could be sent';
  const why = [...p.problems];
  return why.length ? `${base}; ${why.join('; ')}` : base;
}

export function pingVerdict(expect: PingCheck['expect'], maxLossPct: number, p: PingOutput): Verdict {
  if (expect === 'reachable') {
    if (p.received > 0 && p.lossPct <= maxLossPct) return { ok: true };
    return { ok: false, message: `expected reachable (loss ≤ ${formatPercent(maxLossPct)}), saw ${describePing(p)}` };
  }
  if (p.received === 0 && (p.lossPct === 100 || !p.complete)) return { ok: true };
  return { ok: false, message: `expected unreachable (100% loss, no reply), saw ${describePing(p)}` };
}

export function pingFigures(p: PingOutput): Record<string, string | number | boolean> {
  const f: Record<string, string | number | boolean> = { sent: p.transmitted, received: p.received, loss: formatPercent(p.lossPct) };
  if (p.errors) f.errors = p.errors;
  if (p.inFlight) f.in_flight = p.inFlight;
  if (p.rtt) {
    f.rtt_min_ms = p.rtt.min;
    f.rtt_avg_ms = p.rtt.avg;
    f.rtt_max_ms = p.rtt.max;
  }
  if (p.mtuHint) f.mtu_hint = p.mtuHint.mtu;
  return f;
}

/**
 * The tool's own stderr. The local executor fills an empty stderr with execa's summary
 * ("Command failed with exit code 1: …"), which is not something the tool said.
 */
export function toolStderr(stderr: string): string {
  return /^Command failed with exit code -?\d+: /.test(stderr) || /^Command was killed with /.test(stderr) ? '' : stderr;
}

export function rawOf(r: RunResult): string {
  const err = toolStderr(r.stderr);
  return `$ ${shellQuote(r.argv)}\n(exit ${r.exitCode}${r.timedOut ? ', timed out' : ''})\n${r.stdout}${err ? `\n[stderr]\n${err}` : ''}`;
}

/**
 * Whether this check's probes can be sent from this process (lib/checks/icmp/) instead of a
 * `ping` process per check: the endpoint is on this machine, and the check is not a DF/PMTU
 * probe (ping reports a local "message too long, mtu=N" from its socket error queue, which the
 * MTU figures depend on; those keep the process). `ctx.probes: 'process'` forces the process
 * path (the equivalence test and the benchmark run both).
 */
export function canPingInProcess(check: Pick<PingCheck, 'df' | 'pmtu'>, ep: { exec: { inProcess?: boolean } }, ctx: Pick<CheckContext, 'probes'>): boolean {
  const probes = ctx.probes ?? (process.env.GENEVE_LAB_PROBES === 'process' ? 'process' : 'auto');
  return probes !== 'process' && ep.exec.inProcess === true && !check.df && !check.pmtu;
}

/** Ping in-process; undefined when that is not possible here (no FFI, no CAP_NET_RAW): the caller runs ping. */
async function inProcess(ns: string | undefined, argv: string[], a: PingArgs, signal?: AbortSignal): Promise<{ inProcess: true; raw: string; stdout: string; stderr: string; timedOut: false } | undefined> {
  try {
    const out = await pingInProcess(ns, a, signal);
    const equivalent = `$ ${shellQuote(inNetns(ns, argv))}`;
    return { inProcess: true, timedOut: false, ...out, raw: `# in-process ICMP (no ping process), the equivalent of\n${equivalent}\n${out.stdout}${out.stderr ? `\n[stderr]\n${out.stderr}` : ''}` };
  } catch (e) {
    if (e instanceof InProcessUnavailable) return undefined;
    throw e;
  }
}

export async function runPing(check: PingCheck, ctx: CheckContext): Promise<CheckResult> {
  const started = Date.now();
  const ep = ctx.endpoint(check.from);
  const address = ctx.address(check.to, check.family);
  const knobs = pingKnobs(check);
  const what = `ping ${check.from} → ${check.to}${address !== check.to ? ` (${address})` : ''}, ${check.count} × ${check.size} B${check.df && !check.pmtu ? ' DF' : ''}${knobs ? `, ${knobs}` : ''}, expect ${check.expect}`;
  const pingArgs: PingArgs = {
    address, family: check.family, count: check.count, intervalMs: check.intervalMs, deadlineS: check.deadlineS, size: check.size, df: check.df,
    ...(check.tos !== undefined ? { tos: check.tos } : {}),
    ...(check.ttl !== undefined ? { ttl: check.ttl } : {}),
    ...(check.pmtu ? { pmtu: check.pmtu } : {}),
    ...(check.source !== undefined ? { source: check.source } : {}),
  };
  const argv = pingArgv(pingArgs);
  const r = (canPingInProcess(check, ep, ctx) && (await inProcess(ep.ns, argv, pingArgs, ctx.signal))) || (await ep.exec.run(inNetns(ep.ns, argv), { timeoutMs: (check.deadlineS + 5) * 1000 }));
  const base = { name: check.name, kind: check.kind, what, raw: 'inProcess' in r ? r.raw : rawOf(r) };
  const p = settleInFlight(parsePing(r.stdout, toolStderr(r.stderr)), check.count);
  if (r.timedOut || p.fatal) {
    const why = r.timedOut ? `ping did not finish within ${check.deadlineS + 5} s` : p.fatal;
    return { ...base, status: 'error', message: `could not run ping from "${check.from}"${ep.ns ? ` (netns ${ep.ns})` : ''}: ${why}`, figures: {}, durationMs: Date.now() - started };
  }
  const v = pingVerdict(check.expect, check.maxLossPct, p);
  return {
    ...base,
    status: v.ok ? 'passed' : 'failed',
    ...(v.ok ? {} : { message: v.message }),
    figures: pingFigures(p),
    durationMs: Date.now() - started,
    details: p,
  };
}
