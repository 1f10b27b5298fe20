/**
 * Running checks: one entry point per check (`runCheck`) and the scheduler the engine calls
 * (`runChecks`). Checks run concurrently (`--jobs`, default defaultJobs() for checks that may start
 * processes, IN_PROCESS_PING_JOBS for in-process pings), in recipe order of starting, except iperf
 * checks, which run alone: a throughput test that shares the machine with other checks
 * measures the other checks, and its flood would make their pings lose packets. Impair steps
 * run alone too (they slow a link other checks cross) and run their inner checks in order.
 * A capture check is wrapped around the check named in its `during`: the capture starts
 * before that check and stops after it; so are counter and log checks with a `during`
 * (read before, run the check, read after). Final checks (the vswitchd log gate) run after
 * every other check of the call.
 */
import { availableParallelism } from 'node:os';
import type { EventBus } from '../engine/events.js';
import type { CaptureCheck, Check, CounterCheck, LogCheck } from '../model/types.js';
import { runCaptureCheck } from './capture.js';
import { counterWhat, runCounterAround, runCounterSince } from './counter.js';
import { logWhat, runLog, runLogAround } from './log.js';
import { runState, stateWhat } from './state.js';
import { runTransfer, transferWhat } from './transfer.js';
import type { CheckContext } from './context.js';
import { runIperf } from './iperf.js';
import { runMtu } from './mtu.js';
import { canPingInProcess, runPing } from './ping.js';
import { impairStepWhat, runImpairStep } from './impair-step.js';
import type { CheckResult } from './result.js';
import { ovnCheckWhat, runOvnCheck } from './ovn.js';

function whatOf(check: Check): string {
  switch (check.kind) {
    case 'ping':
      return `ping ${check.from} → ${check.to}`;
    case 'iperf':
      return `iperf3 ${check.from} → ${check.to}`;
    case 'mtu':
      return `path MTU ${check.from} → ${check.to}`;
    case 'capture':
      return `capture on ${check.host}/${check.ifname} during "${check.during}"`;
    case 'impair':
      return impairStepWhat(check);
    case 'state':
      return stateWhat(check);
    case 'counter':
      return counterWhat(check);
    case 'log':
      return logWhat(check);
    case 'transfer':
      return transferWhat(check);
    case 'ovn':
      return ovnCheckWhat(check);
  }
}

/** A check that runs around another one (its `during`): captures, and counters and logs with a `during`. */
export type Wrapper = CaptureCheck | (CounterCheck & { during: string }) | (LogCheck & { during: string });
export function isWrapper(c: Check): c is Wrapper {
  return c.kind === 'capture' || ((c.kind === 'counter' || c.kind === 'log') && c.during !== undefined);
}
/** Runs after every other check of a run (the default vswitchd log gate looks at the whole run). */
export function isFinal(c: Check): boolean {
  return c.kind === 'log' && c.final === true;
}

function wrapperRun(ctx: CheckContext, w: Wrapper, inner: () => Promise<unknown>): Promise<CheckResult> {
  switch (w.kind) {
    case 'capture':
      return runCaptureCheck(ctx, w, inner);
    case 'counter':
      return runCounterAround(w, ctx, inner);
    case 'log':
      return runLogAround(w, ctx, inner);
  }
}

function errorResult(check: Check, message: string, started = Date.now()): CheckResult {
  return { name: check.name, kind: check.kind, what: whatOf(check), status: 'error', message, figures: {}, durationMs: Date.now() - started };
}

/** A failed reachability check says what else is known to be wrong (ctx.explain, e.g. an IPsec SA that never came up). */
async function withExplanation(check: Check, r: CheckResult, ctx: CheckContext): Promise<CheckResult> {
  const reach = check.kind === 'iperf' || check.kind === 'mtu' || check.kind === 'transfer' || (check.kind === 'ping' && check.expect === 'reachable');
  if (r.status !== 'failed' || !reach || !ctx.explain) return r;
  const why = await ctx.explain().catch(() => undefined);
  return why ? { ...r, message: `${r.message ?? 'failed'}; ${why}` } : r;
}

/** Run one check that wraps nothing; any exception becomes an 'error' result naming the check. */
async function runPlain(check: Check, ctx: CheckContext): Promise<CheckResult> {
  return withExplanation(check, await runPlainUnexplained(check, ctx), ctx);
}

async function runPlainUnexplained(check: Check, ctx: CheckContext): Promise<CheckResult> {
  const started = Date.now();
  if (ctx.signal?.aborted) return errorResult(check, 'cancelled before it started');
  try {
    switch (check.kind) {
      case 'ping':
        return await runPing(check, ctx);
      case 'iperf':
        return await runIperf(check, ctx);
      case 'mtu':
        return await runMtu(check, ctx);
      case 'state':
        return await runState(check, ctx);
      case 'counter':
        return await runCounterSince(check, ctx);
      case 'log':
        return await runLog(check, ctx);
      case 'transfer':
        return await runTransfer(check, ctx);
      case 'capture':
        return errorResult(check, `capture "${check.name}" runs around the check named in its during, not on its own`);
      case 'ovn':
        return await runOvnCheck(check, ctx);
      case 'impair':
        return await runImpairStep(
          check,
          ctx,
          async (c: Check) => {
            ctx.onInner?.({ parent: check.name, check: c });
            const r = await runPlain(c, ctx);
            ctx.onInner?.({ parent: check.name, result: r });
            return r;
          },
          whatOf,
        );
    }
  } catch (e) {
    return errorResult(check, `check "${check.name}": ${e instanceof Error ? e.message : String(e)}`, started);
  }
}

/**
 * What a wrapper can run around: a check, or a scenario action of a checks group (an inject, a
 * packet_out…: lib/scenario/run.ts gives it as an ActionTask).
 */
interface Target {
  start: () => void;
  run: () => Promise<CheckResult>;
}

/**
 * A scenario action the scheduler runs among a group's checks; its name is what `during` names.
 * `start` tells the bus (the scenario runner emits `action-start`); `run` never throws (the
 * scenario runner turns exceptions into `error` results).
 */
export interface ActionTask extends Target {
  name: string;
  kind: CheckResult['kind'];
}

function checkTarget(check: Check, ctx: CheckContext, onStart: (c: Check) => void): Target {
  return { start: () => onStart(check), run: () => runPlain(check, ctx) };
}

/**
 * Run `target` with every wrapper in `captures` (captures, counters, logs) running around it
 * (outermost first). Returns the target's result and the wrappers' results.
 */
async function runWithCaptures(
  target: Target,
  captures: Wrapper[],
  ctx: CheckContext,
  onStart: (c: Check) => void,
): Promise<{ target: CheckResult; captures: CheckResult[] }> {
  let targetResult: CheckResult | undefined;
  const capResults: CheckResult[] = new Array(captures.length);
  const wrap = async (i: number): Promise<void> => {
    if (i === captures.length) {
      target.start();
      targetResult = await target.run();
      return;
    }
    const cap = captures[i]!;
    onStart(cap);
    const started = Date.now();
    try {
      capResults[i] = await wrapperRun(ctx, cap, () => wrap(i + 1));
    } catch (e) {
      capResults[i] = errorResult(cap, `check "${cap.name}": ${e instanceof Error ? e.message : String(e)}`, started);
    }
  };
  await wrap(0);
  // A capture that failed to start never ran what was inside it: give those captures a result
  // and still run the traffic check on its own.
  for (let i = 0; i < captures.length; i++) {
    if (capResults[i] === undefined) {
      onStart(captures[i]!);
      capResults[i] = errorResult(captures[i]!, `not run: an outer capture on the same check failed to start`);
    }
  }
  if (targetResult === undefined) {
    target.start();
    targetResult = await target.run();
  }
  return { target: targetResult, captures: capResults };
}

/** Run one check. A wrapper (capture, counter/log with during) runs the check named in `during` (from the lab) inside it. */
export async function runCheck(check: Check, ctx: CheckContext): Promise<CheckResult> {
  if (!isWrapper(check)) return runPlain(check, ctx);
  const target = ctx.lab.checks.find((c) => c.name === check.during);
  if (!target) return errorResult(check, `${check.kind} "${check.name}": during names check "${check.during}", which does not exist`);
  if (isWrapper(target)) return errorResult(check, `${check.kind} "${check.name}": during must name a check that runs on its own, "${check.during}" is a ${target.kind} measured during another check`);
  const r = await runWithCaptures(checkTarget(target, ctx, () => {}), [check], ctx, () => {});
  return r.captures[0]!;
}

/** A task: one check (or a group's action) plus the wrappers (captures, counters, logs) around it. */
interface Task {
  target?: Check;
  action?: ActionTask;
  captures: Wrapper[];
  /** Wrapper whose `during` is missing or invalid: reported as an error without running. */
  orphan?: { check: Wrapper; message: string };
  exclusive: boolean;
}

function buildTasks(checks: Check[], actions: ActionTask[]): Task[] {
  const tasks: Task[] = [];
  const byName = new Map<string, Task>();
  // A group's actions start first, in order: the checks beside them usually look at what they did.
  for (const a of actions) {
    const t: Task = { action: a, captures: [], exclusive: false };
    tasks.push(t);
    byName.set(a.name, t);
  }
  for (const c of checks) {
    if (isWrapper(c)) continue;
    // An impair step changes a link every other check may cross: it runs alone, like iperf (and a
    // transfer, whose UDP pacing and timing a concurrent flood would skew).
    const t: Task = { target: c, captures: [], exclusive: c.kind === 'iperf' || c.kind === 'impair' };
    tasks.push(t);
    byName.set(c.name, t);
  }
  for (const c of checks) {
    if (!isWrapper(c)) continue;
    const t = byName.get(c.during);
    if (t) {
      t.captures.push(c);
      // A counter's delta counts everything on its link or rule: the check it measures runs
      // alone, so the delta is that check's (a concurrent ping would add its packets).
      if (c.kind === 'counter') t.exclusive = true;
    } else {
      const other = checks.find((x) => x.name === c.during);
      const message = other
        ? `${c.kind} "${c.name}": during must name a check that runs on its own, "${c.during}" is a ${other.kind} measured during another check`
        : `${c.kind} "${c.name}": during names check "${c.during}", which is not among the checks being run`;
      tasks.push({ captures: [], orphan: { check: c, message }, exclusive: false });
    }
  }
  return tasks;
}

/**
 * How many checks run at once unless `--jobs` says otherwise: 8 per core, at least 4. Most checks
 * spend their time waiting — a ping for its interval and replies (in-process since
 * lib/checks/icmp/, so a waiting ping costs neither a process nor CPU), a capture for the check
 * it wraps — so the limit is there to bound the processes the others start (tcpdump, ss, ovs-*),
 * not the CPU. iperf checks, impair steps and counted checks run alone whatever the limit.
 */
export function defaultJobs(cores = availableParallelism()): number {
  return Math.max(4, 8 * cores);
}

/**
 * How many in-process pings run at once when `--jobs` was not given. Such a ping starts no
 * process and costs one raw socket in the shared poll loop while it waits, so the process bound
 * above does not apply to it; this cap only keeps a huge mesh well below the file-descriptor limit.
 * An explicit `--jobs` bounds every check alike (a user who asks for 1 gets checks one by one).
 */
export const IN_PROCESS_PING_JOBS = 256;

/** Whether a task is an in-process ping with nothing around it: it starts no process at all. */
function startsNoProcess(t: Task, ctx: CheckContext): boolean {
  const c = t.target;
  if (!c || c.kind !== 'ping' || t.captures.length) return false;
  try {
    return canPingInProcess(c, ctx.endpoint(c.from), ctx);
  } catch {
    return false; // an unknown endpoint: the check reports it itself, counted like any other
  }
}

/** The same context, with the checks that checks run (impair steps) reported on `bus`. */
export function withInnerEvents(ctx: CheckContext, bus: EventBus): CheckContext {
  return {
    ...ctx,
    onInner: (e) =>
      bus.emit('check' in e ? { type: 'inner-check-start', parent: e.parent, check: e.check } : { type: 'inner-check-done', parent: e.parent, result: e.result }),
  };
}

/**
 * Run checks (and a checks group's actions, `opts.actions`, which start first and which the
 * checks' wrappers may measure) and report each on the bus as it starts and ends. Results come
 * back in the order of the actions, then of `checks`. Tasks start in order; an exclusive (iperf) task waits until nothing else runs,
 * and nothing else starts while it runs.
 */
export async function runChecks(checks: Check[], runCtx: CheckContext, bus: EventBus, opts: { concurrency?: number; actions?: ActionTask[] } = {}): Promise<CheckResult[]> {
  const labCtx = runCtx.runStartedAt !== undefined ? runCtx : { ...runCtx, runStartedAt: Date.now() };
  const actions = opts.actions ?? [];
  // Final checks (a gate over everything the run did) start once all the others have ended.
  const final = checks.filter((c) => isFinal(c) && !isWrapper(c));
  if (final.length && final.length < checks.length + actions.length) {
    const first = await runChecks(checks.filter((c) => !final.includes(c)), labCtx, bus, opts);
    const last = await runChecks(final, labCtx, bus, { ...opts, actions: [] });
    const by = new Map([...first, ...last].map((r) => [r.name, r]));
    return [...actions.map((a) => by.get(a.name)!), ...checks.map((c) => by.get(c.name)!)];
  }
  const ctx = withInnerEvents(labCtx, bus);
  const explicit = opts.concurrency ?? ctx.jobs;
  const limit = Math.max(1, explicit ?? defaultJobs());
  const results = new Map<string, CheckResult>();
  const done = (r: CheckResult) => {
    results.set(r.name, r);
    bus.emit({ type: 'check-done', result: r });
  };
  const tasks = buildTasks(checks, actions);
  // Two counts: tasks that may start processes (bounded by defaultJobs()) and in-process pings
  // (bounded by IN_PROCESS_PING_JOBS); an explicit --jobs bounds the two together.
  let running = 0;
  let light = 0;
  let exclusiveRunning = false;
  let wake: (() => void) | undefined;
  const changed = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const inflight: Promise<void>[] = [];

  const exec = async (t: Task, isLight: boolean) => {
    try {
      if (t.orphan) {
        bus.emit({ type: 'check-start', check: t.orphan.check });
        done(errorResult(t.orphan.check, t.orphan.message));
        return;
      }
      const onStart = (c: Check) => bus.emit({ type: 'check-start', check: c });
      const r = await runWithCaptures(t.action ?? checkTarget(t.target!, ctx, onStart), t.captures, ctx, onStart);
      // The traffic check ends first (it runs inside the captures), then its captures.
      done(r.target);
      for (const c of r.captures) done(c);
    } finally {
      if (isLight) light--;
      else running--;
      if (t.exclusive) exclusiveRunning = false;
      changed();
    }
  };

  for (const t of tasks) {
    const isLight = !t.exclusive && startsNoProcess(t, ctx);
    const busy = () => (explicit !== undefined ? running + light >= limit : isLight ? light >= IN_PROCESS_PING_JOBS : running >= limit);
    while (exclusiveRunning || busy() || (t.exclusive && running + light > 0)) {
      await new Promise<void>((res) => (wake = res));
    }
    if (isLight) light++;
    else running++;
    if (t.exclusive) exclusiveRunning = true;
    inflight.push(exec(t, isLight));
  }
  await Promise.all(inflight);
  const missing = (name: string) => `${name} was not run (internal error: no result)`;
  return [
    ...actions.map((a) => results.get(a.name) ?? { name: a.name, kind: a.kind, what: a.name, status: 'error' as const, message: missing(`action "${a.name}"`), figures: {}, durationMs: 0 }),
    ...checks.map((c) => results.get(c.name) ?? errorResult(c, missing('check'))),
  ];
}
