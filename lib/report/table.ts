/**
 * A readable table of check results: result, name, what, key figures, time. On a terminal it
 * fits the width (long cells are shortened with "…"); into a file or a pipe (a CI log) nothing is
 * ever cut — the RTT figures must survive. Failure messages are printed in full under their row,
 * wrapped at the width (COLUMNS when set). Colour only on a terminal without NO_COLOR.
 */
import type { CheckResult, CheckStatus } from '../checks/result.js';
import { formatDuration } from '../checks/units.js';

export interface TableOptions {
  /** Total width in columns (default 100); messages wrap at it. */
  width?: number;
  /** Shorten cells to fit `width` (default true); false: every cell in full, whatever the width. */
  clip?: boolean;
  color?: boolean;
}

/**
 * How to lay a table out on `stream`: the width is COLUMNS when set (a CI job or the user says
 * how wide its log is), else the terminal's; cells are shortened only on a terminal.
 */
export function tableLayoutFor(stream: { isTTY?: boolean; columns?: number }, env: Record<string, string | undefined> = process.env): Pick<TableOptions, 'width' | 'clip'> {
  const columns = /^\d+$/.test(env.COLUMNS ?? '') ? Number(env.COLUMNS) : undefined;
  const width = columns && columns > 0 ? columns : stream.isTTY ? stream.columns : undefined;
  return { ...(width ? { width } : {}), clip: Boolean(stream.isTTY) };
}

/** https://no-color.org: any non-empty NO_COLOR disables colour; FORCE_COLOR forces it. */
export function useColor(stream: { isTTY?: boolean } | undefined, env: Record<string, string | undefined> = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream?.isTTY) && env.TERM !== 'dumb';
}

const SGR = { red: '31', green: '32', yellow: '33', dim: '2', bold: '1' } as const;
function paint(on: boolean, code: keyof typeof SGR, s: string): string {
  return on ? `\u001b[${SGR[code]}m${s}\u001b[0m` : s;
}

const LABEL: Record<CheckStatus, string> = { passed: 'PASS', failed: 'FAIL', error: 'ERROR', skipped: 'SKIP' };
const COLOUR: Record<CheckStatus, keyof typeof SGR> = { passed: 'green', failed: 'red', error: 'yellow', skipped: 'dim' };

/** Figures not worth a table cell (raw numbers duplicated by a formatted one, bookkeeping). */
const HIDDEN = new Set(['bps', 'probes', 'pcap']);

export function figuresText(f: CheckResult['figures']): string {
  return Object.entries(f)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => (v === true ? k : `${k}=${v}`))
    .join(' ');
}

/** Shorten to `n` display columns with an ellipsis. */
export function clip(s: string, n: number): string {
  const chars = [...s];
  if (chars.length <= n) return s;
  if (n <= 1) return chars.slice(0, n).join('');
  return chars.slice(0, n - 1).join('') + '…';
}

function pad(s: string, n: number): string {
  const len = [...s].length;
  return len >= n ? s : s + ' '.repeat(n - len);
}

/** Wrap text to `width`, continuation lines indented by `indent` spaces. */
function wrap(text: string, width: number, indent: number): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(' ')) {
      if (line && [...line].length + 1 + [...word].length > width - indent) {
        out.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    out.push(line);
  }
  return out.map((l) => ' '.repeat(indent) + l);
}

export function formatTable(results: CheckResult[], opts: TableOptions = {}): string {
  const width = Math.max(40, opts.width ?? 100);
  const color = opts.color ?? false;
  const clipping = opts.clip ?? true;
  if (results.length === 0) return 'no checks\n';
  const head = { result: 'RESULT', name: 'CHECK', what: 'WHAT', figures: 'FIGURES', time: 'TIME' };
  // Checks run inside a step (impair's `then`) follow it, indented; their names already start with the step's.
  const flat = results.flatMap((r) => [{ r, depth: 0 }, ...(r.children ?? []).map((c) => ({ r: c, depth: 1 }))]);
  const rows = flat.map(({ r, depth }) => ({ r, result: LABEL[r.status], name: depth ? `  ${r.name.replace(/^.*? › /, '› ')}` : r.name, what: r.what, figures: figuresText(r.figures), time: formatDuration(r.durationMs) }));
  const w = (k: keyof typeof head) => Math.max([...head[k]].length, ...rows.map((x) => [...x[k]].length));
  const resultW = w('result');
  const timeW = w('time');
  let nameW = clipping ? Math.min(w('name'), 28) : w('name');
  // Share what is left between WHAT and FIGURES, giving WHAT up to 60% when both are long.
  const gaps = 4 * 2;
  let rest = width - resultW - nameW - timeW - gaps;
  if (clipping && rest < 20) {
    nameW = Math.max(8, nameW - (20 - rest));
    rest = width - resultW - nameW - timeW - gaps;
  }
  const wantWhat = w('what');
  const wantFig = w('figures');
  let whatW: number;
  let figW: number;
  if (!clipping || wantWhat + wantFig <= rest) {
    whatW = wantWhat;
    figW = wantFig;
  } else {
    whatW = Math.min(wantWhat, Math.max(Math.floor(rest * 0.6), rest - wantFig));
    figW = Math.max(4, rest - whatW);
  }
  const line = (c: { result: string; name: string; what: string; figures: string; time: string }, status?: CheckStatus) => {
    const res = pad(c.result, resultW);
    const cells = [status ? paint(color, COLOUR[status], res) : paint(color, 'bold', res), pad(clip(c.name, nameW), nameW), pad(clip(c.what, whatW), whatW), pad(clip(c.figures, figW), figW), c.time.padStart(timeW)];
    return cells.join('  ').trimEnd();
  };
  const out = [line(head)];
  for (const row of rows) {
    out.push(line(row, row.r.status));
    if (row.r.status !== 'passed' && row.r.message) {
      for (const l of wrap(row.r.message, width, resultW + 2)) out.push(paint(color, COLOUR[row.r.status], l));
    }
  }
  out.push(summaryLine(results, color));
  return out.join('\n') + '\n';
}

export function summaryLine(results: CheckResult[], color = false): string {
  const n = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  const total = results.reduce((a, r) => a + r.durationMs, 0);
  const parts = [paint(color, 'green', `${n('passed')} passed`), paint(color, n('failed') ? 'red' : 'dim', `${n('failed')} failed`), paint(color, n('error') ? 'yellow' : 'dim', `${n('error')} errors`)];
  // Scenario steps not run after a failed one: counted apart, never as passed.
  if (n('skipped')) parts.push(paint(color, 'dim', `${n('skipped')} not run`));
  return `${results.length} check${results.length === 1 ? '' : 's'}: ${parts.join(', ')} (${formatDuration(total)} of check time)`;
}
