/**
 * The `transfer` check: N random bytes (seeded, so reproducible) from one node to another over
 * TCP or UDP, verified on the receiver by length and SHA-256 against the digest computed here.
 * Both ends are the built-in agent (transfer-agent.ts) run with Node.js inside the namespaces:
 * the receiver is started first and known to listen (ss) before the sender starts; both are
 * always stopped. `expect: undelivered` turns it around (a black hole, a filter must stop it).
 */
import { inNetns, type Background, type Executor, type RunResult } from '../exec/executor.js';
import type { TransferCheck } from '../model/look-checks.js';
import type { CheckContext, Endpoint } from './context.js';
import type { Assertion, Verdict } from './expect.js';
import { assertionVerdict } from './expect.js';
import { usedPorts } from './iperf.js';
import { serverEndpoint } from './nodes.js';
import { rawOf, toolStderr } from './ping.js';
import type { CheckResult } from './result.js';
import { AGENT_SOURCE, parseAgentReport, payloadSha256, type AgentReport } from './transfer-agent.js';
import { formatBitrate } from './units.js';

/** The node binary: this process's own locally (namespaces share the filesystem), `node` on an SSH host. */
function nodeBinary(exec: Executor): string {
  return exec.where === 'local' ? process.execPath : 'node';
}

export function agentArgv(exec: Executor, mode: 'recv' | 'send', opts: Record<string, string | number>): string[] {
  return [nodeBinary(exec), '-e', AGENT_SOURCE, mode, ...Object.entries(opts).flatMap(([k, v]) => [`--${k}`, String(v)])];
}

/** For messages and raw output: the argv without the agent's source. */
function shown(r: RunResult): RunResult {
  return { ...r, argv: r.argv.map((a) => (a === AGENT_SOURCE ? '<transfer-agent>' : a)) };
}

export function describeSize(n: number): string {
  if (n >= 1024 ** 3 && n % 1024 ** 3 === 0) return `${n / 1024 ** 3} GiB`;
  if (n >= 1024 ** 2 && n % 1024 ** 2 === 0) return `${n / 1024 ** 2} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

export function transferWhat(check: TransferCheck): string {
  return `transfer ${describeSize(check.bytes)} ${check.protocol.toUpperCase()} ${check.from} → ${check.to} (seed ${check.seed})${check.expect === 'undelivered' ? ', expect undelivered' : ''}`;
}

/**
 * The verdict from what the receiver reported. `sendError`: the sender could not send (the
 * receiver was listening, so that is the network failing the transfer, not the check).
 */
export function transferVerdict(check: TransferCheck, subject: string, expectedSha: string, recv: AgentReport | undefined, sendError?: string): Verdict {
  const assertions: Assertion[] = [
    { field: 'bytes received', expected: String(check.bytes), observed: recv?.bytes !== undefined ? String(recv.bytes) : '(nothing)', ok: recv?.bytes === check.bytes },
    { field: 'sha256 of the bytes received', expected: expectedSha, observed: recv?.sha256 ?? '(none)', ok: recv?.sha256 === expectedSha },
  ];
  if (check.expect === 'delivered') {
    const v = assertionVerdict(subject, assertions);
    if (v.status === 'failed' && (sendError || recv?.error)) v.message += `\n  ${[sendError && `sender: ${sendError}`, recv?.error && `receiver: ${recv.error}`].filter(Boolean).join('; ')}`;
    if (v.status === 'failed' && recv?.expected) v.message += `\n  UDP datagrams received: ${recv.datagrams ?? 0} of ${recv.expected}`;
    return v;
  }
  const intact = assertions.every((a) => a.ok);
  return intact
    ? { status: 'failed', message: `${subject}:\n  expected the transfer NOT to arrive intact, but all ${check.bytes} bytes arrived with the right SHA-256`, assertions: [{ field: 'delivered intact', expected: 'no', observed: 'yes', ok: false }] }
    : { status: 'passed', assertions: [{ field: 'delivered intact', expected: 'no', observed: `no (${recv?.bytes ?? 0} of ${check.bytes} bytes${recv?.sha256 && recv.bytes === check.bytes ? ', wrong SHA-256' : ''})`, ok: true }] };
}

/** Is something of ours listening on `port` in the endpoint's namespace (TCP or UDP)? */
async function listening(ep: Endpoint, protocol: 'tcp' | 'udp', port: number): Promise<boolean> {
  const r = await ep.exec.run(inNetns(ep.ns, ['ss', protocol === 'tcp' ? '-Hltn' : '-Hlun', `sport = :${port}`]), { timeoutMs: 5000 });
  return r.exitCode === 0 && r.stdout.trim() !== '';
}

export async function runTransfer(check: TransferCheck, ctx: CheckContext): Promise<CheckResult> {
  const started = Date.now();
  const base = { name: check.name, kind: check.kind, what: transferWhat(check) };
  const done = (v: Verdict, raw: string, figures: CheckResult['figures'] = {}): CheckResult => ({
    ...base,
    status: v.status,
    ...(v.message ? { message: v.message } : {}),
    figures,
    durationMs: Date.now() - started,
    raw,
    details: { assertions: v.assertions },
  });
  const error = (message: string, raw = '') => done({ status: 'error', message, assertions: [] }, raw);

  let sender: Endpoint;
  let receiver: Endpoint;
  let address: string;
  try {
    sender = ctx.endpoint(check.from);
    receiver = serverEndpoint(ctx, check.to);
    address = ctx.address(check.to, check.family);
  } catch (e) {
    return error((e as Error).message);
  }
  const where = `"${receiver.name}"${receiver.ns ? ` (netns ${receiver.ns})` : ''}`;
  let port = check.port;
  if (port === undefined) {
    const used = await usedPorts(receiver);
    do port = 20000 + Math.floor(Math.random() * 40000);
    while (used.has(port));
  }
  const expectedSha = payloadSha256(check.bytes, check.seed);
  const subject = `${describeSize(check.bytes)} over ${check.protocol.toUpperCase()} from "${check.from}" to ${address}:${port}`;

  // The receiver: started first, known to be listening before anything is sent.
  const recvArgv = inNetns(receiver.ns, agentArgv(receiver.exec, 'recv', { proto: check.protocol, host: address, port, timeout: check.timeoutMs }));
  const rx: Background = receiver.exec.start(recvArgv);
  let rxResult: RunResult | undefined;
  void rx.done.then((r) => (rxResult = r));
  try {
    const deadline = Date.now() + (receiver.exec.where === 'local' ? 10_000 : 30_000);
    while (!(await listening(receiver, check.protocol, port))) {
      if (rxResult) {
        const rep = parseAgentReport(rxResult.stdout);
        const why = rep?.error ?? (toolStderr(rxResult.stderr).trim() || `exited with code ${rxResult.exitCode}`);
        return error(`the transfer receiver in ${where} did not start: ${why}${rxResult.spawnError === 'ENOENT' ? ' (Node.js is needed on that host)' : ''}`, rawOf(shown(rxResult)));
      }
      if (Date.now() > deadline) {
        const r = await rx.stop(1000);
        return error(`the transfer receiver in ${where} was not listening on ${check.protocol.toUpperCase()} port ${port} after ${(deadline - started) / 1000 | 0} s`, rawOf(shown(r)));
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    const sendArgv = inNetns(sender.ns, agentArgv(sender.exec, 'send', { proto: check.protocol, host: address, port, bytes: check.bytes, seed: check.seed, chunk: check.chunk, rate: check.rateBps, timeout: check.timeoutMs }));
    const tx = await sender.exec.run(sendArgv, { timeoutMs: check.timeoutMs + 10_000 });
    const sent = parseAgentReport(tx.stdout);
    if (!sent && tx.exitCode !== 0) {
      await rx.stop(1000);
      const why = toolStderr(tx.stderr).trim() || `exit ${tx.exitCode}`;
      return error(`the transfer sender in "${check.from}" could not run: ${why}${tx.spawnError === 'ENOENT' ? ' (Node.js is needed on that host)' : ''}`, rawOf(shown(tx)));
    }
    // The receiver ends by itself: at the end of the TCP stream, or when every datagram (or
    // nothing more for 2 s) arrived. When the sender failed, what arrived is all there will be.
    const grace = sent?.error || tx.exitCode !== 0 ? 500 : check.protocol === 'udp' ? 5000 : 10_000;
    const rxr = await Promise.race([rx.done, new Promise<undefined>((res) => setTimeout(() => res(undefined), grace))]);
    const final = rxr ?? (await rx.stop(1000));
    const recv = parseAgentReport(final.stdout);
    const raw = `[receiver]\n${rawOf(shown(final))}\n[sender]\n${rawOf(shown(tx))}`;
    if (!recv && !sent?.error) return error(`the transfer receiver in ${where} printed no report: ${toolStderr(final.stderr).trim() || `exit ${final.exitCode}`}`, raw);
    const v = transferVerdict(check, subject, expectedSha, recv, sent?.error);
    const figures: CheckResult['figures'] = { bytes: recv?.bytes ?? 0 };
    if (recv?.ms && recv.bytes) figures.throughput = formatBitrate((recv.bytes * 8 * 1000) / recv.ms);
    if (recv?.expected) figures.datagrams = `${recv.datagrams ?? 0}/${recv.expected}`;
    return done(v, raw, figures);
  } finally {
    if (!rxResult) await rx.stop(1000).catch(() => undefined);
  }
}
