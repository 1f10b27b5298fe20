/**
 * The engine side of the TUI contract (lib/ui/controller.ts): every key the user presses ends
 * up here as a call on the Engine, the check runner, the capture or the counter sampler. No UI
 * code lives here, and the UI holds none of this logic: it only renders the events on `bus`.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError, ExitCode, UsageError, describeFailure, type OpFailure, type RollbackReport } from '../errors.js';
import type { Executor } from '../exec/executor.js';
import { inNetns } from '../exec/executor.js';
import type { Check, Family, Lab } from '../model/types.js';
import { endNetwork } from '../model/topology.js';
import { bridgeOfctlArgs } from '../model/ovs-program.js';
import type { Step } from '../plan/ops.js';
import { contextFromLab, familyOf, type CheckContext, type Endpoint } from '../checks/context.js';
import { runCheck as runOneCheck, runChecks as runAllChecks, withInnerEvents } from '../checks/run.js';
import type { CheckResult } from '../checks/result.js';
import { runScenario } from '../scenario/run.js';
import { scenarioContext, type RuntimeApplier } from '../scenario/context.js';
import { decodeOptionsFor, startCapture as startTcpdump, type CaptureOptions as TcpdumpOptions, type RunningCapture } from '../checks/capture.js';
import type { DecodedPacket } from '../wire/decode.js';
import { ovsRunDir } from '../plan/ovs.js';
import { ovsEnv } from '../ovs/paths.js';
import { readWatched, sampleCounters } from '../stats/sampler.js';
import { readOvsPortCounters } from '../stats/ovsstats.js';
import type { CounterSample, LinkCounters } from '../stats/linkstats.js';
import { watchTargets, type WatchTarget } from '../stats/targets.js';
import type { CaptureOptions, Controller, CounterOptions, DecodedPacketSummary } from '../ui/controller.js';
import type { EventBus, LabEvent } from './events.js';
import { pidAlive, type LabState } from './state.js';

/** What the controller needs of an Engine (an Engine satisfies it; tests may pass less). */
export interface EngineLike {
  readonly exec: Executor;
  readonly bus: EventBus;
  readonly store: { readonly dir: string; read(lab: string): LabState | undefined };
  up(lab: Lab): Promise<unknown>;
  down(lab: string): Promise<RollbackReport & { found: boolean }>;
  /** What of a recorded lab is missing from the system (Engine.drift); optional for fakes. */
  drift?(state: LabState): Promise<string[]>;
  readonly backend?: { close(): Promise<void> | void };
}

/** Replaceable parts, so the pure tier can run the controller without a kernel. */
export interface ControllerDeps {
  /** Runs before `up` (e.g. doctor's assertRequirements); throws a clear error when something is missing. */
  preflight?: (lab: Lab, exec: Executor) => Promise<void>;
  runChecks?: (checks: Check[], ctx: CheckContext, bus: EventBus) => Promise<CheckResult[]>;
  runCheck?: (check: Check, ctx: CheckContext) => Promise<CheckResult>;
  startCapture?: (ep: { exec: Executor; ns?: string }, ifname: string, opts: TcpdumpOptions) => Promise<RunningCapture>;
  /** Where a capture's temporary pcap goes (removed afterwards). */
  tmpDir?: string;
  /** How many checks run at once (`--jobs`); lib/checks/run.ts's default when absent. */
  jobs?: number;
  now?: () => number;
}

/** Lines kept per step in the log (a flapping step must not grow memory without bound). */
const MAX_LOG_LINES = 200;
const DEFAULT_CAPTURE_COUNT = 5;
const DEFAULT_CAPTURE_TIMEOUT_MS = 10_000;

export class EngineController implements Controller {
  readonly bus: EventBus;
  private readonly logs = new Map<number, string[]>();
  private readonly offBus: () => void;
  private running: string | undefined;
  private readonly now: () => number;
  /** Counter readings in flight: each may run processes inside the lab's namespaces. */
  private readonly reads = new Set<Promise<unknown>>();
  /** While `up` or `down` changes the lab, no counter reading starts (see holdCounters). */
  private countersHeld = false;

  constructor(
    readonly lab: Lab,
    private readonly engine: EngineLike,
    private readonly deps: ControllerDeps = {},
  ) {
    this.bus = engine.bus;
    this.now = deps.now ?? Date.now;
    this.offBus = this.bus.on((e) => this.record(e));
  }

  // ---- lifecycle -------------------------------------------------------------------------

  async up(): Promise<void> {
    await this.exclusive('up', () =>
      this.holdCounters(async () => {
        await this.deps.preflight?.(this.lab, this.engine.exec);
        await this.engine.up(this.lab);
      }),
    );
  }

  async down(): Promise<void> {
    await this.exclusive('down', () =>
      this.holdCounters(async () => {
        const r = await this.engine.down(this.lab.name);
        if (!r.found) {
          this.bus.emit({ type: 'notice', level: 'info', message: `lab "${this.lab.name}" is not up: nothing to remove` });
          return;
        }
        if (r.failures.length) {
          throw new LabError(
            `lab "${this.lab.name}": ${r.failures.length} object(s) could not be removed: ${r.failures.map((f) => describeFailure(f).split('\n')[0]).join('; ')}`,
            ExitCode.applyFailed,
          );
        }
      }),
    );
  }

  // ---- checks ----------------------------------------------------------------------------

  async runChecks(): Promise<void> {
    await this.exclusive('checks', async () => {
      this.requireUp('run the checks');
      if (!this.lab.checks.length && !this.lab.steps?.length) {
        this.bus.emit({ type: 'notice', level: 'info', message: `lab "${this.lab.name}" has no checks` });
        return;
      }
      const run = this.deps.runChecks ?? runAllChecks;
      this.bus.emit({ type: 'phase', phase: 'checks', state: 'start', lab: this.lab.name });
      try {
        const engine = this.engine as EngineLike & Partial<RuntimeApplier>;
        const runtime = engine.applyRuntime && engine.markMutated ? (engine as unknown as RuntimeApplier) : undefined;
        const sctx = scenarioContext(this.checkContext(), { ...(runtime ? { runtime } : {}), execFor: () => this.engine.exec, runRoot: join(this.engine.store.dir, 'run') });
        // The checks, the scenario's steps in order, then the final checks (lib/scenario/run.ts).
        await runScenario(this.lab, sctx, this.bus, { runChecks: run });
      } finally {
        this.bus.emit({ type: 'phase', phase: 'checks', state: 'done', lab: this.lab.name });
      }
    });
  }

  async rerunCheck(name: string): Promise<void> {
    const check = this.lab.checks.find((c) => c.name === name);
    if (!check) {
      const known = this.lab.checks.map((c) => `"${c.name}"`).join(', ') || 'none';
      throw new UsageError(`lab "${this.lab.name}" has no check named "${name}" (checks: ${known})`);
    }
    await this.exclusive(`check ${name}`, async () => {
      this.requireUp(`run check "${name}"`);
      const run = this.deps.runCheck ?? runOneCheck;
      this.bus.emit({ type: 'check-start', check });
      const result = await run(check, withInnerEvents(this.checkContext(), this.bus));
      this.bus.emit({ type: 'check-done', result });
    });
  }

  private checkContext(): CheckContext {
    const ctx = contextFromLab(this.lab, this.engine.exec, undefined, { runRoot: join(this.engine.store.dir, 'run') });
    return this.deps.jobs ? { ...ctx, jobs: this.deps.jobs } : ctx;
  }

  // ---- capture ---------------------------------------------------------------------------

  async capture(host: string, ifname: string, opts: CaptureOptions = {}): Promise<DecodedPacketSummary[]> {
    return this.exclusive(`capture on ${ifname}@${host}`, async () => {
      this.requireUp(`capture on ${ifname}@${host}`);
      const count = Math.max(1, opts.count ?? DEFAULT_CAPTURE_COUNT);
      const timeoutMs = Math.max(1000, opts.timeoutMs ?? DEFAULT_CAPTURE_TIMEOUT_MS);
      const where = captureInterface(this.lab, host, ifname);
      if (where.note) this.bus.emit({ type: 'notice', level: 'info', message: where.note });
      const ctx = this.checkContext();
      const ep = ctx.endpoint(host);
      // Under the lab's run directory of the state directory (down and gc remove it), not the system temp dir.
      const root = this.deps.tmpDir ?? join(this.engine.store.dir, 'run', this.lab.name, 'captures');
      await mkdir(root, { recursive: true });
      const dir = await mkdtemp(join(root, 'tui-'));
      try {
        const start = this.deps.startCapture ?? startTcpdump;
        const cap = await start(ep, where.ifname, {
          file: join(dir, 'capture.pcap'),
          ...(where.filter ? { filter: where.filter } : {}),
          decode: decodeOptionsFor(ctx, {}),
          startTimeoutMs: timeoutMs,
        });
        let outcome;
        try {
          await this.makeTraffic(ctx, host, count, timeoutMs);
        } finally {
          outcome = await cap.stop();
        }
        return summarizePackets(outcome.packets.slice(0, count));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  /**
   * A few pings across the lab, so a capture on a quiet lab has something to show. Loss is not
   * an error here (the checks judge reachability); with nothing to ping from, just wait a bit.
   */
  private async makeTraffic(ctx: CheckContext, host: string, count: number, timeoutMs: number): Promise<void> {
    const pair = trafficPair(this.lab, ctx, host);
    if (!pair) {
      await new Promise((r) => setTimeout(r, Math.min(timeoutMs, 2000)));
      return;
    }
    // Each echo is two packets (request and reply) on a tunnel or underlay interface.
    const pings = Math.ceil(count / 2) + 1;
    const deadlineS = Math.max(1, Math.floor(timeoutMs / 1000));
    const argv = ['ping', '-n', '-c', String(pings), '-i', '0.2', '-W', '1', '-w', String(deadlineS), pair.family === 'ipv6' ? '-6' : '-4', pair.to];
    await pair.from.exec.run(inNetns(pair.from.ns, argv), { timeoutMs: timeoutMs + 2000 });
  }

  // ---- step log --------------------------------------------------------------------------

  stepLog(stepId: number): string[] {
    return [...(this.logs.get(stepId) ?? [])];
  }

  private record(e: LabEvent): void {
    // A new `up` has a new plan whose step ids mean other steps: the old lines would mislead.
    if (e.type === 'phase' && e.phase === 'up' && e.state === 'start') this.logs.clear();
    const lines = stepLogLines(e, this.now());
    if (!lines) return;
    const list = this.logs.get(lines.stepId) ?? [];
    list.push(...lines.lines);
    if (list.length > MAX_LOG_LINES) list.splice(0, list.length - MAX_LOG_LINES);
    this.logs.set(lines.stepId, list);
  }

  // ---- counters --------------------------------------------------------------------------

  watchTargets(): WatchTarget[] {
    return watchTargets(this.lab);
  }

  counters(onSample: (samples: CounterSample[]) => void, onError?: (err: Error) => void, opts: CounterOptions = {}): () => void {
    const targets = this.watchTargets();
    return sampleCounters(() => this.trackedRead(targets), onSample, {
      ...(opts.intervalMs ? { intervalMs: opts.intervalMs } : {}),
      ...(onError ? { onError } : {}),
    });
  }

  /**
   * A sampler's reading, on record while it runs. While the lab is being built or torn down
   * none starts (the counters pane just pauses): a reading runs `ip netns exec NS ovs-ofctl …`
   * and `ip -n NS …`, and one still running in a namespace that `down` removes outlives the
   * lab (seen in CI: ovs-ofctl left in a removed namespace after the TUI's `y`).
   */
  private trackedRead(targets: WatchTarget[]): Promise<{ counters: LinkCounters[]; errors: Error[] }> {
    if (this.countersHeld) return Promise.resolve({ counters: [], errors: [] });
    const read = this.readCounters(targets);
    this.reads.add(read);
    void read.then(
      () => this.reads.delete(read),
      () => this.reads.delete(read),
    );
    return read;
  }

  /** Run a lab-changing `fn` with no counter reading in flight: none starts meanwhile, running ones are awaited first. */
  private async holdCounters<T>(fn: () => Promise<T>): Promise<T> {
    this.countersHeld = true;
    try {
      await this.settleReads();
      return await fn();
    } finally {
      this.countersHeld = false;
    }
  }

  private async settleReads(): Promise<void> {
    await Promise.allSettled([...this.reads]);
  }

  /** One reading of every watched interface: kernel links by namespace, OVS ports live from each host's OVS (ovs-ofctl dump-ports). */
  async readCounters(targets: WatchTarget[]): Promise<{ counters: LinkCounters[]; errors: Error[] }> {
    const state = this.engine.store.read(this.lab.name);
    if (!state) return { counters: [], errors: [new Error(`lab "${this.lab.name}" is not up: no counters (u brings it up)`)] };
    const kernel = targets.filter((t) => t.source === 'kernel');
    const { counters, errors } = await readWatched(this.engine.exec, kernel.map((t) => ({ ns: t.ns, ifname: t.ifname })));
    const ovsByHost = new Map<string, WatchTarget[]>();
    for (const t of targets) if (t.source === 'ovs') ovsByHost.set(t.host, [...(ovsByHost.get(t.host) ?? []), t]);
    for (const [host, ts] of ovsByHost) {
      const names = new Set(ts.map((t) => t.ifname));
      try {
        const bridges = this.lab.switches.filter((s) => s.host === host && s.kind === 'ovs').map((s) => s.ifname);
        const runDir = ovsRunDir(join(this.engine.store.dir, 'run'), this.lab.name, host);
        const all = await readOvsPortCounters(this.engine.exec, ts[0]!.ns, ovsEnv(runDir), bridges, (br) => bridgeOfctlArgs(this.lab.switches, br));
        counters.push(...all.filter((c) => names.has(c.ifname)));
      } catch (e) {
        errors.push(new Error(`host "${host}": ${(e as Error).message}`));
      }
    }
    return { counters, errors };
  }

  /**
   * Say on the bus what the TUI cannot know from events alone: that the lab was already up (or
   * left half-built by a run that died) before this process started. Call once the UI listens.
   */
  announceState(): void {
    const st = this.engine.store.read(this.lab.name);
    if (!st) return;
    // Attach: a lab an earlier `up` built in this state directory is shown as up with its objects
    // (the recorded plan), so d and q ask before tearing it down, and checks and captures run on it.
    const built = st.phase === 'up' || (st.phase === 'checking' && st.pid !== process.pid);
    if (built) {
      const lab = this.lab.name;
      this.bus.emit({ type: 'plan', lab, plan: { lab, tag: st.tag, namespaces: [], steps: st.steps ?? [] } });
      this.bus.emit({ type: 'phase', phase: 'up', state: 'done', lab });
    }
    const message =
      st.phase === 'up'
        ? `lab "${this.lab.name}" is up (brought up earlier): attached — c runs its checks, d tears it down, u converges it to the recipe`
        : st.pid !== process.pid && pidAlive(st.pid)
          ? `lab "${this.lab.name}" is being changed by process ${st.pid} (${st.phase}): wait for it before u or d`
          : `lab "${this.lab.name}" was left ${st.phase} by an earlier run that stopped: u recreates it, d removes what is left`;
    this.bus.emit({ type: 'notice', level: st.phase === 'up' ? 'info' : 'warning', message });
    // Live, not only recorded: what of it is missing from the system now (someone deleted a namespace).
    if (built && this.engine.drift)
      void this.engine.drift(st).then(
        (missing) => {
          if (missing.length) this.bus.emit({ type: 'notice', level: 'warning', message: `lab "${this.lab.name}" is up but ${missing.length} object(s) are gone: ${missing.join('; ')} (u rebuilds them)` });
        },
        () => undefined,
      );
  }

  // ---- plumbing --------------------------------------------------------------------------

  /** Release the bus subscription and the backend (netlink socket); the lab itself is left as it is. */
  async close(): Promise<void> {
    this.offBus();
    // A reading the UI's unsubscribe could not stop finishes before the process may exit.
    await this.settleReads();
    await this.engine.backend?.close();
  }

  private requireUp(what: string): void {
    const st = this.engine.store.read(this.lab.name);
    if (!st || st.phase !== 'up') {
      throw new LabError(`cannot ${what}: lab "${this.lab.name}" is not up${st ? ` (it is ${st.phase})` : ''} — press u first`, ExitCode.applyFailed);
    }
  }

  /** One lab-changing action at a time: a second one is refused with a clear message, never interleaved. */
  private async exclusive<T>(label: string, fn: () => Promise<T>): Promise<T> {
    if (this.running) throw new LabError(`cannot start ${label}: ${this.running} is still running`, ExitCode.applyFailed);
    this.running = label;
    try {
      return await fn();
    } finally {
      this.running = undefined;
    }
  }
}

// ---- pure helpers (exported for tests) ----------------------------------------------------

/**
 * Where to capture for a watched interface. A kernel netdev is captured as is. An OVS tunnel
 * port is not a netdev (OVS encapsulates in userspace or in its own vport), so its packets are
 * captured where they leave the host: on the underlay interface, UDP only.
 */
export function captureInterface(lab: Lab, host: string, ifname: string): { ifname: string; filter?: string; note?: string } {
  const h = lab.hosts.find((x) => x.name === host);
  if (!h) throw new UsageError(`lab "${lab.name}" has no host "${host}" (hosts: ${lab.hosts.map((x) => x.name).join(', ')})`);
  for (const t of lab.tunnels) {
    const end = t.ends.find((e) => e.host === host && e.ifname === ifname);
    if (!end || end.impl !== 'ovs') continue;
    const under = h.interfaces.find((i) => i.network === endNetwork(t, t.ends.indexOf(end) as 0 | 1)) ?? h.interfaces[0];
    if (!under) throw new UsageError(`host "${host}" has no underlay interface to capture tunnel "${t.name}" on`);
    return {
      ifname: under.ifname,
      filter: 'udp',
      note: `${ifname} is an OVS tunnel port, not a kernel interface: capturing its encapsulated packets on ${under.ifname}@${host}`,
    };
  }
  return { ifname };
}

/**
 * Two endpoints whose traffic crosses `host`: a ping check of the recipe that starts or ends on
 * it, else a guest (or addressed switch) on it and one on another host with an address of the
 * same family, else the host's underlay address and another host's on the same network.
 */
export function trafficPair(lab: Lab, ctx: CheckContext, host: string): { from: Endpoint; to: string; family: Family } | undefined {
  const hostOf = (name: string): string | undefined => {
    try {
      return ctx.endpoint(name).host;
    } catch {
      return undefined;
    }
  };
  for (const c of lab.checks) {
    if (c.kind !== 'ping' || c.expect !== 'reachable') continue;
    if (hostOf(c.from) !== host && hostOf(c.to) !== host) continue;
    try {
      return { from: ctx.endpoint(c.from), to: ctx.address(c.to, c.family), family: c.family };
    } catch {
      // unknown endpoint or family: try the next
    }
  }
  const overlay = [
    ...lab.guests.map((g) => ({ name: g.name, host: g.host })),
    ...lab.switches.filter((s) => s.addresses.length).map((s) => ({ name: s.name, host: s.host })),
  ];
  const pick = (locals: { name: string }[], remotes: { name: string }[]) => {
    for (const a of locals) {
      const from = ctx.endpoint(a.name);
      for (const b of remotes) {
        const to = ctx.endpoint(b.name);
        for (const fam of ['ipv4', 'ipv6'] as const) {
          const dst = to.addresses.find((x) => familyOf(x) === fam);
          if (dst && from.addresses.some((x) => familyOf(x) === fam)) return { from, to: dst, family: fam };
        }
      }
    }
    return undefined;
  };
  const viaOverlay = pick(overlay.filter((o) => o.host === host), overlay.filter((o) => o.host !== host));
  if (viaOverlay) return viaOverlay;
  const h = lab.hosts.find((x) => x.name === host);
  for (const i of h?.interfaces ?? []) {
    for (const other of lab.hosts) {
      if (other.name === host) continue;
      const peer = other.interfaces.find((j) => j.network === i.network);
      for (const fam of ['ipv4', 'ipv6'] as const) {
        const src = i.addresses.find((x) => familyOf(x) === fam);
        const dst = peer?.addresses.find((x) => familyOf(x) === fam);
        if (src && dst) return { from: ctx.endpoint(host), to: dst.split('/')[0]!, family: fam };
      }
    }
  }
  return undefined;
}

const IP_PROTOCOLS: Record<number, string> = { 1: 'ICMP', 2: 'IGMP', 6: 'TCP', 17: 'UDP', 47: 'GRE', 50: 'ESP', 58: 'ICMPv6', 132: 'SCTP' };
const ETHERTYPES: Record<number, string> = { 0x0806: 'ARP', 0x0800: 'IPv4', 0x86dd: 'IPv6', 0x88cc: 'LLDP', 0x6558: 'Ethernet' };

const protoName = (n: number | undefined) => (n === undefined ? '?' : (IP_PROTOCOLS[n] ?? `proto ${n}`));
const etherName = (t: number | undefined) => (t === undefined ? '?' : (ETHERTYPES[t] ?? `0x${t.toString(16).padStart(4, '0')}`));

/** The one-line view of each decoded packet, times relative to the first. */
export function summarizePackets(packets: DecodedPacket[]): DecodedPacketSummary[] {
  const t0 = packets[0]?.timestamp ?? 0;
  return packets.map((p) => summarizePacket(p, t0));
}

export function summarizePacket(p: DecodedPacket, t0 = p.timestamp): DecodedPacketSummary {
  const ipProto = p.ip?.proto ?? p.ipv6?.proto;
  const protocol = p.encap === 'geneve' ? 'GENEVE' : p.encap === 'vxlan' ? 'VXLAN' : p.outer ? protoName(ipProto) : etherName(p.link.ethertype);
  const src = p.outer?.src ?? p.link.src ?? '?';
  const dst = p.outer?.dst ?? p.link.dst ?? '?';
  const out: DecodedPacketSummary = {
    no: p.index,
    time: Math.max(0, p.timestamp - t0),
    length: p.origLength,
    src,
    dst,
    protocol,
    info: '',
  };
  if (p.geneve) {
    const g = p.geneve;
    out.geneve = {
      vni: g.vni,
      protocolType: g.proto,
      oam: g.oam,
      critical: g.critical,
      options: g.options.map((o) => ({ class: o.class, type: o.type, critical: o.critical, data: o.data })),
      ...(p.udp ? { srcPort: p.udp.srcport, dstPort: p.udp.dstport } : {}),
    };
  }
  const inner = p.inner;
  if (inner && (inner.src || inner.ethertype !== undefined)) {
    out.inner = inner.src
      ? { src: inner.src, dst: inner.dst ?? '?', protocol: protoName(inner.proto) }
      : { src: inner.smac ?? '?', dst: inner.dmac ?? '?', protocol: etherName(inner.ethertype) };
  }
  // The view prints the Geneve fields and the inner packet on lines of their own: the info
  // line carries what it does not show (ports, VXLAN's VNI, outer TTL/TOS, decode errors).
  const parts: string[] = [];
  if (p.udp) parts.push(`udp ${p.udp.srcport} → ${p.udp.dstport}`);
  if (p.vxlan) parts.push(`vxlan vni ${p.vxlan.vni}`);
  const ttl = p.ip?.ttl ?? p.ipv6?.hlim;
  if (ttl !== undefined) parts.push(`ttl ${ttl}`);
  const tos = p.ip?.tos ?? p.ipv6?.tclass;
  if (tos) parts.push(`tos 0x${tos.toString(16).padStart(2, '0')}`);
  if (p.ip?.df) parts.push('DF');
  if (p.error) parts.push(`decode error in ${p.error.layer}: ${p.error.message}`);
  out.info = parts.join(', ');
  return out;
}

// ---- step log lines ------------------------------------------------------------------------

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

/** Durations come from performance.now(): keep what a person can read (0.09 ms, 12 ms). */
function ms(d: number): string {
  return d < 10 ? `${Number(d.toFixed(2))} ms` : `${Math.round(d)} ms`;
}

/** The operation as a compact request line: `link.add ns=gl-x-box-1 link={"name":"tun0",…}`. */
export function describeOp(op: Step['op'] | null): string {
  if (!op) return '(nothing)';
  const fields = Object.entries(op)
    .filter(([k]) => k !== 'op')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return [op.op, ...fields].join(' ');
}

function failureLines(f: OpFailure): string[] {
  const out = [`  subject: ${f.subject}${f.host ? ` on host "${f.host}"` : ''}${f.ns ? ` (netns ${f.ns})` : ''}`, `  request: ${f.request}`];
  if (f.errno) out.push(`  errno: ${f.errno}`);
  if (f.kernelMessage) out.push(`  kernel: ${f.kernelMessage}`);
  if (f.exitCode !== undefined) out.push(`  exit code: ${f.exitCode}`);
  for (const l of (f.stderr ?? '').trim().split('\n').filter(Boolean)) out.push(`  stderr: ${l}`);
  return out;
}

/** The log lines one event adds to one step's log, or undefined for events about no step. */
export function stepLogLines(e: LabEvent, now: number): { stepId: number; lines: string[] } | undefined {
  const at = clock(now);
  switch (e.type) {
    case 'step-start':
      return { stepId: e.step.id, lines: [`${at} start  ${e.step.subject}`, `  request: ${describeOp(e.step.op)}`] };
    case 'step-done':
      return { stepId: e.step.id, lines: [`${at} ${e.skipped ? 'skipped' : 'done'} in ${ms(e.durationMs)}`] };
    case 'step-failed':
      return { stepId: e.step.id, lines: [`${at} FAILED after ${ms(e.durationMs)}`, ...failureLines(e.failure), `  (everything done so far is rolled back)`] };
    case 'undo-start':
      return { stepId: e.step.id, lines: [`${at} undo   ${e.step.subject}`, `  request: ${describeOp(e.step.undo)}`] };
    case 'undo-done':
      return { stepId: e.step.id, lines: [`${at} undone in ${ms(e.durationMs)}`] };
    case 'undo-failed':
      return { stepId: e.step.id, lines: [`${at} UNDO FAILED`, ...failureLines(e.failure)] };
    default:
      return undefined;
  }
}
