/**
 * View state of the TUI and the pure reducer that derives it from engine events.
 * Nothing here decides anything about the lab: it only remembers what the engine said.
 */
import type { LabEvent } from '../engine/events.js';
import type { CheckResult } from '../checks/result.js';
import type { Lab } from '../model/types.js';
import { stepEntries } from '../model/scenario.js';
import type { Step } from '../plan/ops.js';
import { describeFailure, type OpFailure } from '../errors.js';

export type ObjectKind = 'network' | 'host' | 'switch' | 'guest' | 'tunnel';
export type ObjectState = 'planned' | 'creating' | 'up' | 'failed' | 'removing' | 'removed';

export interface ObjectView {
  key: string; // "<kind>:<name>"
  kind: ObjectKind;
  name: string;
  state: ObjectState;
  /** Steps of the current plan that build this object, and how many of them are done. */
  steps: number;
  done: number;
}

export type StepRunState = 'running' | 'done' | 'skipped' | 'failed';

export interface StepView {
  /** Unique within the progress list: "do:<id>" or "undo:<id>". */
  key: string;
  stepId: number;
  subject: string;
  /** What the step does, e.g. "link.add", and for undo entries the undo op. */
  op: string;
  direction: 'do' | 'undo';
  /** The phase the step ran in (up, down, rollback...). */
  phase: string;
  state: StepRunState;
  startedAt: number;
  durationMs?: number;
  error?: string;
}

/** skipped: a scenario step not run because an earlier one failed. */
export type CheckRunState = 'pending' | 'running' | 'passed' | 'failed' | 'error' | 'skipped';

export interface CheckView {
  name: string;
  kind: string;
  state: CheckRunState;
  startedAt?: number;
  result?: CheckResult;
  /** The inner check a running impair step is at (its `then:` list), with how many are done. */
  inner?: { current?: string; done: number };
}

export type PhaseName = 'up' | 'down' | 'checks' | 'rollback' | 'gc';

export interface FailureView {
  stepId: number;
  subject: string;
  message: string;
  /** Rollback status after the failure: running, done (all undone) or incomplete. */
  rollback: 'pending' | 'running' | 'done' | 'incomplete';
  undone: number;
  undoFailures: string[];
}

export interface UiState {
  lab: string;
  objects: ObjectView[];
  steps: StepView[];
  checks: CheckView[];
  phase?: { name: PhaseName; state: 'start' | 'done' | 'failed' };
  /** True once an `up` finished and no `down` finished after it. */
  labUp: boolean;
  failure?: FailureView;
  notices: { level: 'info' | 'warning'; message: string }[];
}

const KINDS: ObjectKind[] = ['network', 'host', 'switch', 'guest', 'tunnel'];

/** The object a step builds, read from its subject: `tunnel "tun0" on host "box-1"` → tunnel:tun0. */
export function objectKeyOfSubject(subject: string): string | undefined {
  const m = /^(network|host|switch|guest|tunnel)\s+"([^"]+)"/.exec(subject.trim());
  return m ? `${m[1]}:${m[2]}` : undefined;
}

export function initialUiState(lab: Lab): UiState {
  const objects: ObjectView[] = [];
  const add = (kind: ObjectKind, name: string) => objects.push({ key: `${kind}:${name}`, kind, name, state: 'planned', steps: 0, done: 0 });
  lab.networks.forEach((n) => add('network', n.name));
  lab.hosts.forEach((h) => add('host', h.name));
  lab.switches.forEach((s) => add('switch', s.name));
  lab.guests.forEach((g) => add('guest', g.name));
  lab.tunnels.forEach((t) => add('tunnel', t.name));
  return {
    lab: lab.name,
    objects,
    steps: [],
    // Then the scenario's steps, in order (a group lists its checks).
    checks: [...lab.checks, ...stepEntries(lab.steps ?? [])].map((c) => ({ name: c.name, kind: c.kind, state: 'pending' })),
    labUp: false,
    notices: lab.warnings.map((message) => ({ level: 'warning' as const, message })),
  };
}

const MAX_NOTICES = 20;

function updateObject(s: UiState, subject: string, f: (o: ObjectView) => ObjectView): ObjectView[] {
  const key = objectKeyOfSubject(subject);
  if (!key) return s.objects;
  return s.objects.map((o) => (o.key === key ? f(o) : o));
}

function upsertStep(s: UiState, view: StepView): StepView[] {
  const i = s.steps.findIndex((x) => x.key === view.key && x.state === 'running');
  if (i < 0) return [...s.steps, view];
  const copy = s.steps.slice();
  copy[i] = { ...copy[i]!, ...view, startedAt: copy[i]!.startedAt };
  return copy;
}

function stepView(step: Step, direction: 'do' | 'undo', phase: string, state: StepRunState, now: number): StepView {
  const op = direction === 'do' ? step.op.op : (step.undo?.op ?? 'nothing to undo');
  return { key: `${direction}:${step.id}`, stepId: step.id, subject: step.subject, op, direction, phase, state, startedAt: now };
}

function failureText(f: OpFailure): string {
  return describeFailure(f);
}

/** Pure: the next view state after one engine event. `now` stamps when a running step started. */
export function uiReducer(s: UiState, e: LabEvent, now: number = Date.now()): UiState {
  const phase = s.phase?.state === 'start' ? s.phase.name : 'up';
  switch (e.type) {
    case 'plan': {
      const count = new Map<string, number>();
      for (const st of e.plan.steps) {
        const k = objectKeyOfSubject(st.subject);
        if (k) count.set(k, (count.get(k) ?? 0) + 1);
      }
      return { ...s, lab: e.lab, objects: s.objects.map((o) => ({ ...o, steps: count.get(o.key) ?? 0, done: 0 })) };
    }
    case 'notice':
      return { ...s, notices: [...s.notices, { level: e.level, message: e.message }].slice(-MAX_NOTICES) };
    case 'phase': {
      let next: UiState = { ...s, phase: { name: e.phase, state: e.state } };
      if (e.phase === 'up' && e.state === 'start') {
        // A new attempt: forget the previous run's progress and failure.
        next = { ...next, steps: [], failure: undefined, objects: s.objects.map((o) => ({ ...o, state: 'planned', done: 0 })) };
      }
      if (e.phase === 'down' && e.state === 'start') next = { ...next, steps: [] };
      if (e.phase === 'up' && e.state === 'done') {
        next = { ...next, labUp: true, objects: next.objects.map((o) => (o.state === 'failed' ? o : { ...o, state: 'up' })) };
      }
      if (e.phase === 'down' && e.state === 'done') {
        next = { ...next, labUp: false, objects: next.objects.map((o) => ({ ...o, state: 'removed', done: 0 })) };
      }
      if (e.phase === 'rollback') {
        if (e.state === 'start' && next.failure) next = { ...next, failure: { ...next.failure, rollback: 'running' } };
        if (e.state !== 'start') {
          const complete = e.state === 'done' && (next.failure?.undoFailures.length ?? 0) === 0;
          next = {
            ...next,
            labUp: false,
            failure: next.failure ? { ...next.failure, rollback: complete ? 'done' : 'incomplete' } : undefined,
            objects: next.objects.map((o) => (o.state === 'failed' ? o : { ...o, state: o.state === 'planned' ? 'planned' : 'removed', done: 0 })),
          };
        }
      }
      return next;
    }
    case 'step-start':
      return {
        ...s,
        steps: upsertStep(s, stepView(e.step, 'do', phase, 'running', now)),
        objects: updateObject(s, e.step.subject, (o) => (o.state === 'failed' ? o : { ...o, state: 'creating' })),
      };
    case 'step-done': {
      const v = { ...stepView(e.step, 'do', phase, e.skipped ? 'skipped' : 'done', now), durationMs: e.durationMs };
      return {
        ...s,
        steps: upsertStep(s, v),
        objects: updateObject(s, e.step.subject, (o) => {
          const done = o.done + 1;
          if (o.state === 'failed') return { ...o, done };
          return { ...o, done, state: o.steps > 0 && done >= o.steps ? 'up' : 'creating' };
        }),
      };
    }
    case 'step-failed': {
      const message = failureText(e.failure);
      const v = { ...stepView(e.step, 'do', phase, 'failed', now), durationMs: e.durationMs, error: message };
      return {
        ...s,
        steps: upsertStep(s, v),
        objects: updateObject(s, e.step.subject, (o) => ({ ...o, state: 'failed' })),
        failure: { stepId: e.step.id, subject: e.step.subject, message, rollback: 'pending', undone: 0, undoFailures: [] },
      };
    }
    case 'undo-start':
      return {
        ...s,
        steps: upsertStep(s, stepView(e.step, 'undo', phase, 'running', now)),
        objects: updateObject(s, e.step.subject, (o) => (o.state === 'failed' ? o : { ...o, state: 'removing' })),
      };
    case 'undo-done': {
      const v = { ...stepView(e.step, 'undo', phase, 'done', now), durationMs: e.durationMs };
      const inRollback = s.phase?.name === 'rollback' && s.phase.state === 'start';
      return {
        ...s,
        steps: upsertStep(s, v),
        failure: inRollback && s.failure ? { ...s.failure, undone: s.failure.undone + 1 } : s.failure,
      };
    }
    case 'undo-failed': {
      const message = failureText(e.failure);
      const v = { ...stepView(e.step, 'undo', phase, 'failed', now), error: message };
      const inRollback = s.phase?.name === 'rollback' && s.phase.state === 'start';
      return {
        ...s,
        steps: upsertStep(s, v),
        failure: inRollback && s.failure ? { ...s.failure, undoFailures: [...s.failure.undoFailures, message] } : s.failure,
      };
    }
    case 'check-start':
    case 'action-start': {
      const what = e.type === 'check-start' ? e.check : e.step;
      const exists = s.checks.some((c) => c.name === what.name);
      const running: CheckView = { name: what.name, kind: what.kind, state: 'running', startedAt: now };
      return { ...s, checks: exists ? s.checks.map((c) => (c.name === what.name ? running : c)) : [...s.checks, running] };
    }
    case 'inner-check-start':
    case 'inner-check-done': {
      const at = (c: CheckView): CheckView => {
        const done = (c.inner?.done ?? 0) + (e.type === 'inner-check-done' ? 1 : 0);
        return { ...c, inner: e.type === 'inner-check-start' ? { current: e.check.name, done } : { done } };
      };
      return { ...s, checks: s.checks.map((c) => (c.name === e.parent && c.state === 'running' ? at(c) : c)) };
    }
    case 'check-done': {
      const r = e.result;
      const done: CheckView = { name: r.name, kind: r.kind, state: r.status, result: r };
      const exists = s.checks.some((c) => c.name === r.name);
      return { ...s, checks: exists ? s.checks.map((c) => (c.name === r.name ? { ...done, startedAt: c.startedAt } : c)) : [...s.checks, done] };
    }
  }
}

/** Count of objects per state, for the header. */
export function objectSummary(s: UiState): Record<ObjectState, number> {
  const out: Record<ObjectState, number> = { planned: 0, creating: 0, up: 0, failed: 0, removing: 0, removed: 0 };
  for (const o of s.objects) out[o.state]++;
  return out;
}

export const OBJECT_KINDS = KINDS;
