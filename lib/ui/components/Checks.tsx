import { Box } from 'ink';
import Spinner from 'ink-spinner';
import type { CheckView } from '../state.js';
import { clip, fmtDuration, fmtElapsed, fmtFigures, overflowWindow } from '../format.js';
import { T } from '../theme.js';
import { Panel, innerCols, innerLines } from './Panel.js';

const MARK: Record<CheckView['state'], string> = { pending: '·', running: '', passed: '✓', failed: '✗', error: '!', skipped: '–' };

const LABEL: Record<CheckView['state'], string> = { pending: 'pending', running: 'running', passed: 'passed', failed: 'FAILED', error: 'ERROR', skipped: 'not run' };

/**
 * Lines under a check: its figures, and for a failure what was expected and what was seen. A step
 * that ran checks of its own (impair: apply, run, clear) lists them, each with its verdict, so a
 * failure under an impairment names the inner check and its figures.
 */
export function checkDetailLines(c: CheckView): string[] {
  const r = c.result;
  if (!r) return [];
  const out: string[] = [];
  const figs = fmtFigures(r.figures);
  if (c.state !== 'passed') {
    out.push(r.what);
    // The inner checks' own lines follow; the step's summary of them would say it twice.
    const message = r.children?.length ? (r.message ?? '').split('\n').filter((l) => !/^ {2}\S/.test(l) && !/did not pass with/.test(l)).join('\n') : r.message ?? 'no reason given';
    for (const l of message.split('\n')) if (l) out.push(l);
  }
  if (figs) out.push(figs);
  for (const child of r.children ?? []) {
    out.push(`${MARK[child.status]} ${child.name} (${child.kind}) ${LABEL[child.status]} ${fmtDuration(child.durationMs)}`);
    if (child.status !== 'passed') for (const l of (child.message ?? 'no reason given').split('\n')) out.push(`  ${l}`);
    const childFigs = fmtFigures(child.figures);
    if (childFigs) out.push(`  ${childFigs}`);
  }
  return out;
}

export function ChecksPanel(props: { checks: CheckView[]; selected: number; focused?: boolean; now: number; width: number; height: number }) {
  const cols = innerCols(props.width);
  const room = innerLines(props.height);
  const passed = props.checks.filter((c) => c.state === 'passed').length;
  const failed = props.checks.filter((c) => c.state === 'failed' || c.state === 'error').length;
  const skipped = props.checks.filter((c) => c.state === 'skipped').length;
  // Failures are expanded; the window is computed on rows, keeping the selected check visible.
  const rows: { check: number; text: string; detail: boolean }[] = [];
  props.checks.forEach((c, i) => {
    rows.push({ check: i, text: '', detail: false });
    for (const d of checkDetailLines(c)) rows.push({ check: i, text: d, detail: true });
  });
  const selRow = Math.max(0, rows.findIndex((r) => r.check === props.selected && !r.detail));
  const win = overflowWindow(rows.length, selRow, room);
  return (
    <Panel title={`Checks — ${passed} passed, ${failed} failed, ${skipped ? `${skipped} not run, ` : ""}${props.checks.length} total`} width={props.width} height={props.height} focused={props.focused}>
      {props.checks.length === 0 ? <T tone="dim">no checks in this recipe</T> : null}
      {rows.slice(win.start, win.end).map((row, k) => {
        const c = props.checks[row.check]!;
        if (row.detail) {
          const tone = c.state === 'passed' ? 'dim' : 'plain';
          return (
            <Box key={k} paddingLeft={4}>
              <T tone={tone}>{clip(row.text, cols - 4)}</T>
            </Box>
          );
        }
        const sel = row.check === props.selected ? '›' : ' ';
        const tone = c.state === 'passed' ? 'ok' : c.state === 'failed' || c.state === 'error' ? 'bad' : c.state === 'running' ? 'busy' : 'dim';
        const time = c.state === 'running' && c.startedAt !== undefined ? fmtElapsed(props.now, c.startedAt) : c.result ? fmtDuration(c.result.durationMs) : '';
        const label = LABEL[c.state];
        return (
          <Box key={k}>
            <T>{sel} </T>
            {c.state === 'running' ? (
              <T tone="busy">
                <Spinner type="dots" />
              </T>
            ) : (
              <T tone={tone}>{MARK[c.state]}</T>
            )}
            <T> {clip((cols >= 50 ? `${c.name} (${c.kind})` : c.name) + (c.state === 'running' && c.inner?.current ? ` › ${c.inner.current}` : ''), cols - 22)} </T>
            <T tone={tone}>{label}</T>
            <T tone="dim"> {time}</T>
          </Box>
        );
      })}
      {win.note ? <T tone="dim">{clip(win.note, cols)}</T> : null}
    </Panel>
  );
}
