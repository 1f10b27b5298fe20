import { Box } from 'ink';
import type { CounterSample } from '../../stats/linkstats.js';
import { totalErrors } from '../../stats/linkstats.js';
import type { WatchTarget } from '../../stats/targets.js';
import { clip, fmtBytesRate, fmtPps, overflowWindow } from '../format.js';
import { T } from '../theme.js';
import { Panel, innerCols, innerLines } from './Panel.js';

/**
 * Counters the kernel reports next to the errors that are not errors: rx_otherhost counts frames
 * addressed to another host's MAC, which a bridge port or a promiscuous capture sees all the time.
 */
const NOT_ERRORS = new Set(['rx_otherhost']);

/** Error counters that grew in the last interval, e.g. "rx_frame_errors +3". */
export function growingErrors(s: CounterSample): string[] {
  return Object.entries(s.errorsDelta)
    .filter(([k, d]) => d > 0 && !NOT_ERRORS.has(k))
    .map(([k, d]) => `${k} +${d}`);
}

export function CountersPanel(props: {
  targets: WatchTarget[];
  samples: Record<string, CounterSample>;
  selected: number;
  focused?: boolean;
  error?: string;
  width: number;
  height: number;
}) {
  const cols = innerCols(props.width);
  const room = innerLines(props.height) - (props.error ? 1 : 0);
  // Two lines per interface: name and errors, then rates.
  const perItem = 2;
  const win = overflowWindow(props.targets.length, props.selected, room, perItem);
  return (
    <Panel title="Live counters (per second)" width={props.width} height={props.height} focused={props.focused}>
      {props.targets.length === 0 ? <T tone="dim">no interfaces to watch</T> : null}
      {props.targets.slice(win.start, win.end).map((t, k) => {
        const i = win.start + k;
        const s = props.samples[`${t.ns}/${t.ifname}`];
        const grow = s ? growingErrors(s) : [];
        const errs = s ? totalErrors(s.totals.errors) : 0;
        const head = `${i === props.selected ? '›' : ' '} ${t.label}${t.role === 'underlay' ? ' (underlay)' : ''}`;
        return (
          <Box key={t.key} flexDirection="column">
            <Box>
              <T>{clip(head, Math.max(10, cols - 10))}</T>
              {s ? <T tone={grow.length ? 'bad' : 'dim'}> err {errs}</T> : <T tone="dim"> {t.source === 'ovs' ? 'OVS port' : '—'}</T>}
            </Box>
            {grow.length ? (
              <Box paddingLeft={4}>
                <T tone="bad">{clip('! ' + grow.join(', '), cols - 4)}</T>
              </Box>
            ) : null}
            <Box paddingLeft={4}>
              <T tone={s ? 'plain' : 'dim'}>
                {clip(
                  s ? `rx ${fmtPps(s.rxPps)} ${fmtBytesRate(s.rxBps)}  tx ${fmtPps(s.txPps)} ${fmtBytesRate(s.txBps)}` : 'no sample',
                  cols - 4,
                )}
              </T>
            </Box>
          </Box>
        );
      })}
      {win.note ? <T tone="dim">{clip(win.note, cols)}</T> : null}
      {props.error ? <T tone="warn">{clip(props.error, cols)}</T> : null}
    </Panel>
  );
}
