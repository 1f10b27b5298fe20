/**
 * The scenario runner (docs/design/scenarios.md): the recipe's `checks:` first, as before (an
 * unordered set, lib/checks/run.ts), then its `steps:` one after another. A step that fails or
 * errors stops the scenario; every later step is reported `skipped` with the reason. A check step
 * and a `checks:` group run through the same scheduler as `checks:` (captures wrap their `during`
 * inside the group — a check or one of the group's own actions —, iperf runs alone); an action emits `action-start`, then its result as
 * `check-done`. Steps that may change the lab mark it mutated *before* they run (a crash half-way
 * still counts). After every step, the step observers of the check kinds are told (hooks.ts).
 */
import { isFinal, runChecks, runCheck, withInnerEvents } from '../checks/run.js';
import { snapshotAfterStep, snapshotStore } from '../checks/snapshot.js';
import type { CheckResult } from '../checks/result.js';
import type { CheckContext } from '../checks/context.js';
import type { EventBus } from '../engine/events.js';
import type { Check, Lab } from '../model/types.js';
import { checksOfStep, stepMutates, type ActionStep, type ScenarioStep } from '../model/scenario.js';
import type { ScenarioContext } from './context.js';
import { prepareStepObservers, type StepObserver } from './hooks.js';
import { runExec, execWhat } from './actions/exec.js';
import { runOvs, ovsWhat } from './actions/ovs.js';
import { runRestart, restartWhat } from './actions/restart.js';
import { runSet, setWhat } from './actions/set.js';
import { runWait, waitWhat } from './actions/wait.js';
import { runSleep, sleepWhat } from './actions/sleep.js';
import { runInject, injectWhat } from './actions/inject.js';
import { runPacketOut, packetOutWhat } from './actions/packet-out.js';

/** One line saying what an action does (the result's `what`). */
export function actionWhat(s: ActionStep): string {
  switch (s.kind) {
    case 'exec':
      return execWhat(s);
    case 'ovs':
      return ovsWhat(s);
    case 'restart':
      return restartWhat(s);
    case 'set':
      return setWhat(s);
    case 'wait':
      return waitWhat(s);
    case 'sleep':
      return sleepWhat(s);
    case 'inject':
      return injectWhat(s);
    case 'packet_out':
      return packetOutWhat(s);
  }
}

async function runActionStep(s: ActionStep, ctx: ScenarioContext): Promise<CheckResult> {
  switch (s.kind) {
    case 'exec':
      return runExec(s, ctx);
    case 'ovs':
      return runOvs(s, ctx);
    case 'restart':
      return runRestart(s, ctx);
    case 'set':
      return runSet(s, ctx);
    case 'wait':
      return runWait(s, ctx, (c) => runCheck(c, ctx));
    case 'sleep':
      return runSleep(s, ctx);
    case 'inject':
      return runInject(s, ctx);
    case 'packet_out':
      return runPacketOut(s, ctx);
  }
}

/** An action's result; any exception is an `error` result naming the step (never a crash). */
export async function runAction(s: ActionStep, ctx: ScenarioContext): Promise<CheckResult> {
  const started = Date.now();
  if (ctx.signal?.aborted) return { name: s.name, kind: s.kind, what: actionWhat(s), status: 'error', message: 'cancelled before it started', figures: {}, durationMs: 0 };
  try {
    return await runActionStep(s, ctx);
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    // Errors of recorded changes already name the step (their subject is `step "NAME": …`).
    return { name: s.name, kind: s.kind, what: actionWhat(s), status: 'error', message: text.startsWith(`step "${s.name}"`) ? text : `step "${s.name}": ${text}`, figures: {}, durationMs: Date.now() - started };
  }
}

/** Results of a step that was not run: one per result it would have had. */
function notRun(s: ScenarioStep, reason: string): CheckResult[] {
  const skip = (name: string, kind: CheckResult['kind'], what: string): CheckResult => ({ name, kind, what, status: 'skipped', message: reason, figures: {}, durationMs: 0 });
  if (s.kind === 'check') return [skip(s.name, s.check.kind, `${s.check.kind} (not run)`)];
  if (s.kind === 'group') return [...(s.actions ?? []).map((a) => skip(a.name, a.kind, actionWhat(a))), ...s.checks.map((c) => skip(c.name, c.kind, `${c.kind} (not run)`))];
  return [skip(s.name, s.kind, actionWhat(s))];
}

const bad = (r: CheckResult) => r.status === 'failed' || r.status === 'error';

/** Every check a lab may run (for the step hooks): checks:, every step's, impair's inner ones. */
export function allChecks(lab: Lab): Check[] {
  const top = [...lab.checks, ...(lab.steps ?? []).flatMap(checksOfStep)];
  return top.flatMap((c) => [c, ...(c.kind === 'impair' ? c.then : [])]);
}

export interface ScenarioOptions {
  /** Told which step is about to run (progress, tests). */
  onStep?: (s: ScenarioStep) => void;
  /** How the lab's `checks:` and final checks run (default: lib/checks/run.ts runChecks; tests inject). */
  runChecks?: (checks: Check[], ctx: CheckContext, bus: EventBus) => Promise<CheckResult[]>;
}

/**
 * Run the steps in order and return their results (a group contributes one per check). Observers
 * from prepareStepObservers are told after each step that ran.
 */
export async function runSteps(steps: readonly ScenarioStep[], ctx: ScenarioContext, bus: EventBus, observers: StepObserver[] = [], opts: ScenarioOptions = {}): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  let stop: string | undefined;
  for (const s of steps) {
    if (!stop && ctx.signal?.aborted) stop = 'not run: the run was cancelled';
    if (stop) {
      for (const r of notRun(s, stop)) {
        results.push(r);
        bus.emit({ type: 'check-done', result: r });
      }
      continue;
    }
    opts.onStep?.(s);
    if (stepMutates(s)) ctx.runtime?.markMutated(ctx.lab.name, `step "${s.name}"`);
    let rs: CheckResult[];
    if (s.kind === 'check') rs = await runChecks([s.check], ctx, bus);
    else if (s.kind === 'group') {
      // A group's actions run in the scheduler among its checks, so its captures, counters and
      // logs can wrap them (during: ACTION).
      const actions = (s.actions ?? []).map((a) => ({ name: a.name, kind: a.kind, start: () => bus.emit({ type: 'action-start', step: a }), run: () => runAction(a, ctx) }));
      rs = await runChecks(s.checks, ctx, bus, { actions });
    } else {
      bus.emit({ type: 'action-start', step: s });
      const r = await runAction(s, s.kind === 'wait' ? withInnerEvents(ctx, bus) as ScenarioContext : ctx);
      bus.emit({ type: 'check-done', result: r });
      rs = [r];
    }
    results.push(...rs);
    for (const o of observers) {
      try {
        await o.onStepDone(s.name, rs);
      } catch (e) {
        bus.emit({ type: 'notice', level: 'warning', message: `after step "${s.name}": ${e instanceof Error ? e.message : String(e)}` });
      }
    }
    const failed = rs.find(bad);
    if (failed) stop = `not run: step "${failed.name}" failed`;
  }
  return results;
}

/**
 * A lab's whole run: its `checks:` (concurrently, as before), then its `steps:` in order, then its
 * final checks (the vswitchd log gates: a verdict over everything the run did). The steps run
 * whatever the checks' verdicts: a check failing is a result, not a stop; the final checks run
 * whatever the steps did.
 *
 * Checks that compare with the moment a step finished (`counter`/`log` `since:`, `state`
 * `unchanged_since:`) find their snapshots in `ctx.snapshots`: taken here after every step.
 */
export async function runScenario(lab: Lab, ctx0: ScenarioContext, bus: EventBus, opts: ScenarioOptions = {}): Promise<CheckResult[]> {
  const store = ctx0.snapshots ?? snapshotStore();
  const ctx: ScenarioContext = { ...ctx0, snapshots: store, runStartedAt: ctx0.runStartedAt ?? Date.now() };
  const all = allChecks(lab);
  const snapshots: StepObserver = { onStepDone: async (step) => void (await snapshotAfterStep(step, all, ctx, store)) };
  const observers = [snapshots, ...prepareStepObservers(all, ctx)];
  const final = lab.checks.filter(isFinal);
  const first = lab.checks.filter((c) => !isFinal(c));
  const run = opts.runChecks ?? runChecks;
  const results = first.length ? await run(first, ctx, bus) : [];
  const steps = lab.steps ?? [];
  if (steps.length) results.push(...(await runSteps(steps, ctx, bus, observers, opts)));
  if (final.length) results.push(...(await run(final, ctx, bus)));
  return results;
}
