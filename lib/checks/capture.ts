/**
 * The capture check: run tcpdump inside a namespace on an interface while another check makes
 * traffic, then decode the pcap with the project's own decoder (lib/wire) and assert on it.
 */
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpError } from '../errors.js';
import { inNetns, shellQuote, type Executor, type RunResult } from '../exec/executor.js';
import type { CaptureCheck } from '../model/types.js';
import { decodeCapture, type DecodedPacket, type DecodeOptions } from '../wire/decode.js';
import type { CheckContext } from './context.js';
import { matchCapture, type CaptureMatch } from './capture-expect.js';
import type { CheckResult } from './result.js';
import { ovnNamesOf, resolveOvnExpect, wireLegend, type ResolvedOvnExpect } from './capture-ovn.js';
import { ovnExec } from './ovn.js';
import { DEFAULT_RUN_ROOT, ovnTarget } from '../ovn/query.js';
import type { EspSa } from '../wire/esp.js';

export { matchCapture, validateCaptureExpect, CAPTURE_KEYS } from './capture-expect.js';

export interface CaptureOptions {
  file: string;
  /** tcpdump/BPF capture filter, e.g. "udp port 6081". One argv element, never parsed by a shell. */
  filter?: string;
  /** Bytes kept per packet; default 0 = whole packets. */
  snaplen?: number;
  /** Ports to decode as Geneve/VXLAN besides the defaults (6081; 4789, 8472). */
  decode?: DecodeOptions;
  /** How long to wait for tcpdump to start listening (default 10 s). */
  startTimeoutMs?: number;
  /**
   * ESP keys, to decrypt ESP packets: read once tcpdump listens and again once the traffic is
   * over, and the two joined — an SA that IKE replaced or deleted during the capture (a rekey, a
   * duplicate CHILD_SA closed) was only there at the start, one it made only at the end.
   */
  espSas?: () => Promise<EspSa[]>;
}

/** What a capture check records: tunnels over UDP (Geneve, VXLAN; IKE too), GRE, and ESP. */
export const CAPTURE_FILTER = 'udp or proto 47 or proto 50';

export interface CaptureOutcome {
  file: string;
  packets: DecodedPacket[];
  /** Non-fatal reader warnings, e.g. a last record cut short. */
  warnings: string[];
  /** From tcpdump's exit summary, when it printed one. */
  stats: { captured?: number; dropped?: number };
  stderr: string;
}

export interface RunningCapture {
  readonly argv: string[];
  stop(): Promise<CaptureOutcome>;
}

/** Files on the machine the executor runs on: the local filesystem, or through the executor (SSH). */
function files(exec: Executor) {
  const local = exec.where === 'local';
  return {
    async remove(f: string) {
      if (local) await rm(f, { force: true });
      else await exec.run(['rm', '-f', f]);
    },
    /** Size in bytes, or undefined when the file does not exist. */
    async size(f: string): Promise<number | undefined> {
      if (local) return stat(f).then((s) => s.size, () => undefined);
      const r = await exec.run(['stat', '-c', '%s', f]);
      return r.exitCode === 0 ? Number(r.stdout.trim()) : undefined;
    },
    async read(f: string): Promise<Buffer> {
      if (local) return readFile(f);
      // The executor returns text; base64 keeps the binary pcap intact over it.
      const r = await exec.run(['base64', '-w0', f]);
      if (r.exitCode !== 0) throw new Error(`cannot read ${f} on ${exec.where}: ${r.stderr.trim()}`);
      return Buffer.from(r.stdout.trim(), 'base64');
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function captureFailure(ep: { exec: Executor; ns?: string }, ifname: string, argv: string[], r: RunResult | undefined, what: string): OpError {
  return new OpError({
    subject: `capture on ${ifname}`,
    ...(ep.ns ? { ns: ep.ns } : {}),
    request: shellQuote(argv),
    kernelMessage: `${what}${r?.stderr.trim() ? `: ${r.stderr.trim().split('\n').filter((l) => !/^listening on|packets (captured|received|dropped)/.test(l)).join(' / ')}` : ''}`,
    ...(r ? { stderr: r.stderr, exitCode: r.exitCode } : {}),
  });
}

/**
 * Start tcpdump on `ifname` (inside `ep.ns`) writing to `opts.file`. Resolves only once tcpdump has
 * opened its socket and the output file, which it does after binding to the interface and setting
 * the filter and just before it prints "listening on" — so traffic sent afterwards is captured.
 */
export async function startCapture(ep: { exec: Executor; ns?: string }, ifname: string, opts: CaptureOptions): Promise<RunningCapture> {
  const fs = files(ep.exec);
  await fs.remove(opts.file);
  const argv = inNetns(ep.ns, [
    'tcpdump',
    '-i', ifname,
    '-n',
    '-U', // write each packet as it arrives, so stopping loses nothing
    '--immediate-mode', // no kernel block timeout between the wire and the file
    '-Z', 'root', // Debian's tcpdump would otherwise drop to user "tcpdump" and fail to write root-owned dirs
    '-s', String(opts.snaplen ?? 0),
    '-w', opts.file,
    ...(opts.filter ? [opts.filter] : []),
  ]);
  const bg = ep.exec.start(argv);
  let exited: RunResult | undefined;
  void bg.done.then((r) => (exited = r));
  const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
  for (;;) {
    if (exited) throw captureFailure(ep, ifname, argv, exited, `tcpdump exited (code ${exited.exitCode}) before it started listening`);
    if ((await fs.size(opts.file)) !== undefined) break;
    if (Date.now() > deadline) {
      const r = await bg.stop(1000);
      throw captureFailure(ep, ifname, argv, r, `tcpdump did not start listening within ${opts.startTimeoutMs ?? 10_000} ms`);
    }
    await sleep(25);
  }
  // Not awaited here: the traffic may start at once; the reading is joined at stop().
  const espAtStart = opts.espSas?.().catch(() => undefined);
  return {
    argv,
    async stop() {
      // Let packets already in flight reach the file: wait until its size stops changing.
      let last = await fs.size(opts.file);
      for (let i = 0; i < 15; i++) {
        await sleep(100);
        const now = await fs.size(opts.file);
        if (now === last && i >= 1) break;
        last = now;
      }
      const r = exited ?? (await bg.stop(3000));
      if (r.exitCode !== 0 && r.exitCode !== -1 && !/packets captured/.test(r.stderr)) {
        throw captureFailure(ep, ifname, argv, r, `tcpdump failed (code ${r.exitCode})`);
      }
      const buf = await fs.read(opts.file);
      const espSas = opts.espSas ? joinKeyrings(await opts.espSas().catch(() => undefined), await espAtStart) : undefined;
      const { packets, warnings } = decodeCapture(buf, { ...opts.decode, ...(espSas ? { espSas } : {}) });
      const num = (re: RegExp) => {
        const m = re.exec(r.stderr);
        return m ? Number(m[1]) : undefined;
      };
      const stats: CaptureOutcome['stats'] = {};
      const captured = num(/(\d+) packets? captured/);
      const dropped = num(/(\d+) packets? dropped by kernel/);
      if (captured !== undefined) stats.captured = captured;
      if (dropped !== undefined) stats.dropped = dropped;
      return { file: opts.file, packets, warnings, stats, stderr: r.stderr };
    },
  };
}

/** Both readings of the SAs, the later first; an SA is one SPI to one destination. */
export function joinKeyrings(atEnd: EspSa[] | undefined, atStart: EspSa[] | undefined): EspSa[] | undefined {
  if (!atEnd && !atStart) return undefined;
  const out = [...(atEnd ?? [])];
  const seen = new Set(out.map((sa) => `${sa.spi}/${sa.dst ?? ''}`));
  for (const sa of atStart ?? []) if (!seen.has(`${sa.spi}/${sa.dst ?? ''}`)) out.push(sa);
  return out;
}

/** Which UDP ports to decode as which tunnel, from the lab's tunnels and the expectation itself. */
export function decodeOptionsFor(ctx: CheckContext | undefined, expect: Record<string, unknown>): DecodeOptions {
  const genevePorts = new Set<number>([6081]);
  const vxlanPorts = new Set<number>([4789, 8472]);
  for (const t of ctx?.lab.tunnels ?? []) {
    // Each end's own port too (ends: { X: { dstport } }): a port mismatch is still decoded.
    for (const p of [t.type === 'geneve' ? t.geneve?.dstport : t.type === 'vxlan' ? t.vxlan?.dstport : undefined, ...(t.ends ?? []).map((e) => e.overrides?.dstport)])
      if (p !== undefined && t.type !== 'gre') (t.type === 'geneve' ? genevePorts : vxlanPorts).add(p);
  }
  const flat = JSON.stringify(expect);
  const port = Number((expect['udp.dstport'] ?? (expect.udp as Record<string, unknown> | undefined)?.dstport) as unknown);
  if (Number.isInteger(port) && port > 0) {
    if (flat.includes('vxlan')) vxlanPorts.add(port);
    else genevePorts.add(port);
  }
  for (const p of genevePorts) vxlanPorts.delete(p);
  return { genevePorts: [...genevePorts], vxlanPorts: [...vxlanPorts] };
}

/**
 * Run a capture check: start capturing on the host's interface, run `during` (the check that makes
 * the traffic), stop, decode and match. The pcap stays in the artifacts directory.
 */
export async function runCaptureCheck(ctx: CheckContext, check: CaptureCheck, during: () => Promise<unknown>): Promise<CheckResult> {
  const started = Date.now();
  const ep = ctx.endpoint(check.host);
  // The pcap is kept only in an artifacts directory the user asked for; otherwise it lives in a
  // private temporary directory that is removed once the packets are decoded.
  const keep = ctx.artifactsDir !== undefined;
  const local = ep.exec.where === 'local';
  const dir = keep
    ? ctx.artifactsDir!
    : ctx.tempDir
      ? await ctx.tempDir(ep, 'capture')
      : local
        ? await mkdtemp(join(tmpdir(), 'geneve-lab-capture-'))
        : `/tmp/geneve-lab-capture-${randomBytes(6).toString('hex')}`;
  if (local) await mkdir(dir, { recursive: true });
  else await ep.exec.run(['mkdir', '-p', dir]);
  const file = join(dir, `${check.name.replace(/[^A-Za-z0-9_.-]/g, '_')}.pcap`);
  const mode = check.packets ?? 'any';
  const sel = check.match && Object.keys(check.match).length ? ` of those with ${Object.entries(check.match).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(', ')}` : '';
  const what = `capture on ${check.host}/${check.ifname} during "${check.during}", ${mode === 'any' ? `≥${check.atLeast}` : mode === 'all' ? 'all' : 'the first'} matching${sel}`;
  const base = { name: check.name, kind: check.kind, what };
  // `ovn: {datapath, ingress, egress}` names logical objects: their tunnel keys come from the SB now.
  let ovn: ResolvedOvnExpect | undefined;
  if (ovnNamesOf(check.expect)) {
    try {
      ovn = await resolveOvnExpect(ovnTarget(ctx.lab, ovnExec(ctx), ctx.runRoot ?? DEFAULT_RUN_ROOT), check.expect);
    } catch (e) {
      return { ...base, status: 'error', message: `ovn: ${e instanceof Error ? e.message : String(e)}`, figures: {}, durationMs: Date.now() - started };
    }
  }
  const expect = ovn?.expect ?? check.expect;
  let outcome: CaptureOutcome;
  try {
    // Frames that are no tunnel packets (encap: none, e.g. on a guest's port): every frame is recorded.
    const plain = [check.match, expect, check.forbid].some((m) => (m as Record<string, unknown> | undefined)?.encap === 'none');
    const decode = { ...decodeOptionsFor(ctx, { ...(check.match ?? {}), ...expect }), ...(plain ? { plainFrames: true } : {}) };
    const cap = await startCapture(ep, check.ifname, { file, ...(plain ? {} : { filter: CAPTURE_FILTER }), decode, ...(ctx.espSas ? { espSas: ctx.espSas } : {}) });
    try {
      await during();
    } finally {
      outcome = await cap.stop();
    }
  } catch (e) {
    return { ...base, status: 'error', message: e instanceof Error ? e.message : String(e), figures: {}, durationMs: Date.now() - started };
  } finally {
    if (!keep) {
      if (local) await rm(dir, { recursive: true, force: true });
      else await ep.exec.run(['rm', '-rf', '--', dir]);
    }
  }
  const m: CaptureMatch = matchCapture(outcome.packets, expect, check.atLeast, { ...(check.match ? { match: check.match } : {}), packets: mode, ...(check.forbid ? { forbid: check.forbid } : {}) });
  const warnings = [...outcome.warnings, ...(outcome.stats.dropped ? [`tcpdump: ${outcome.stats.dropped} packets dropped by the kernel`] : [])];
  // Both sides in names and keys: what the SB said the names are, what the wire's keys name.
  const ovnText = ovn ? ` — expected: ${ovn.resolved}; ${wireLegend(outcome.packets, ovn.keys) || 'no geneve packet on the wire'}` : '';
  return {
    ...base,
    status: m.ok ? 'passed' : 'failed',
    ...(m.ok ? {} : { message: m.message + ovnText + (warnings.length ? ` (${warnings.join('; ')})` : '') }),
    figures: { ...m.figures, ...(keep ? { pcap: file } : {}) },
    durationMs: Date.now() - started,
    raw: outcome.stderr,
    details: { file, summary: m.message + ovnText, packets: outcome.packets, ...(ovn ? { ovn: ovn.resolved } : {}) },
  };
}
