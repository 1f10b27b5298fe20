import { Box } from 'ink';
import type { DecodedPacketSummary } from '../controller.js';
import { packetLines } from '../packet-lines.js';
import { clip, visibleWindow } from '../format.js';
import { T } from '../theme.js';
import { Panel, innerCols, innerLines } from './Panel.js';

export { packetLines };

export const HELP_LINES: [string, string][] = [
  ['u', 'bring the lab up'],
  ['d', 'tear the lab down (asks first)'],
  ['c', 'run all checks'],
  ['Enter', 're-run the selected check'],
  ['↑/↓ j/k', 'select in the focused panel (the topology scrolls)'],
  ['PgUp/PgDn', 'a page up or down in the focused panel or view'],
  ['Tab', 'focus next panel (topology, progress, checks, counters)'],
  ['p', 'capture packets on the selected interface'],
  ['l', 'log of the selected step'],
  ['i', 'in full: the selected check (message, figures, raw output), or the topology'],
  ['?', 'this help'],
  ['Esc', 'close a view'],
  ['q', 'quit (asks whether to tear the lab down)'],
];

export function HelpOverlay(props: { width: number; height: number }) {
  return (
    <Panel title="Help — keys" width={props.width} height={props.height} focused>
      {HELP_LINES.map(([k, d]) => (
        <Box key={k}>
          <Box width={10}>
            <T tone="accent">{k}</T>
          </Box>
          <T>{d}</T>
        </Box>
      ))}
      <T tone="dim">Esc or ? to close</T>
    </Panel>
  );
}

export function QuitConfirm(props: { width: number; busy?: string; stay?: boolean }) {
  return (
    <Box borderStyle="double" flexDirection="column" width={Math.min(props.width, 60)} paddingX={1}>
      <T tone="warn" bold>
        Tear the lab down? y/n
      </T>
      <T tone="dim">{props.stay ? 'y: tear it down · n or Esc: keep it' : 'y: tear down, then quit · n: quit and leave it running · Esc: stay'}</T>
      {props.busy ? <T tone="warn">{props.busy} is still running</T> : null}
    </Box>
  );
}

export function PacketsView(props: { title: string; packets: DecodedPacketSummary[] | 'capturing'; scroll: number; width: number; height: number }) {
  const cols = innerCols(props.width);
  const lines = props.packets === 'capturing' ? [] : props.packets.flatMap(packetLines);
  const win = visibleWindow(lines.length, props.scroll, innerLines(props.height) - 1);
  return (
    <Panel title={props.title} width={props.width} height={props.height} focused>
      {props.packets === 'capturing' ? <T tone="busy">capturing…</T> : lines.length === 0 ? <T tone="warn">no packets captured</T> : null}
      {lines.slice(win.start, win.end).map((l, i) => (
        <T key={i}>{clip(l, cols)}</T>
      ))}
      <T tone="dim">Esc to close · j/k PgUp/PgDn scroll</T>
    </Panel>
  );
}

export function LogView(props: { title: string; lines: string[]; scroll: number; width: number; height: number }) {
  const cols = innerCols(props.width);
  const win = visibleWindow(props.lines.length, props.scroll, innerLines(props.height) - 1);
  return (
    <Panel title={props.title} width={props.width} height={props.height} focused>
      {props.lines.length === 0 ? <T tone="dim">nothing logged for this step</T> : null}
      {props.lines.slice(win.start, win.end).map((l, i) => (
        <T key={i}>{clip(l, cols)}</T>
      ))}
      <T tone="dim">Esc to close · j/k PgUp/PgDn scroll</T>
    </Panel>
  );
}
