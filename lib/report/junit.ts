/**
 * JUnit XML for CI systems: one <testsuite> per lab, one <testcase> per check. A failed check
 * is a <failure>, a check that could not run is an <error>; figures and the tool's raw output
 * go to <system-out>; a check this kernel cannot run is <skipped> with the reason; a verb that
 * failed before its checks is one errored test case. Everything is XML-escaped, and characters
 * XML 1.0 forbids are dropped. The output validates against Jenkins xUnit's junit-10.xsd.
 */
import { hostname } from 'node:os';
import type { CheckResult } from '../checks/result.js';
import { ApplyError, LabError } from '../errors.js';

/** Escape for text and attribute values; drop control characters XML 1.0 cannot carry. */
export function xmlEscape(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const secs = (ms: number) => (ms / 1000).toFixed(3);

export interface JunitOptions {
  /** When the run started (default: now), ISO 8601 without a zone suffix as the XSD's consumers expect. */
  timestamp?: Date;
  /** The machine the lab ran on (default: this one's hostname). */
  hostname?: string;
}

const attrs = (o: Record<string, string | number | undefined>) =>
  Object.entries(o)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
    .join('');

interface Testcase {
  classname: string;
  name: string;
  ms: number;
  /** At most one verdict element; none for a pass. */
  verdict?: { element: 'failure' | 'error' | 'skipped'; message: string; type?: string; text?: string };
  out?: string;
}

/** The document: <testsuites> with one <testsuite> (attributes as Jenkins' junit-10.xsd allows them). */
function document(lab: string, cases: Testcase[], totalMs: number, opts: JunitOptions): string {
  const n = (e: string) => cases.filter((c) => c.verdict?.element === e).length;
  const counts = { tests: cases.length, failures: n('failure'), errors: n('error') };
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(`<testsuites${attrs({ name: 'geneve-lab', ...counts, time: secs(totalMs) })}>`);
  out.push(
    `  <testsuite${attrs({ name: lab, ...counts, skipped: n('skipped'), time: secs(totalMs), timestamp: (opts.timestamp ?? new Date()).toISOString().replace(/\.\d+Z$/, ''), hostname: opts.hostname ?? hostname() })}>`,
  );
  for (const c of cases) {
    out.push(`    <testcase${attrs({ classname: c.classname, name: c.name, time: secs(c.ms) })}>`);
    const v = c.verdict;
    if (v) out.push(`      <${v.element}${attrs({ message: v.message, type: v.type })}${v.text === undefined ? '/>' : `>${xmlEscape(v.text)}</${v.element}>`}`);
    if (c.out) out.push(`      <system-out>${xmlEscape(c.out)}</system-out>`);
    out.push('    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>');
  return out.join('\n') + '\n';
}

export function formatJunit(lab: string, topLevel: CheckResult[], opts: JunitOptions = {}): string {
  // A step's inner checks (impair's `then`) are test cases of their own, right after the step,
  // classed under it (`lab.impair.lossy`), so CI shows which measurement failed under which impairment.
  const classOf = new Map<CheckResult, string>();
  const results = topLevel.flatMap((r) => {
    const kids = r.children ?? [];
    for (const c of kids) classOf.set(c, `${lab}.${r.kind}.${r.name}`);
    return [r, ...kids];
  });
  const cases = results.map((r): Testcase => {
    const figures = Object.entries(r.figures)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    let verdict: Testcase['verdict'];
    // A check this kernel cannot run (no netem, …) is not a failure of the lab: <skipped> with the reason.
    if (r.unsupported && r.status !== 'passed') verdict = { element: 'skipped', message: r.unsupported };
    else if (r.status === 'failed') verdict = { element: 'failure', message: r.message ?? 'failed', type: 'CheckFailed', text: `${r.what}\n${r.message ?? ''}\n${figures}` };
    // A scenario step not run (an earlier step failed): <skipped> with the reason, not a pass.
    else if (r.status === 'skipped') verdict = { element: 'skipped', message: r.message ?? 'not run' };
    else if (r.status === 'error') verdict = { element: 'error', message: r.message ?? 'error', type: 'CheckError', text: `${r.what}\n${r.message ?? ''}` };
    // Figures and raw output go to <system-out>: every JUnit consumer shows it, and
    // <properties> inside <testcase> is not in the common schema.
    const out = [r.what, figures && `figures: ${figures}`, r.raw].filter(Boolean).join('\n');
    return { classname: classOf.get(r) ?? `${lab}.${r.kind}`, name: r.name, ms: r.durationMs, ...(verdict ? { verdict } : {}), out };
  });
  return document(lab, cases, topLevel.reduce((a, r) => a + r.durationMs, 0), opts);
}

/**
 * `up`/`run`/`check` that ended in an error (a failed build step, a missing prerequisite, an
 * invalid recipe, Ctrl-C): one errored test case named after what failed — the build step
 * (`step 7: tunnel "tun0" on host "box-1"`) when there is one — so CI shows the cause, not silence.
 */
export function formatJunitError(lab: string, verb: string, e: unknown, opts: JunitOptions & { durationMs?: number } = {}): string {
  const message = (e as Error)?.message ?? String(e);
  const code = e instanceof LabError ? e.code : 'internal_error';
  const name = e instanceof ApplyError ? `step ${e.stepId}: ${e.failure.subject}` : code;
  const ms = opts.durationMs ?? 0;
  const firstLine = message.split('\n')[0]!;
  return document(lab, [{ classname: `${lab}.${verb}`, name, ms, verdict: { element: 'error', message: firstLine, type: code, text: message } }], ms, opts);
}
