/**
 * Step hooks: how a check kind learns when scenario steps finish. A `counter` check with
 * `since: inject-bad` must read its counters at the moment the step "inject-bad" finished, long
 * before the counter check itself runs. Its module registers a hook once:
 *
 *   registerStepHook('counter', {
 *     prepare(check, ctx) {                       // once per run, for every check of that kind
 *       if (!check.since) return undefined;       //   anywhere: checks:, steps, groups, wait.until
 *       return {
 *         async onStepDone(step) {                // after EVERY step, in order, before the next starts
 *           if (step === check.since) snapshots.set(check, await readCounters(check, ctx));
 *         },
 *       };
 *     },
 *   });
 *
 * and its runner later finds the snapshot (keyed by the check object: the same object is passed to
 * prepare and to the check's run). The runner (lib/scenario/run.ts) calls prepare before the first
 * step and onStepDone(name, results) after each step with that step's results — also for a step
 * that failed (the scenario then stops) — never for steps that were not run. An exception in an
 * observer does not stop the scenario; it is reported as a warning notice, and the check that
 * depends on the snapshot must then report an error itself ("no snapshot at step X").
 */
import type { CheckContext } from '../checks/context.js';
import type { CheckResult } from '../checks/result.js';
import type { Check } from '../model/types.js';

export interface StepObserver {
  onStepDone(step: string, results: readonly CheckResult[]): void | Promise<void>;
}

export interface StepHook {
  prepare(check: Check, ctx: CheckContext): StepObserver | undefined;
}

const hooks = new Map<string, StepHook[]>();

/** Register a hook for every check of `kind` (call at module load of the check kind). */
export function registerStepHook(kind: Check['kind'], hook: StepHook): () => void {
  const list = hooks.get(kind) ?? [];
  list.push(hook);
  hooks.set(kind, list);
  return () => hooks.set(kind, (hooks.get(kind) ?? []).filter((h) => h !== hook));
}

/** The observers of a run: prepare() of every registered hook for every check given. */
export function prepareStepObservers(checks: readonly Check[], ctx: CheckContext): StepObserver[] {
  const out: StepObserver[] = [];
  for (const c of checks) for (const h of hooks.get(c.kind) ?? []) {
    const o = h.prepare(c, ctx);
    if (o) out.push(o);
  }
  return out;
}
