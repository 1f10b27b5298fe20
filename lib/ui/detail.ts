/**
 * The full text of a check, for the detail view (i): the panes cut lines to fit, this never
 * does — message, figures, inner checks and the tool's raw output, line by line.
 */
import type { CheckResult } from '../checks/result.js';
import type { CheckView } from './state.js';

function resultLines(r: CheckResult, indent = ''): string[] {
  const out = [`${indent}${r.name} (${r.kind}): ${r.status.toUpperCase()} in ${r.durationMs} ms`, `${indent}  ${r.what}`];
  if (r.message) out.push(...r.message.split('\n').map((l) => `${indent}  ${l}`));
  const figures = Object.entries(r.figures);
  if (figures.length) out.push(`${indent}  figures:`, ...figures.map(([k, v]) => `${indent}    ${k} = ${String(v)}`));
  for (const c of r.children ?? []) out.push(...resultLines(c, indent + '  '));
  if (r.raw) out.push(`${indent}  raw output:`, ...r.raw.split('\n').map((l) => `${indent}    ${l}`));
  return out;
}

export function checkDetailText(c: CheckView): string[] {
  if (!c.result) return [`${c.name} (${c.kind}): ${c.state}`, c.state === 'running' ? 'still running: its result comes here when it ends' : 'not run yet: c runs the checks, Enter this one'];
  return resultLines(c.result);
}

/** Long lines broken at `width` columns (continuations indented), so nothing is cut off. */
export function wrapLines(lines: readonly string[], width: number): string[] {
  const w = Math.max(10, width);
  const out: string[] = [];
  for (const l of lines) {
    const chars = [...l];
    if (chars.length <= w) {
      out.push(l);
      continue;
    }
    out.push(chars.slice(0, w).join(''));
    for (let i = w; i < chars.length; i += w - 2) out.push('  ' + chars.slice(i, i + w - 2).join(''));
  }
  return out;
}
