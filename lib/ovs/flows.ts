/**
 * The part of ovs-ofctl's flow grammar (ovs-fields(7), ovs-actions(7), ovs-ofctl(8)) that can be
 * checked without a switch: which words name ports (`in_port=`, `output:`, a bare port as an
 * action, `enqueue`, `resubmit`, group buckets' `watch_port`), which name tables (`table=`,
 * `goto_table:`, `resubmit(,T)`, `learn(table=T…)`), which name tun_metadata fields, and that a
 * flow has an `actions=` part. Port words are translated from the recipe's names to the names the
 * lab created (lib/ovs/port-names.ts); everything else is left exactly as written, for ovs-ofctl
 * to judge. Pure.
 *
 * Port names come from lib/ovs/port-names.ts (shared with scenario steps); `programPortNames`
 * adds the names of tunnel ports shared by several tunnels (`ends: { X: { port } }`).
 */
import type { Lab } from '../model/types.js';
import { RESERVED_PORTS, switchPorts } from './port-names.js';

export interface FlowProblem {
  /** Character offset in the flow text where the problem starts. */
  offset: number;
  message: string;
}

interface Word {
  kind: 'port' | 'table' | 'metadata';
  /** The word as written. */
  value: string;
  offset: number;
  /** What names it, for messages: "in_port", "output", "goto_table", … */
  role: string;
}


/** Actions written as one bare word: anything else bare is a port to output to. */
const BARE_ACTIONS = new Set([
  'drop', 'normal', 'flood', 'all', 'local', 'in_port', 'controller', 'strip_vlan', 'pop_vlan', 'dec_ttl', 'ct_clear', 'exit',
  'clear_actions', 'pop_queue', 'dec_mpls_ttl', 'dec_nsh_ttl', 'debug_recirc', 'debug_slow', 'decap', 'none', 'table', 'any', 'unset',
]);

/** Highest OpenFlow table number a flow can be in (255 means "all tables" and is not a table). */
export const MAX_TABLE = 254;
export const MAX_TUN_METADATA = 63;

/** Split `s` (starting at `base`) at top-level commas; parentheses nest. Offsets are kept. */
function splitTop(s: string, base: number, seps = ','): { text: string; offset: number }[] {
  const out: { text: string; offset: number }[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = s[i];
    if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    if (i === s.length || (depth === 0 && seps.includes(c!))) {
      const raw = s.slice(start, i);
      const lead = raw.length - raw.trimStart().length;
      const text = raw.trim();
      if (text) out.push({ text, offset: base + start + lead });
      start = i + 1;
    }
  }
  return out;
}

/** Where `actions=` starts (top level, outside parentheses), or -1. */
function actionsAt(flow: string): number {
  let depth = 0;
  for (let i = 0; i < flow.length; i++) {
    const c = flow[i];
    if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0 && /^actions?=/i.test(flow.slice(i)) && (i === 0 || /[\s,]/.test(flow[i - 1]!))) return i;
  }
  return -1;
}

/** The port words, table words and tun_metadata words of a flow (or group) line. */
function scan(flow: string, mode: 'flow' | 'group'): { words: Word[]; problems: FlowProblem[] } {
  const words: Word[] = [];
  const problems: FlowProblem[] = [];
  for (const m of flow.matchAll(/tun_metadata(\d+)/gi)) words.push({ kind: 'metadata', value: m[1]!, offset: m.index! + 'tun_metadata'.length, role: 'tun_metadata' });
  if (mode === 'group') {
    for (const f of splitTop(flow, 0, ', \t')) {
      const m = /^(watch_port)[=:](.+)$/i.exec(f.text);
      if (m) words.push({ kind: 'port', value: m[2]!, offset: f.offset + m[1]!.length + 1, role: 'watch_port' });
    }
    // Buckets: `bucket=ACTIONS` up to the next `bucket=` (or `bucket=bucket_id:N,actions=ACTIONS`).
    for (const m of flow.matchAll(/bucket=(.*?)(?=,?\s*bucket=|$)/gi)) {
      const body = m[1]!;
      const base = m.index! + 'bucket='.length;
      const inner = /(^|,)actions=/i.exec(body);
      const start = inner ? inner.index + inner[0].length : 0;
      actionWords(body.slice(start), base + start, words, problems);
    }
    return { words, problems };
  }
  const at = actionsAt(flow);
  if (at < 0) {
    problems.push({ offset: 0, message: 'has no "actions=" part; a flow is MATCH,actions=ACTIONS (e.g. in_port=left,actions=output:tun0, or actions=drop)' });
    return { words, problems };
  }
  for (const f of splitTop(flow.slice(0, at), 0, ', \t')) {
    const m = /^([a-z_0-9]+)\s*=\s*(.*)$/i.exec(f.text);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const valueOffset = f.offset + f.text.indexOf('=', m[1]!.length) + 1 + (m[2]!.length - m[2]!.trimStart().length);
    if (key === 'in_port' || key === 'in_port_oxm' || key === 'actset_output') words.push({ kind: 'port', value: m[2]!.trim(), offset: valueOffset, role: key });
    if (key === 'table') words.push({ kind: 'table', value: m[2]!.trim(), offset: valueOffset, role: 'table' });
  }
  const eq = flow.indexOf('=', at) + 1;
  actionWords(flow.slice(eq), eq, words, problems);
  return { words, problems };
}

/** Port and table words of an action list. */
function actionWords(list: string, base: number, words: Word[], problems: FlowProblem[]): void {
  for (const a of splitTop(list, base)) {
    const t = a.text;
    const name = /^[a-z_0-9]+/i.exec(t)?.[0] ?? '';
    const lower = name.toLowerCase();
    const rest = t.slice(name.length);
    const argAt = a.offset + name.length + 1;
    if (rest === '') {
      if (!name) continue;
      // A bare word: an action keyword, or a port to output to (ovs-ofctl's shorthand).
      if (!BARE_ACTIONS.has(lower)) words.push({ kind: 'port', value: name, offset: a.offset, role: 'bare' });
      continue;
    }
    if (rest.startsWith(':') || rest.startsWith('=')) {
      const arg = rest.slice(1);
      if (lower === 'output' && !arg.includes('[')) words.push({ kind: 'port', value: arg, offset: argAt, role: 'output' });
      else if (lower === 'resubmit') words.push({ kind: 'port', value: arg, offset: argAt, role: 'resubmit' });
      else if (lower === 'enqueue') words.push({ kind: 'port', value: arg.split(':')[0]!, offset: argAt, role: 'enqueue' });
      else if (lower === 'goto_table') words.push({ kind: 'table', value: arg, offset: argAt, role: 'goto_table' });
      continue;
    }
    if (rest.startsWith('(') && rest.endsWith(')')) {
      const inner = rest.slice(1, -1);
      const args = splitTop(inner, argAt);
      if (lower === 'output') {
        for (const x of args) {
          const m = /^port\s*=\s*(.+)$/i.exec(x.text);
          if (m && !m[1]!.includes('[')) words.push({ kind: 'port', value: m[1]!.trim(), offset: x.offset + x.text.indexOf(m[1]!), role: 'output' });
        }
      } else if (lower === 'resubmit') {
        // resubmit([port],[table][,ct]): either may be empty.
        const parts = inner.split(',');
        if (parts[0]!.trim()) words.push({ kind: 'port', value: parts[0]!.trim(), offset: argAt + inner.indexOf(parts[0]!.trim()), role: 'resubmit' });
        const tbl = parts[1]?.trim();
        // 255 in resubmit means "this table", so only the range of real numbers is checked there.
        if (tbl && tbl !== '255') words.push({ kind: 'table', value: tbl, offset: argAt + parts[0]!.length + 1 + (parts[1]!.length - parts[1]!.trimStart().length), role: 'resubmit' });
      } else if (lower === 'enqueue') {
        const p = inner.split(',')[0]!.trim();
        if (p) words.push({ kind: 'port', value: p, offset: argAt + inner.indexOf(p), role: 'enqueue' });
      } else if (lower === 'learn') {
        for (const x of args) {
          const m = /^table\s*=\s*(.+)$/i.exec(x.text);
          if (m) words.push({ kind: 'table', value: m[1]!.trim(), offset: x.offset + x.text.indexOf(m[1]!), role: 'learn' });
        }
      } else if (lower === 'clone' || lower === 'write_actions' || lower === 'apply_actions') {
        actionWords(inner, argAt, words, problems);
      }
    }
  }
}

function parseNumber(v: string): number | undefined {
  if (/^\d+$/.test(v)) return Number(v);
  if (/^0x[0-9a-f]+$/i.test(v)) return parseInt(v, 16);
  return undefined;
}

export interface FlowCheck {
  /** The flow with every recipe port name replaced by the lab's port name. */
  text: string;
  problems: FlowProblem[];
  /** tun_metadata field numbers the flow reads or writes. */
  metadata: number[];
}

export interface PortNames {
  /** The switch, for messages: `switch "sw1"`. */
  subject: string;
  /** Recipe or real name → real OVS port name (see lib/ovs/port-names.ts). */
  names: ReadonlyMap<string, string>;
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/**
 * Check one flow (or group, with `mode: 'group'`) against the switch's ports and translate its
 * port names. A port word must be a number, an OpenFlow reserved port, or a port of this switch
 * (by its recipe name or its real name); a table number must be 0..254; tun_metadata 0..63.
 */
export function checkFlow(flow: string, ports: PortNames, mode: 'flow' | 'group' = 'flow'): FlowCheck {
  const { words, problems } = scan(flow, mode);
  const replacements: { offset: number; length: number; text: string }[] = [];
  const metadata: number[] = [];
  const known = [...new Set(ports.names.keys())].sort();
  for (const w of words) {
    if (w.kind === 'metadata') {
      const n = Number(w.value);
      if (n > MAX_TUN_METADATA) problems.push({ offset: w.offset - 'tun_metadata'.length, message: `tun_metadata${n} does not exist; OVS has tun_metadata0..tun_metadata${MAX_TUN_METADATA}` });
      else metadata.push(n);
      continue;
    }
    if (w.kind === 'table') {
      const n = parseNumber(w.value);
      if (n === undefined) problems.push({ offset: w.offset, message: `${w.role}: "${w.value}" is not a table number; tables are 0..${MAX_TABLE}` });
      else if (n > MAX_TABLE) problems.push({ offset: w.offset, message: `${w.role}: table ${n} is out of range; OpenFlow tables are 0..${MAX_TABLE} (255 means "all tables")` });
      continue;
    }
    const name = unquote(w.value);
    if (parseNumber(name) !== undefined) continue;
    if ((RESERVED_PORTS as readonly string[]).includes(name.toUpperCase())) continue;
    // Fields as ports (output:NXM_NX_REG0[], in_port=reg0…) are left to ovs-ofctl.
    if (/[\[\]]/.test(name)) continue;
    const real = ports.names.get(name);
    if (real === undefined) {
      problems.push({
        offset: w.offset,
        message:
          w.role === 'bare'
            ? `action "${name}" is neither an action ovs-ofctl knows as a bare word (drop, normal, flood, in_port, …) nor a port of ${ports.subject}; its ports: ${known.join(', ') || 'none'}`
            : `${w.role}: port "${name}" does not exist on ${ports.subject}; its ports: ${known.join(', ') || 'none'} (or a number, or an OpenFlow port such as LOCAL, IN_PORT, NORMAL)`,
      });
      continue;
    }
    if (real !== name) replacements.push({ offset: w.offset + (w.value.startsWith('"') ? 1 : 0), length: name.length, text: real });
  }
  let text = flow;
  for (const r of [...replacements].sort((a, b) => b.offset - a.offset)) text = text.slice(0, r.offset) + r.text + text.slice(r.offset + r.length);
  return { text, problems: problems.sort((a, b) => a.offset - b.offset), metadata: [...new Set(metadata)].sort((a, b) => a - b) };
}

/** `{class=0x102,type=0x80,len=4}->tun_metadata0,…` for add-tlv-map. */
export function tlvMapArg(entries: readonly { class: number; type: number; len: number; field: number }[]): string {
  return entries.map((e) => `{class=0x${e.class.toString(16)},type=0x${e.type.toString(16)},len=${e.len}}->tun_metadata${e.field}`).join(',');
}

/** The lines of an ovs-ofctl add-flows/add-groups input (one per line, newline-terminated). */
export function programInput(lines: readonly { text: string }[]): string {
  return lines.map((l) => l.text.replace(/\n/g, ' ')).join('\n') + '\n';
}

/**
 * Which program line an ovs-ofctl failure is about: its parser says "-:LINE: …" for a line of
 * its input. Undefined when it does not say (e.g. the switch refused a flow mod).
 */
export function failedInputLine(stderr: string): number | undefined {
  const m = /(?:^|\s)-:(\d+):/m.exec(stderr);
  return m ? Number(m[1]) : undefined;
}

/**
 * The flow mod the switch refused, as ovs-ofctl prints it after OFPT_ERROR ("… ADD priority=2,…
 * actions=drop"), matched to the program line sharing most of its words. Undefined when ovs-ofctl
 * printed no such request.
 */
export function refusedLine(stderr: string, lines: readonly { text: string }[]): number | undefined {
  const m = /FLOW_MOD[^:]*:\s*(?:ADD|MOD|DEL)\S*\s+(.+)$/m.exec(stderr);
  if (!m || !lines.length) return undefined;
  const norm = (s: string) => new Set(s.toLowerCase().replace(/actions=/g, ' ').split(/[\s,]+/).filter(Boolean));
  const refused = norm(m[1]!);
  let best: number | undefined;
  let bestScore = 0;
  lines.forEach((l, i) => {
    const w = norm(l.text);
    let hit = 0;
    for (const x of w) if (refused.has(x)) hit++;
    const score = hit / Math.max(w.size, refused.size);
    if (score > bestScore) {
      bestScore = score;
      best = i + 1;
    }
  });
  return bestScore >= 0.5 ? best : undefined;
}

/**
 * Every name a flow of switch `switchName` may use for a port → the real port name: the recipe
 * names of lib/ovs/port-names.ts (guests, tunnels, the switch itself), the real names themselves,
 * and the `port` names of tunnel ends that share one port.
 */
export function programPortNames(lab: Pick<Lab, 'switches' | 'guests' | 'tunnels'>, switchName: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!lab.switches.some((s) => s.name === switchName)) return out;
  const { ports } = switchPorts(lab as Lab, switchName);
  for (const real of ports.values()) out.set(real, real);
  for (const [name, real] of ports) if (!out.has(name)) out.set(name, real);
  for (const t of lab.tunnels)
    for (const e of t.ends) if (e.attach.kind === 'switch' && e.attach.name === switchName && e.overrides?.port && !out.has(e.overrides.port)) out.set(e.overrides.port, e.ifname);
  return out;
}
