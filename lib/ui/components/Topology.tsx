import { Box } from 'ink';
import type { Lab } from '../../model/types.js';
import type { ObjectState, ObjectView } from '../state.js';
import { tunnelParams, clip } from '../format.js';
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

export function TopologyPanel(props: { lab: Lab; objects: ObjectView[]; width: number; height: number; focused?: boolean }) {
  const cols = innerCols(props.width);
  const max = innerLines(props.height);
  const all = topologyLines(props.lab, props.objects);
  // Tunnel parameter lines wrap (estimate their height); the rest are one line each.
  const height = (l: Line) => (l.indent ? Math.max(1, Math.ceil(l.text.length / Math.max(1, cols - 4))) : 1);
  const total = all.reduce((n, l) => n + height(l), 0);
  let shown = all;
  if (total > max) {
    shown = [];
    let used = 0;
    for (const l of all) {
      if (used + height(l) > max - 1) break;
      shown.push(l);
      used += height(l);
    }
  }
  return (
    <Panel title={`Topology — ${props.lab.name}`} width={props.width} height={props.height} focused={props.focused}>
      {shown.map((l, i) =>
        l.indent ? (
          <Box key={i} paddingLeft={2}>
            {/* Parameters wrap rather than being cut: they are what the panel is for. */}
            <T tone="dim" wrap="wrap">
              {l.text}
            </T>
          </Box>
        ) : (
          <Box key={i}>
            <T tone={STATE_TONE[l.state ?? 'planned']}>[{STATE_LABEL[l.state ?? 'planned']}] </T>
            <T>{clip(l.text, cols - STATE_LABEL[l.state ?? 'planned'].length - 3)}</T>
          </Box>
        ),
      )}
      {all.length > shown.length ? <T tone="dim">… {all.length - shown.length} more</T> : null}
    </Panel>
  );
}
