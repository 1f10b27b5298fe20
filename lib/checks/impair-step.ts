/**
 * The impair check step: apply netem to one or more links, run the inner checks while it is
 * on, and always clear it again — also when an inner check fails, throws, or the run is
 * cancelled. The step's result carries the inner results as `children`, so reports show
 * "add 1% loss → iperf ≥ 20 Mbit/s → cleared" as one unit with its parts.
 */
import type { ImpairCheck, ImpairTarget, LinkImpairment } from '../model/types.js';
import type { CheckContext } from './context.js';
import { applyImpairment, clearImpairment, ImpairmentError, type Target } from './impair.js';
import type { CheckResult, CheckStatus } from './result.js';
import { formatBitrate, formatPercent } from './units.js';

type Inner = ImpairCheck['then'][number];

/** "delay 10ms ±2ms, loss 1%, rate 100 Mbit/s" */
export function describeImpairment(i: LinkImpairment): string {
  const parts: string[] = [];
  if (i.delayMs !== undefined) parts.push(`delay ${i.delayMs}ms${i.jitterMs !== undefined ? ` ±${i.jitterMs}ms` : ''}`);
  if (i.lossPct !== undefined) parts.push(`loss ${formatPercent(i.lossPct)}`);
  if (i.rate !== undefined) parts.push(`rate ${formatBitrate(i.rate)}`);
  return parts.join(', ');
}

export function impairStepWhat(check: ImpairCheck): string {
  const on = check.on.length === 1 ? check.on[0]!.what : `${check.on.length} links (${check.on.map((t) => t.what).join(', ')})`;
  return `netem ${describeImpairment(check.impairment)} on ${on}, then ${check.then.length} check${check.then.length === 1 ? '' : 's'}`;
}

function targetOf(t: ImpairTarget, ctx: CheckContext): Target {
  // The executor of the host the link belongs to (local namespaces, or that host's SSH).
  const exec = t.host ? ctx.endpoint(t.host).exec : ctx.endpoint(ctx.lab.hosts[0]!.name).exec;
  return { exec, ns: t.ns, dev: t.dev };
}

function notRun(c: Inner, why: string, kindWhat: (c: Inner) => string): CheckResult {
  return { name: c.name, kind: c.kind, what: kindWhat(c), status: 'error', message: `not run: ${why}`, figures: {}, durationMs: 0 };
}

function figuresOf(i: LinkImpairment): CheckResult['figures'] {
  const f: CheckResult['figures'] = {};
  if (i.delayMs !== undefined) f.delay = `${i.delayMs}ms`;
  if (i.jitterMs !== undefined) f.jitter = `${i.jitterMs}ms`;
  if (i.lossPct !== undefined) f.loss = formatPercent(i.lossPct);
  if (i.rate !== undefined) f.rate = formatBitrate(i.rate);
  return f;
}

/**
 * Run one impair step. `runInner` runs an inner check and never throws (run.ts's runPlain);
 * `whatOf` describes a check for results of inner checks that were not run.
 */
export async function runImpairStep(check: ImpairCheck, ctx: CheckContext, runInner: (c: Inner) => Promise<CheckResult>, whatOf: (c: Inner) => string): Promise<CheckResult> {
  const started = Date.now();
  const base = { name: check.name, kind: 'impair' as const, what: impairStepWhat(check) };
  const figures = figuresOf(check.impairment);
  const applied: { target: Target; spec: ImpairTarget }[] = [];
  let applyError: Error | undefined;
  for (const t of check.on) {
    const target = targetOf(t, ctx);
    try {
      // `tc qdisc replace`: the step's netem takes the place of the link's own (if any) while it runs.
      await applyImpairment(target, check.impairment);
      applied.push({ target, spec: t });
    } catch (e) {
      applyError = e instanceof ImpairmentError ? new ImpairmentError(e.message.replace(/^impairment on \S+( \(netns [^)]+\))?/, `impairment on ${t.what}`), e.unsupported) : (e as Error);
      break;
    }
  }
  const children: CheckResult[] = [];
  const clearErrors: string[] = [];
  try {
    if (!applyError)
      for (const c of check.then) {
        if (ctx.signal?.aborted) children.push(notRun(c, 'cancelled', whatOf));
        else children.push(await runInner(c));
      }
  } finally {
    // Always clear what was applied, even when an inner check threw past runInner.
    for (const { target, spec } of applied) {
      try {
        // A link impaired by the recipe itself gets its own impairment back, not a clean link.
        if (spec.restore) await applyImpairment(target, spec.restore);
        else await clearImpairment(target);
      } catch (e) {
        clearErrors.push(`${spec.restore ? 'restoring the recipe\'s impairment' : 'clearing'} on ${spec.what}: ${(e as Error).message}`);
      }
    }
  }
  figures.cleared = clearErrors.length === 0;
  const durationMs = Date.now() - started;
  if (applyError) {
    const unsupported = applyError instanceof ImpairmentError && applyError.unsupported;
    const reason = unsupported ? { unsupported: applyError.message } : {};
    return {
      ...base,
      status: unsupported ? 'failed' : 'error',
      message: applyError.message + (clearErrors.length ? `\n${clearErrors.join('\n')}` : ''),
      figures,
      durationMs,
      ...reason,
      children: check.then.map((c) => ({ ...notRun(c, 'the impairment could not be applied', whatOf), ...reason })),
    };
  }
  const bad = children.filter((r) => r.status !== 'passed');
  const status: CheckStatus = clearErrors.length ? 'error' : bad.some((r) => r.status === 'failed') ? 'failed' : bad.length ? 'error' : 'passed';
  figures.checks = `${children.length - bad.length}/${children.length} passed`;
  const lines: string[] = [];
  if (bad.length) lines.push(`${bad.length} of ${children.length} check${children.length === 1 ? '' : 's'} did not pass with ${describeImpairment(check.impairment)}:`, ...bad.map((r) => `  ${r.name}: ${r.message ?? r.status}`));
  if (clearErrors.length) lines.push(...clearErrors, 'the link may still be impaired: `geneve-lab down` removes it with the lab');
  return { ...base, status, ...(lines.length ? { message: lines.join('\n') } : {}), figures, durationMs, children };
}
