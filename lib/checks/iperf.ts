/**
 * The iperf3 check. The check owns the server: it starts `iperf3 -s -1` inside the `to`
 * namespace on a free port, waits until the port is listening (or the server died, or a few
 * seconds passed — never a hang), runs the client with --json in the `from` namespace, and
 * always stops the server. Figures come from the receiver's side of the JSON.
 */
import { inNetns, type Background } from '../exec/executor.js';
import type { Family, IperfCheck } from '../model/types.js';
import type { CheckContext, Endpoint } from './context.js';
import type { CheckResult } from './result.js';
import { rawOf, toolStderr } from './ping.js';
import { formatBitrate, formatPercent, parseBitrate } from './units.js';
import { serverEndpoint } from './nodes.js';
import { withUnderlayBaseline } from './iperf-baseline.js';

export interface IperfClientArgs {
  address: string;
  port: number;
  family: Family;
  protocol: 'tcp' | 'udp';
  durationS: number;
  parallel: number;
  reverse: boolean;
  bitrateBps?: number;
  connectTimeoutMs?: number;
}

export function iperfServerArgv(port: number, idleTimeoutS: number): string[] {
  // -1: serve one test and exit; --idle-timeout: exit even if no client ever comes.
  return ['iperf3', '-s', '-1', '-p', String(port), '--json', '--idle-timeout', String(idleTimeoutS)];
}

export function iperfClientArgv(a: IperfClientArgs): string[] {
  const argv = ['iperf3', '-c', a.address, '-p', String(a.port), a.family === 'ipv6' ? '-6' : '-4', '-t', String(a.durationS), '-P', String(a.parallel)];
  if (a.reverse) argv.push('-R');
  if (a.protocol === 'udp') argv.push('-u');
  if (a.bitrateBps !== undefined) argv.push('-b', String(Math.round(a.bitrateBps)));
  // 10 s: TCP's SYN retries come at 1, 3 and 7 s, so an iperf across a lossy link (an impair
  // step at 30% loss) gets four tries per connection — with 3 s it got two, and ~1 run in 10
  // reported "unable to connect" instead of the throughput it was there to measure.
  argv.push('--connect-timeout', String(a.connectTimeoutMs ?? 10_000), '--json');
  return argv;
}

export interface IperfSummary {
  protocol: 'tcp' | 'udp';
  /** Throughput as the receiver counted it (goodput), bits per second. */
  bps: number;
  /** What the sender pushed, bits per second. */
  sentBps: number;
  bytes: number;
  seconds: number;
  retransmits?: number;
  lossPct?: number;
  lostPackets?: number;
  packets?: number;
  jitterMs?: number;
  streams: number;
  reverse: boolean;
}

export type IperfParse = { ok: true; summary: IperfSummary } | { ok: false; error: string };

/** Parse iperf3 --json output (client side). */
export function parseIperfJson(text: string): IperfParse {
  let j: any;
  try {
    j = JSON.parse(text);
  } catch {
    const first = text.trim().split('\n')[0] ?? '';
    return { ok: false, error: first ? `iperf3 did not print JSON: ${first}` : 'iperf3 printed nothing' };
  }
  if (typeof j?.error === 'string') return { ok: false, error: j.error.replace(/^error - /, '') };
  const end = j?.end ?? {};
  const ts = j?.start?.test_start ?? {};
  const protocol: 'tcp' | 'udp' = String(ts.protocol ?? '').toUpperCase() === 'UDP' ? 'udp' : 'tcp';
  const sent = end.sum_sent ?? end.sum;
  const recv = end.sum_received ?? end.sum;
  if (!recv || typeof recv.bits_per_second !== 'number') return { ok: false, error: 'iperf3 JSON has no end.sum_received (test did not complete)' };
  const s: IperfSummary = {
    protocol,
    bps: recv.bits_per_second,
    sentBps: typeof sent?.bits_per_second === 'number' ? sent.bits_per_second : recv.bits_per_second,
    bytes: recv.bytes ?? 0,
    seconds: recv.seconds ?? 0,
    streams: Number(ts.num_streams ?? (end.streams?.length || 1)),
    reverse: Boolean(ts.reverse),
  };
  if (protocol === 'tcp') {
    if (typeof sent?.retransmits === 'number') s.retransmits = sent.retransmits;
  } else {
    // iperf 3.12 puts the receiver's loss/jitter in sum_received; older versions only in sum.
    const u = end.sum_received && typeof end.sum_received.lost_percent === 'number' ? end.sum_received : end.sum;
    if (u) {
      s.lossPct = u.lost_percent;
      s.lostPackets = u.lost_packets;
      s.packets = u.packets;
      s.jitterMs = u.jitter_ms;
    }
  }
  return { ok: true, summary: s };
}

/** iperf3 errors that mean "the network did not carry the test" rather than "iperf3 was misused". */
export function isNetworkFailure(error: string): boolean {
  return /unable to connect|Connection (timed out|refused|reset)|No route to host|Network is unreachable|control socket has closed unexpectedly|unable to (receive|send|read|write)|Broken pipe|timed out/i.test(error);
}

export type Verdict = { ok: true } | { ok: false; message: string };

export function iperfVerdict(check: Pick<IperfCheck, 'minBps' | 'maxLossPct' | 'protocol'>, s: IperfSummary): Verdict {
  const problems: string[] = [];
  if (check.minBps !== undefined && s.bps < check.minBps)
    problems.push(`expected throughput ≥ ${formatBitrate(check.minBps)}, saw ${formatBitrate(s.bps)}${s.sentBps > s.bps * 1.01 ? ` (sender pushed ${formatBitrate(s.sentBps)})` : ''}`);
  if (check.maxLossPct !== undefined && s.lossPct !== undefined && s.lossPct > check.maxLossPct)
    problems.push(`expected loss ≤ ${formatPercent(check.maxLossPct)}, saw ${formatPercent(s.lossPct)} (${s.lostPackets}/${s.packets} datagrams lost)`);
  return problems.length ? { ok: false, message: problems.join('; ') } : { ok: true };
}

export function iperfFigures(s: IperfSummary): Record<string, string | number | boolean> {
  const f: Record<string, string | number | boolean> = { throughput: formatBitrate(s.bps), bps: Math.round(s.bps) };
  if (s.retransmits !== undefined) f.retransmits = s.retransmits;
  if (s.lossPct !== undefined) f.loss = formatPercent(s.lossPct);
  if (s.jitterMs !== undefined) f.jitter_ms = Number(s.jitterMs.toFixed(3));
  return f;
}

/** Ports already bound (TCP or UDP) inside the namespace. */
export async function usedPorts(ep: Endpoint): Promise<Set<number>> {
  const r = await ep.exec.run(inNetns(ep.ns, ['ss', '-Htuan']), { timeoutMs: 5000 });
  const used = new Set<number>();
  // Columns: Netid State Recv-Q Send-Q Local:Port Peer:Port
  for (const line of r.stdout.split('\n')) {
    const local = line.trim().split(/\s+/)[4];
    const port = local ? Number(local.slice(local.lastIndexOf(':') + 1)) : NaN;
    if (Number.isInteger(port)) used.add(port);
  }
  return used;
}

/**
 * Is the port listening — by our server? Another program on the same port must not pass for
 * ours (the client would measure it), so when the pid is known locally it must match.
 */
async function listening(ep: Endpoint, port: number, pid: number | undefined): Promise<boolean> {
  const mine = pid !== undefined && ep.exec.where === 'local';
  const r = await ep.exec.run(inNetns(ep.ns, ['ss', mine ? '-Hltnp' : '-Hltn', `sport = :${port}`]), { timeoutMs: 3000 });
  if (r.exitCode !== 0 || r.stdout.trim() === '') return false;
  return !mine || r.stdout.includes(`pid=${pid},`);
}

export interface IperfServer {
  port: number;
  proc: Background;
  stop(): Promise<string>;
}

/**
 * Start `iperf3 -s` in the endpoint's namespace and wait until it listens. Throws an Error
 * with iperf3's own message when the server exits or does not listen within `readyTimeoutMs`.
 */
export async function startIperfServer(ep: Endpoint, opts: { port?: number; idleTimeoutS: number; readyTimeoutMs?: number }): Promise<IperfServer> {
  const where = `"${ep.name}"${ep.ns ? ` (netns ${ep.ns})` : ''}`;
  let port = opts.port;
  if (port === undefined) {
    const used = await usedPorts(ep);
    do port = 20000 + Math.floor(Math.random() * 40000);
    while (used.has(port));
  }
  const argv = inNetns(ep.ns, iperfServerArgv(port, opts.idleTimeoutS));
  const proc = ep.exec.start(argv);
  let exited: string | undefined;
  void proc.done.then((r) => {
    exited = serverError(r.stdout, r.stderr) ?? `exited with code ${r.exitCode}`;
  });
  // Over SSH every readiness poll is a round trip through the connection plus a process start on
  // the machine (seconds on a slow or emulated one), so the server gets a larger budget there.
  const readyTimeoutMs = opts.readyTimeoutMs ?? (ep.exec.where === 'local' ? 5000 : 20_000);
  const deadline = Date.now() + readyTimeoutMs;
  const stop = async () => {
    const r = await proc.stop(1000);
    return rawOf(r);
  };
  while (true) {
    if (exited !== undefined) {
      await proc.done;
      throw new Error(`iperf3 server in ${where} on port ${port} failed to start: ${exited}`);
    }
    if (await listening(ep, port, proc.pid)) return { port, proc, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`iperf3 server in ${where} on port ${port} was not listening after ${readyTimeoutMs / 1000} s`);
    }
    await new Promise((res) => setTimeout(res, 100));
  }
}

function serverError(stdout: string, stderr: string): string | undefined {
  const p = parseIperfJson(stdout);
  if (!p.ok && /^\s*\{/.test(stdout)) return p.error;
  const line = (toolStderr(stderr).trim() || stdout.trim()).split('\n').find((l) => l.trim());
  return line?.trim();
}

export async function runIperf(check: IperfCheck, ctx: CheckContext, opts: { port?: number } = {}): Promise<CheckResult> {
  // min_ratio: judged against the bare underlay between the same hosts, measured in this run.
  if (check.minRatio !== undefined) return withUnderlayBaseline(check, ctx, (c) => runIperfOnce(c, ctx, opts));
  return runIperfOnce(check, ctx, opts);
}

async function runIperfOnce(check: IperfCheck, ctx: CheckContext, opts: { port?: number } = {}): Promise<CheckResult> {
  const started = Date.now();
  const dir = check.reverse ? '←' : '→';
  const what =
    `iperf3 ${check.protocol.toUpperCase()} ${check.from} ${dir} ${check.to}, ${check.durationS} s` +
    (check.parallel > 1 ? `, ${check.parallel} streams` : '') +
    (check.bitrate ? `, ${check.bitrate}` : '') +
    (check.minBps !== undefined ? `, min ${formatBitrate(check.minBps)}` : '') +
    (check.maxLossPct !== undefined ? `, max loss ${formatPercent(check.maxLossPct)}` : '');
  const base = { name: check.name, kind: check.kind, what };
  const error = (message: string, raw?: string): CheckResult => ({ ...base, status: 'error', message, figures: {}, durationMs: Date.now() - started, ...(raw ? { raw } : {}) });
  const failed = (message: string, raw?: string): CheckResult => ({ ...error(message, raw), status: 'failed' });

  if (check.protocol === 'tcp' && check.maxLossPct !== undefined)
    return error('max_loss applies to UDP iperf checks only (TCP retransmits instead of losing data); remove it or use protocol: udp');
  let bitrateBps: number | undefined;
  try {
    bitrateBps = check.bitrate !== undefined ? parseBitrate(check.bitrate) : undefined;
  } catch (e) {
    return error(`bitrate: ${(e as Error).message}`);
  }
  const client = ctx.endpoint(check.from);
  let serverEp: Endpoint;
  let address: string;
  try {
    // A literal `to` address: the server runs on the lab node that has it.
    serverEp = serverEndpoint(ctx, check.to);
    address = ctx.address(check.to, check.family);
  } catch (e) {
    return error((e as Error).message);
  }

  // UDP tests start with one datagram each way to set up the stream, never retransmitted by
  // iperf3: on a lossy path losing it aborts the run before anything is measured ("unable to read
  // from stream socket"). That is not the property under test, so the whole run is retried (a
  // fresh one-off server each time) and the result says so; a lost measurement is never retried.
  const attempts = check.protocol === 'udp' ? UDP_SETUP_ATTEMPTS : 1;
  let setupRetries = 0;
  let result!: CheckResult;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let server: IperfServer;
    try {
      server = await startIperfServer(serverEp, { port: opts.port, idleTimeoutS: check.durationS * 2 + 30 });
    } catch (e) {
      return error((e as Error).message);
    }
    let raw = '';
    try {
      const argv = iperfClientArgv({ address, port: server.port, family: check.family, protocol: check.protocol, durationS: check.durationS, parallel: check.parallel, reverse: check.reverse, bitrateBps });
      // Generous: on a lossy or emulated (TCG) path iperf3's closing result exchange can take
      // many retransmissions; a client still silent after this is reported as stalled.
      const limitS = check.durationS * 2 + 30;
      const r = await client.exec.run(inNetns(client.ns, argv), { timeoutMs: limitS * 1000 });
      raw = rawOf(r);
      // The server is known to be listening, so a client that cannot reach it or stalls is the
      // network failing the test (a verdict), not the check failing to run.
      if (r.timedOut) result = failed(`iperf3 did not finish within ${limitS} s: traffic from "${check.from}" to ${address}:${server.port} stalled`, raw);
      else {
        const p = parseIperfJson(r.stdout || r.stderr);
        if (!p.ok)
          result = isNetworkFailure(p.error)
            ? failed(`expected a completed iperf3 test from "${check.from}" to ${address}:${server.port} (server listening), saw: ${p.error}`, raw)
            : error(`iperf3 ${check.from} → ${address}:${server.port}: ${p.error}`, raw);
        else {
          const v = iperfVerdict(check, p.summary);
          result = {
            ...base,
            status: v.ok ? 'passed' : 'failed',
            ...(v.ok ? {} : { message: v.message }),
            figures: iperfFigures(p.summary),
            durationMs: Date.now() - started,
            raw,
            details: p.summary,
          };
        }
      }
    } finally {
      // Always stop the server, even when the client threw.
      raw = await server.stop();
    }
    if (attempt < attempts && result.status === 'failed' && isUdpSetupLoss(result.message ?? '')) {
      setupRetries++;
      continue;
    }
    result.raw = `${result.raw ?? ''}\n[server]\n${raw}`;
    break;
  }
  if (setupRetries) result.figures = { ...result.figures, udp_setup_retries: setupRetries };
  return result;
}

const UDP_SETUP_ATTEMPTS = 3;

/** iperf3's words for "the UDP stream-setup datagram (or its answer) was lost". */
export function isUdpSetupLoss(message: string): boolean {
  return /unable to (read from|write to) stream socket/i.test(message);
}

