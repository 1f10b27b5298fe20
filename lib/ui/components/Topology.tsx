import { Box } from 'ink';
import type { Lab } from '../../model/types.js';
import type { ObjectState, ObjectView } from '../state.js';
import { tunnelParams, clip, scrollWindow, wrapWords } from '../format.js';
import { T, type Tone } from '../theme.js';
import { Panel, innerCols, innerLines } from './Panel.js';

export const STATE_LABEL: Record<ObjectState, string> = {
  planned: 'planned',
  creating: 'creating',
  up: 'up',
  failed: 'FAILED',
  removing: 'removing',
  removed: 'removed',
};
const STATE_TONE: Record<ObjectState, Tone> = {
  planned: 'dim',
  creating: 'busy',
  up: 'ok',
  failed: 'bad',
  removing: 'warn',
  removed: 'dim',
};

interface Line {
  text: string;
  state?: ObjectState;
  indent?: boolean;
}

/** Every object of the lab with its state, tunnels with their parameters. */
export function topologyLines(lab: Lab, objects: ObjectView[]): Line[] {
  const st = (kind: string, name: string) => objects.find((o) => o.key === `${kind}:${name}`)?.state ?? 'planned';
  const lines: Line[] = [];
  // Tunnels first: they are what the lab is about and must stay visible in a small terminal.
  for (const t of lab.tunnels) {
    lines.push({ text: `tunnel ${t.name} ${t.type}/${t.family === 'ipv6' ? 'v6' : 'v4'}`, state: st('tunnel', t.name) });
    lines.push({ text: tunnelParams(t).join(' · '), indent: true });
  }
  for (const g of lab.guests) lines.push({ text: `guest ${g.name} on ${g.switch} · ${g.addresses.join(' ')}`, state: st('guest', g.name) });
  for (const s of lab.switches) lines.push({ text: `switch ${s.name} (${s.kind}) on ${s.host}`, state: st('switch', s.name) });
  for (const h of lab.hosts) {
    const ifs = h.interfaces.map((i) => `${i.ifname} ${i.addresses.join(' ')}`.trim()).join(', ');
    lines.push({ text: `host ${h.name}${ifs ? ' · ' + ifs : ''}`, state: st('host', h.name) });
  }
  return lines;
}

/** One screen row of the pane: an object with its state, or one wrapped line of a tunnel's parameters. */
export interface TopologyRow {
  text: string;
  state?: ObjectState;
  indent?: boolean;
}

/**
 * The pane's rows at `cols` inner columns: tunnel parameters wrapped into rows of their own (so
 * the pane can count, scroll and say what it hides), other objects one row each.
 */
export function topologyRows(lab: Lab, objects: ObjectView[], cols: number): TopologyRow[] {
  return topologyLines(lab, objects).flatMap((l): TopologyRow[] =>
    l.indent ? wrapWords(l.text, Math.max(1, cols - 2)).map((text) => ({ text, indent: true })) : [{ text: l.text, ...(l.state ? { state: l.state } : {}) }],
  );
}

/** The topology as a window of rows: `scroll` is the top row (clamped); the App scrolls it when the pane has the focus. */
export function topologyWindow(lab: Lab, objects: ObjectView[], width: number, height: number, scroll: number) {
  const rows = topologyRows(lab, objects, innerCols(width));
  return { rows, ...scrollWindow(rows.length, scroll, innerLines(height)) };
}

/** The topology in full, for the detail view (i with the pane focused): nothing clipped. */
export function topologyText(lab: Lab, objects: ObjectView[]): string[] {
  return topologyLines(lab, objects).map((l) => (l.indent ? `    ${l.text}` : `[${STATE_LABEL[l.state ?? 'planned']}] ${l.text}`));
}

export function TopologyPanel(props: { lab: Lab; objects: ObjectView[]; width: number; height: number; focused?: boolean; scroll?: number }) {
  const cols = innerCols(props.width);
  const win = topologyWindow(props.lab, props.objects, props.width, props.height, props.scroll ?? 0);
  return (
    <Panel title={`Topology — ${props.lab.name}`} width={props.width} height={props.height} focused={props.focused}>
      {win.rows.slice(win.start, win.end).map((l, i) =>
        l.indent ? (
          <Box key={i} paddingLeft={2}>
            {/* Parameters are wrapped into rows (topologyRows), never cut: they are what the pane is for. */}
            <T tone="dim">{l.text}</T>
          </Box>
        ) : (
          <Box key={i}>
            <T tone={STATE_TONE[l.state ?? 'planned']}>[{STATE_LABEL[l.state ?? 'planned']}] </T>
            <T>{clip(l.text, cols - STATE_LABEL[l.state ?? 'planned'].length - 3)}</T>
          </Box>
        ),
      )}
      {win.note ? <T tone="dim">{clip(win.note, cols)}</T> : null}
    </Panel>
  );
}
