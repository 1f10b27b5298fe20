/** Check results for the terminal and for CI (JUnit). */
import type { CheckResult } from '../lib/checks/result.js';

export function formatResults(results: CheckResult[]): string {
  const rows = results.map((r) => {
    const mark = r.status === 'passed' ? 'PASS' : r.status === 'failed' ? 'FAIL' : 'ERROR';
    const figs = Object.entries(r.figures)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    return `${mark.padEnd(5)} ${r.name.padEnd(24)} ${r.what}${figs ? `  [${figs}]` : ''}  (${r.durationMs} ms)${r.message && r.status !== 'passed' ? `\n      ${r.message}` : ''}`;
  });
  const failed = results.filter((r) => r.status !== 'passed').length;
  return rows.join('\n') + `\n${results.length - failed} passed, ${failed} failed\n`;
}

const esc = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

export function toJunit(lab: string, results: CheckResult[]): string {
  const failures = results.filter((r) => r.status === 'failed').length;
  const errors = results.filter((r) => r.status === 'error').length;
  const time = results.reduce((s, r) => s + r.durationMs, 0) / 1000;
  const cases = results.map((r) => {
    const inner =
      r.status === 'failed'
        ? `<failure message="${esc(r.message ?? 'failed')}">${esc(r.raw ?? '')}</failure>`
        : r.status === 'error'
          ? `<error message="${esc(r.message ?? 'error')}">${esc(r.raw ?? '')}</error>`
          : '';
    return `    <testcase classname="${esc(lab)}.${r.kind}" name="${esc(r.name)}" time="${(r.durationMs / 1000).toFixed(3)}">${inner}</testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n  <testsuite name="${esc(lab)}" tests="${results.length}" failures="${failures}" errors="${errors}" time="${time.toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>\n</testsuites>\n`;
}
