import { Box } from 'ink';
import Spinner from 'ink-spinner';
import type { FailureView, StepView, UiState } from '../state.js';
import { clip, fmtDuration, fmtElapsed, overflowWindow } from '../format.js';
import { T } from '../theme.js';
import { Panel, innerCols, innerLines } from './Panel.js';

function StepRow(props: { s: StepView; selected: boolean; now: number; cols: number }) {
  const { s } = props;
  const elapsed = s.state === 'running' ? fmtElapsed(props.now, s.startedAt) : s.durationMs !== undefined ? fmtDuration(s.durationMs) : '';
  const mark = props.selected ? '›' : ' ';
  const verb = s.direction === 'undo' ? `undo ${s.op}` : s.op;
  const text = clip(`#${s.stepId} ${verb} ${s.subject}`, props.cols - elapsed.length - 6);
  return (
    <Box>
      <T>{mark} </T>
      {s.state === 'running' ? (
        <T tone="busy">
          <Spinner type="dots" />
        </T>
      ) : (
        <T tone={s.state === 'failed' ? 'bad' : s.state === 'skipped' ? 'dim' : 'ok'}>{s.state === 'failed' ? '✗' : s.state === 'skipped' ? '-' : '✓'}</T>
      )}
      <T> {text} </T>
      <T tone="dim">{elapsed}</T>
    </Box>
  );
}

export function failureLines(f: FailureView): string[] {
  const lines = [`✗ step ${f.stepId} failed: ${f.message.split('\n')[0]}`];
  for (const extra of f.message.split('\n').slice(1)) lines.push('  ' + extra.trim());
  if (f.rollback === 'pending') lines.push('rollback: not started');
  else if (f.rollback === 'running') lines.push(`rollback: in progress (${f.undone} undone)`);
  else if (f.rollback === 'done') lines.push(`rolled back: ${f.undone} change${f.undone === 1 ? '' : 's'} undone, nothing left behind`);
  else lines.push(`ROLLBACK INCOMPLETE: ${f.undoFailures.length} change(s) could not be undone`, ...f.undoFailures.map((u) => '  ' + u.split('\n')[0]));
  return lines;
}

export function ProgressPanel(props: {
  state: Pick<UiState, 'steps' | 'phase' | 'failure'>;
  selected: number;
  focused?: boolean;
  now: number;
  width: number;
  height: number;
}) {
  const { steps, phase, failure } = props.state;
  const cols = innerCols(props.width);
  const fail = failure ? failureLines(failure) : [];
  const room = Math.max(0, innerLines(props.height) - 1 - fail.length);
  const win = overflowWindow(steps.length, props.selected, room);
  const title = phase ? `Progress — ${phase.name}: ${phase.state === 'start' ? 'running' : phase.state}` : 'Progress — idle (u: up)';
  return (
    <Panel title={title} width={props.width} height={props.height} focused={props.focused}>
      {steps.length === 0 ? <T tone="dim">no steps yet</T> : null}
      {steps.slice(win.start, win.end).map((s, i) => (
        <StepRow key={s.key + ':' + (win.start + i)} s={s} selected={win.start + i === props.selected} now={props.now} cols={cols} />
      ))}
      {win.note ? <T tone="dim">{clip(win.note, cols)}</T> : null}
      {fail.map((l, i) => (
        // Failure text wraps instead of being cut: it is what the user needs to read.
        <T key={'f' + i} wrap="wrap" tone={i === 0 || l.startsWith('ROLLBACK') ? 'bad' : l.startsWith('rolled back') ? 'warn' : 'plain'}>
          {l}
        </T>
      ))}
    </Panel>
  );
}
