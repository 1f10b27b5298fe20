/**
 * JUnit XML for CI systems: one <testsuite> per lab, one <testcase> per check. A failed check
 * is a <failure>, a check that could not run is an <error>; figures and the tool's raw output
 * go to <system-out>. Everything is XML-escaped, and characters XML 1.0 forbids are dropped.
 */
import type { CheckResult } from '../checks/result.js';

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

export function formatJunit(lab: string, topLevel: CheckResult[], opts: { timestamp?: Date; hostname?: string } = {}): string {
  // A step's inner checks (impair's `then`) are test cases of their own, right after the step,
  // classed under it (`lab.impair.lossy`), so CI shows which measurement failed under which impairment.
  const classOf = new Map<CheckResult, string>();
  const results = topLevel.flatMap((r) => {
    const kids = r.children ?? [];
    for (const c of kids) classOf.set(c, `${lab}.${r.kind}.${r.name}`);
    return [r, ...kids];
  });
  const failures = results.filter((r) => r.status === 'failed').length;
  const errors = results.filter((r) => r.status === 'error').length;
  const skipped = results.filter((r) => r.status === 'skipped').length;
  const time = topLevel.reduce((a, r) => a + r.durationMs, 0);
  const attrs = (o: Record<string, string | number | undefined>) =>
    Object.entries(o)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
      .join('');
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(`<testsuites${attrs({ name: 'geneve-lab', tests: results.length, failures, errors, skipped, time: secs(time) })}>`);
  out.push(
    `  <testsuite${attrs({ name: lab, tests: results.length, failures, errors, skipped, time: secs(time), timestamp: opts.timestamp?.toISOString().replace(/\.\d+Z$/, ''), hostname: opts.hostname })}>`,
  );
  for (const r of results) {
    out.push(`    <testcase${attrs({ classname: classOf.get(r) ?? `${lab}.${r.kind}`, name: r.name, time: secs(r.durationMs) })}>`);
    const figures = Object.entries(r.figures)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    if (r.status === 'failed') out.push(`      <failure${attrs({ message: r.message ?? 'failed', type: 'CheckFailed' })}>${xmlEscape(`${r.what}\n${r.message ?? ''}\n${figures}`)}</failure>`);
    // A scenario step not run (an earlier step failed): <skipped> with the reason, not a pass.
    if (r.status === 'skipped') out.push(`      <skipped${attrs({ message: r.message ?? 'not run' })}/>`);
    if (r.status === 'error') out.push(`      <error${attrs({ message: r.message ?? 'error', type: 'CheckError' })}>${xmlEscape(`${r.what}\n${r.message ?? ''}`)}</error>`);
    // Figures and raw output go to <system-out>: every JUnit consumer shows it, and
    // <properties> inside <testcase> is not in the common schema.
    const outText = [r.what, figures && `figures: ${figures}`, r.raw].filter(Boolean).join('\n');
    out.push(`      <system-out>${xmlEscape(outText)}</system-out>`);
    out.push('    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>');
  return out.join('\n') + '\n';
}
