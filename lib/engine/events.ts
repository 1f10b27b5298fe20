/**
 * Engine events: the only thing reporters and the TUI see. The engine emits, they subscribe;
 * no UI code makes a decision or a system call.
 */
import type { Plan, Step } from '../plan/ops.js';
import type { OpFailure } from '../errors.js';
import type { CheckResult } from '../checks/result.js';
import type { Check } from '../model/types.js';
import type { ActionStep } from '../model/scenario.js';

export type LabEvent =
  | { type: 'plan'; lab: string; plan: Plan }
  | { type: 'notice'; level: 'info' | 'warning'; message: string }
  | { type: 'phase'; phase: 'up' | 'down' | 'checks' | 'rollback' | 'gc'; state: 'start' | 'done' | 'failed'; lab: string }
  | { type: 'step-start'; step: Step }
  | { type: 'step-done'; step: Step; durationMs: number; skipped?: boolean }
  | { type: 'step-failed'; step: Step; failure: OpFailure; durationMs: number }
  | { type: 'undo-start'; step: Step }
  | { type: 'undo-done'; step: Step; durationMs: number }
  | { type: 'undo-failed'; step: Step; failure: OpFailure }
  | { type: 'check-start'; check: Check }
  | { type: 'check-done'; result: CheckResult }
  /** A scenario action (exec, ovs, set, …) starts; its result comes as check-done (lib/scenario/run.ts). */
  | { type: 'action-start'; step: ActionStep }
  /** A check run by another check (an impair step's `then:`), as it starts and ends. */
  | { type: 'inner-check-start'; parent: string; check: Check }
  | { type: 'inner-check-done'; parent: string; result: CheckResult };

export type Listener = (e: LabEvent) => void;

export class EventBus {
  private listeners = new Set<Listener>();
  on(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(e: LabEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // A broken listener (e.g. a closed terminal) must never break the lab.
      }
    }
  }
}
