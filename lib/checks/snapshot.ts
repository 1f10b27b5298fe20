/**
 * Snapshots taken when a named step finishes, for checks that compare with that moment:
 * `counter.since: STEP` (the counter's value then), `log.since: STEP` (the log's size then),
 * a `state` expectation `{ unchanged_since: STEP }` / `{ changed_since: STEP }` (the query's
 * result then). The scenario runner (lib/scenario/run.ts) calls, after each step S finishes:
 *
 *     await snapshotAfterStep(S, laterChecks, ctx, store)
 *
 * and runs later checks with `{ ...ctx, snapshots: store }`. A check whose snapshot is missing
 * (its step failed or was skipped) is an error, never a pass; a snapshot that could not be read
 * carries the reason, which the check reports.
 */
import type { Check } from '../model/types.js';
import type { CheckContext } from './context.js';
import { counterSnapshot } from './counter.js';
import { logSnapshot } from './log.js';
import { observeState, stateSinceSteps } from './state.js';

export interface Snapshot {
  check: string;
  step: string;
  at: number;
  /** What the check kind compares with: CounterReading, LogMark or StateObservation. */
  value: unknown;
  /** The reading failed; the check reports this. */
  error?: string;
}

export interface SnapshotStore {
  get(check: string, step: string): Snapshot | undefined;
  put(s: Snapshot): void;
}

export function snapshotStore(): SnapshotStore {
  const m = new Map<string, Snapshot>();
  const key = (check: string, step: string) => `${check}\u0000${step}`;
  return {
    get: (check, step) => m.get(key(check, step)),
    put: (s) => void m.set(key(s.check, s.step), s),
  };
}

/** The step names after which `check` needs a snapshot (empty for most checks). */
export function snapshotSteps(check: Check): string[] {
  switch (check.kind) {
    case 'counter':
    case 'log':
      return check.since ? [check.since] : [];
    case 'state':
      return stateSinceSteps(check);
    default:
      return [];
  }
}

/** Take `check`'s snapshot now, labelled with `step`. Never throws. */
export async function takeSnapshot(check: Check, ctx: CheckContext, step: string): Promise<Snapshot> {
  const at = Date.now();
  const base = { check: check.name, step, at };
  try {
    switch (check.kind) {
      case 'counter': {
        const v = await counterSnapshot(check, ctx);
        return { ...base, value: v, ...(v.error ? { error: v.error } : {}) };
      }
      case 'log': {
        const v = await logSnapshot(check, ctx);
        return { ...base, value: v, ...(v.error ? { error: v.error } : {}) };
      }
      case 'state': {
        const v = await observeState(check, ctx);
        return { ...base, value: v, ...(v.error ? { error: v.error } : {}) };
      }
      default:
        return { ...base, value: undefined, error: `a ${check.kind} check takes no snapshots` };
    }
  } catch (e) {
    return { ...base, value: undefined, error: (e as Error).message };
  }
}

/** After step `step` finished: snapshot every check of `checks` that compares with it. */
export async function snapshotAfterStep(step: string, checks: readonly Check[], ctx: CheckContext, store: SnapshotStore): Promise<Snapshot[]> {
  const wanted = checks.filter((c) => snapshotSteps(c).includes(step));
  const snaps = await Promise.all(wanted.map((c) => takeSnapshot(c, ctx, step)));
  for (const s of snaps) store.put(s);
  return snaps;
}
