/** Pure text formatting for the TUI (kept apart from components so it is easy to test). */
import type { Tunnel } from '../model/types.js';

export function fmtDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

/**
 * Time since `startedAt`, never negative: the app's clock ticks every 250 ms, so a step or
 * check stamped between two ticks started "after" the last tick the screen knows of.
 */
export function fmtElapsed(now: number, startedAt: number): string {
  return fmtDuration(Math.max(0, now - startedAt));
}

/** Bytes per second, in bytes (B/s, KB/s, MB/s, GB/s with 1000 steps). */
export function fmtBytesRate(bps: number): string {
  const units = ['B/s', 'KB/s', 'MB/s', 'GB/s'];
  let v = bps;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

export function fmtPps(pps: number): string {
  return pps >= 1000 ? `${(pps / 1000).toFixed(1)}k pps` : `${Math.round(pps)} pps`;
}

function val(v: unknown): string {
  return typeof v === 'number' ? String(v) : String(v);
}

/** The parameters of a tunnel a user wants to see at a glance, one short item each. */
export function tunnelParams(t: Tunnel): string[] {
  const p = t.type === 'geneve' ? t.geneve : t.type === 'vxlan' ? t.vxlan : undefined;
  const out: string[] = [];
  const [a, b] = t.ends;
  out.push(`${a.host}(${a.impl}) ⇄ ${b.host}(${b.impl})`);
  const vni = t.type === 'gre' ? t.gre?.key : p?.vni;
  if (vni !== undefined) out.push(`${t.type === 'gre' ? 'key' : 'vni'} ${vni}`);
  out.push(`${a.local} → ${a.remote}`);
  const port = p?.dstport;
  if (t.type !== 'gre') out.push(`port ${port ?? (t.type === 'geneve' ? 6081 : 4789)}`);
  const tos = t.type === 'gre' ? t.gre?.tos : p?.tos;
  const ttl = t.type === 'gre' ? t.gre?.ttl : p?.ttl;
  if (tos !== undefined) out.push(`tos ${val(tos)}`);
  if (ttl !== undefined) out.push(`ttl ${val(ttl)}`);
  if (t.mtu !== undefined) out.push(`mtu ${t.mtu}`);
  if (p?.df !== undefined && p.df !== 'unset') out.push(`df ${p.df}`);
  if (t.options.length) {
    out.push('opts ' + t.options.map((o) => `${o.class.toString(16).padStart(4, '0')}:${o.type.toString(16).padStart(2, '0')}${o.type & 0x80 ? '!' : ''}`).join(','));
  }
  return out;
}

/** A check's figures as "k=v" items in a stable order. */
export function fmtFigures(f: Record<string, string | number | boolean>): string {
  return Object.entries(f)
    .map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : v}`)
    .join(' ');
}

/** Keep the window of `height` items that contains `selected`, scrolled as little as needed. */
export function visibleWindow(count: number, selected: number, height: number): { start: number; end: number } {
  if (height <= 0) return { start: 0, end: 0 };
  if (count <= height) return { start: 0, end: count };
  const half = Math.floor(height / 2);
  let start = Math.max(0, selected - half);
  start = Math.min(start, count - height);
  return { start, end: start + height };
}

/**
 * Like visibleWindow, for a list that says what it hides: when the items do not fit, one of the
 * `height` lines is given to a note ("… 3 above, 5 below"), so an overflowing list never hides
 * rows silently. `per` is the lines each item takes.
 */
export function overflowWindow(count: number, selected: number, height: number, per = 1): { start: number; end: number; note?: string } {
  if (count * per <= height) return { start: 0, end: count };
  const win = visibleWindow(count, selected, Math.max(1, Math.floor((height - 1) / per)));
  return { ...win, note: hiddenNote(win.start, count - win.end) };
}

/** The note an overflowing list shows instead of hiding rows silently: "… 3 above, 5 below (↑/↓)". */
export function hiddenNote(above: number, below: number): string | undefined {
  if (!above && !below) return undefined;
  return `… ${[above ? `${above} above` : '', below ? `${below} below` : ''].filter(Boolean).join(', ')} (↑/↓)`;
}

/**
 * A list scrolled by its top row rather than by a selection (the topology pane): `top` is
 * clamped so the last page is full, and when the rows do not fit one of the `height` lines is the
 * note saying how many are hidden above and below.
 */
export function scrollWindow(count: number, top: number, height: number): { start: number; end: number; note?: string; maxTop: number } {
  if (height <= 0) return { start: 0, end: 0, maxTop: 0 };
  if (count <= height) return { start: 0, end: count, maxTop: 0 };
  const room = Math.max(1, height - 1);
  const maxTop = count - room;
  const start = Math.min(Math.max(0, top), maxTop);
  const end = start + room;
  return { start, end, maxTop, note: hiddenNote(start, count - end) };
}

/** Words of `text` in lines of at most `width` columns (a longer word is broken). */
export function wrapWords(text: string, width: number): string[] {
  const w = Math.max(1, width);
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ').filter(Boolean)) {
    let rest = [...word];
    if (line && [...line].length + 1 + rest.length <= w) {
      line += ' ' + word;
      continue;
    }
    if (line) out.push(line);
    line = '';
    while (rest.length > w) {
      out.push(rest.slice(0, w).join(''));
      rest = rest.slice(w);
    }
    line = rest.join('');
  }
  if (line || !out.length) out.push(line);
  return out;
}

/** Trim a line to `width` columns with an ellipsis. */
export function clip(s: string, width: number): string {
  if (width <= 0) return '';
  return s.length <= width ? s : s.slice(0, Math.max(0, width - 1)) + '…';
}
