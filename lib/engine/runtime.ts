/**
 * Changes to a running lab made by scenario steps (`set`, `ovs` writes; docs/design/scenarios.md
 * §3): recorded exactly like the plan's steps. They are appended to the lab's state with their
 * undo (ids after the plan's), each journaled as intent before it touches the system and done
 * after, so `down`, a later `up`'s teardown and `gc` undo them newest first together with the
 * rest — e.g. an SSH host's real NIC gets its old MTU back; a device recreated with another VNI
 * is removed like the original.
 *
 * A batch that fails part-way is not rolled back on its own: what ran is journaled as done and
 * stays until the lab is torn down (the scenario stops at the failed step), so the journal always
 * describes what exists.
 */
import { StepFailed, type Backend } from '../backends/backend.js';
import { ExitCode, LabError, OpError } from '../errors.js';
import type { Step } from '../plan/ops.js';
import type { EventBus } from './events.js';
import type { StateStore } from './state.js';

/** A step to apply at run time: like a plan step, numbered when it is recorded. */
export type RuntimeDraft = Omit<Step, 'id'>;

export interface RuntimeOptions {
  /**
   * Run each step with this instead of the backend (an action that needs the command's output,
   * e.g. an `ovs` step); journaling is the same. Throw to fail the step.
   */
  run?: (step: Step) => Promise<void>;
}

interface EngineParts {
  readonly store: StateStore;
  readonly backend: Backend;
  readonly bus: EventBus;
}

/** Record that the running lab no longer matches its recipe (the first reason is kept). */
export function markMutated(store: StateStore, lab: string, why: string): void {
  const state = store.read(lab);
  if (!state || state.mutated) return;
  store.write({ ...state, mutated: why });
}

export async function applyRuntime(engine: EngineParts, labName: string, drafts: RuntimeDraft[], opts: RuntimeOptions = {}): Promise<Step[]> {
  const { store, bus } = engine;
  const state = store.read(labName);
  // `checking`: the built lab while its checks and steps run (engine.beginChecks).
  if (!state || (state.phase !== 'up' && state.phase !== 'checking')) throw new LabError(`lab "${labName}" is not up${state ? ` (it is ${state.phase})` : ''}: a scenario step can only change a running lab`, ExitCode.applyFailed);
  if (!drafts.length) return [];
  const first = state.steps.reduce((m, s) => Math.max(m, s.id), 0) + 1;
  const steps: Step[] = drafts.map((d, i) => ({ ...d, id: first + i }));
  // The state lists the steps before any of them is journaled: teardown finds a journaled id there.
  store.write({ ...state, steps: [...state.steps, ...steps], mutated: state.mutated ?? steps[0]!.subject });
  const intent = async (batch: readonly Step[]) => {
    store.journalIntent(labName, batch.map((s) => s.id));
    for (const s of batch) bus.emit({ type: 'step-start', step: s });
  };
  const done = (s: Step, ms: number) => {
    store.journalDone(labName, s.id);
    bus.emit({ type: 'step-done', step: s, durationMs: ms });
  };
  try {
    if (opts.run) {
      for (const s of steps) {
        await intent([s]);
        const t0 = Date.now();
        await opts.run(s);
        done(s, Date.now() - t0);
      }
    } else await engine.backend.execute(steps, { intent, done });
  } catch (e) {
    const step = e instanceof StepFailed ? e.step : undefined;
    const cause = e instanceof StepFailed ? e.cause : e;
    if (cause instanceof OpError) {
      if (step) bus.emit({ type: 'step-failed', step, failure: cause.failure, durationMs: 0 });
      throw cause;
    }
    throw new OpError({ subject: step?.subject ?? `lab "${labName}"`, ...(step?.host ? { host: step.host } : {}), request: step?.op.op ?? 'runtime change', kernelMessage: cause instanceof Error ? cause.message : String(cause) });
  }
  return steps;
}
