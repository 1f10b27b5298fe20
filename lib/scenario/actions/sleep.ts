/** `sleep: 1s` — a pause between steps (cut short when the run is cancelled). */
import type { CheckResult } from '../../checks/result.js';
import type { SleepStep } from '../../model/scenario.js';
import { showDuration } from '../duration.js';
import type { ScenarioContext } from '../context.js';

export function sleepWhat(s: SleepStep): string {
  return `pause ${showDuration(s.ms)}`;
}

/** Resolves after `ms`, or early (false) when `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((res) => {
    if (signal?.aborted) return res(false);
    const timer = setTimeout(() => (signal?.removeEventListener('abort', onAbort), res(true)), ms);
    const onAbort = () => (clearTimeout(timer), res(false));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function runSleep(s: SleepStep, ctx: ScenarioContext): Promise<CheckResult> {
  const started = Date.now();
  const full = await pause(s.ms, ctx.signal);
  const base = { name: s.name, kind: s.kind, what: sleepWhat(s), figures: {}, durationMs: Date.now() - started };
  return full ? { ...base, status: 'passed' } : { ...base, status: 'error', message: 'cancelled during the pause' };
}
