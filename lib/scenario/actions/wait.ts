/**
 * `wait: { until: CHECK, timeout: 30s, every: 1s }` — retry one check until it passes, the OVS
 * test suites' OVS_WAIT_UNTIL. The result is the last attempt's (its status, message, figures and
 * raw output), with `attempts` and the time it took; a timeout says how many attempts failed.
 */
import type { CheckResult } from '../../checks/result.js';
import type { Check } from '../../model/types.js';
import type { WaitStep } from '../../model/scenario.js';
import { showDuration } from '../duration.js';
import type { ScenarioContext } from '../context.js';
import { pause } from './sleep.js';

export function waitWhat(s: WaitStep): string {
  return `retry ${s.until.kind} "${s.until.name}" every ${showDuration(s.everyMs)} until it passes (up to ${showDuration(s.timeoutMs)})`;
}

export async function runWait(s: WaitStep, ctx: ScenarioContext, runOne: (c: Check) => Promise<CheckResult>): Promise<CheckResult> {
  const started = Date.now();
  const deadline = started + s.timeoutMs;
  let attempts = 0;
  let last: CheckResult | undefined;
  for (;;) {
    attempts++;
    ctx.onInner?.({ parent: s.name, check: s.until });
    last = await runOne(s.until);
    ctx.onInner?.({ parent: s.name, result: last });
    if (last.status === 'passed') break;
    // Another attempt only when it can start before the deadline.
    if (Date.now() + s.everyMs > deadline || ctx.signal?.aborted) break;
    if (!(await pause(s.everyMs, ctx.signal))) break;
  }
  const took = Date.now() - started;
  const figures = { ...last.figures, attempts };
  const base = { name: s.name, kind: s.kind, what: waitWhat(s), figures, durationMs: took, ...(last.raw !== undefined ? { raw: last.raw } : {}), ...(last.details !== undefined ? { details: last.details } : {}) };
  if (last.status === 'passed') return { ...base, status: 'passed' };
  const why = ctx.signal?.aborted ? 'cancelled' : `still not passing after ${attempts} attempt${attempts === 1 ? '' : 's'} in ${showDuration(took)} (timeout ${showDuration(s.timeoutMs)})`;
  return { ...base, status: last.status, message: `${s.until.kind} "${s.until.name}" ${why}; last attempt: ${last.message ?? last.status}` };
}
