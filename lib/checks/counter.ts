/**
 * The `counter` check: how much one counter grew over a window — around another check
 * (`during`, wrapped like a capture) or since a named step finished (`since`, the scenario
 * runner's snapshot). Sources:
 *   - link:     a kernel link's stats64 (`ip -s -s -j link show dev DEV`): rx_frame_errors, tx_packets…
 *   - ovs_port: an OVS port's live counters (`ovs-ofctl dump-ports BRIDGE PORT`), never the 5-s
 *               OVSDB statistics column
 *   - ovs_flow: the n_packets/n_bytes of the OpenFlow flows that match a specification
 *               (`ovs-ofctl dump-flows BRIDGE MATCH`: every flow whose match includes those fields),
 *               only those with its priority when it gives one (ovs-ofctl cannot filter on it), summed
 *   - tc:       hits of the tc filters on a device (their actions' statistics)
 *   - nft:      a counter rule geneve-lab installed at `up` in its own table (lib/plan/nft.ts)
 * A counter the source does not export (or prints as "?") is an error, never a zero.
 *
 * The small API the scenario runner uses: `counterSnapshot(check, ctx)` reads every field of the
 * source now; `counterVerdict(check, before, after)` judges the delta of the check's field.
 */
import { createHash } from 'node:crypto';
import { inNetns, shellQuote } from '../exec/executor.js';
import type { CounterCheck, CounterSource } from '../model/look-checks.js';
import { bridgeOfctlArgs } from '../model/ovs-program.js';
import { NFT } from '../plan/nft.js';
import { assertionVerdict, showMatcher, type Verdict } from './expect.js';
import type { CheckContext } from './context.js';
import { nodeAccess, ovsAccess } from './nodes.js';
import { rawOf, toolStderr } from './ping.js';
import type { CheckResult } from './result.js';

/** Every field of a source at one moment, or why it could not be read. */
export interface CounterReading {
  /** What was read, e.g. `ip -s -s -j link show dev tun0 in netns gl-x-box-2`. */
  subject: string;
  at: number;
  values: Record<string, number>;
  raw: string;
  error?: string;
}

// ---------------------------------------------------------------- pure parsers

/** `ip -s -s -j link show dev X` → rx_bytes, rx_packets, rx_frame_errors, tx_… (stats64, numbers only). */
export function parseLinkCounters(json: string): Record<string, number> | undefined {
  const data = JSON.parse(json) as any[];
  const l = Array.isArray(data) ? data[0] : undefined;
  if (!l) return undefined;
  const st = l.stats64 ?? l.stats;
  if (!st) return {};
  const out: Record<string, number> = {};
  for (const dir of ['rx', 'tx'] as const) for (const [k, v] of Object.entries(st[dir] ?? {})) if (typeof v === 'number') out[`${dir}_${k}`] = v;
  return out;
}

const OFCTL_NAMES: Record<string, Record<string, string>> = {
  rx: { pkts: 'rx_packets', bytes: 'rx_bytes', drop: 'rx_dropped', errs: 'rx_errors', frame: 'rx_frame_errors', over: 'rx_over_errors', crc: 'rx_crc_errors' },
  tx: { pkts: 'tx_packets', bytes: 'tx_bytes', drop: 'tx_dropped', errs: 'tx_errors', coll: 'tx_collisions' },
};

/**
 * `ovs-ofctl dump-ports BR PORT`:
 *   port  1: rx pkts=11, bytes=958, drop=?, errs=?, frame=?, over=?, crc=?
 *            tx pkts=22, bytes=2466, drop=?, errs=?, coll=?
 * "?" means the datapath does not count it: left out (absent), not 0.
 */
export function parseOfctlPortCounters(text: string): { port: string; values: Record<string, number> }[] {
  const out: { port: string; values: Record<string, number> }[] = [];
  let cur: { port: string; values: Record<string, number> } | undefined;
  for (const line of text.split('\n')) {
    const head = /^\s*port\s+("?[^:"]+"?):\s*(rx|tx)\s+(.*)$/.exec(line);
    const cont = /^\s*(rx|tx)\s+(pkts=.*)$/.exec(line);
    let dir: string | undefined;
    let body: string | undefined;
    if (head) {
      cur = { port: head[1]!.replace(/"/g, ''), values: {} };
      out.push(cur);
      dir = head[2];
      body = head[3];
    } else if (cont && cur) {
      dir = cont[1];
      body = cont[2];
    }
    if (!dir || !body || !cur) continue;
    for (const m of body.matchAll(/([a-z]+)=([0-9]+|\?)/g)) {
      const name = OFCTL_NAMES[dir]![m[1]!];
      if (name && m[2] !== '?') cur.values[name] = Number(m[2]);
    }
  }
  return out;
}

/** `tc -s -j filter show dev X ingress|egress` → packets/bytes/drops summed over the filters' first actions. */
export function parseTcFilterCounters(json: string, pref?: number): { values: Record<string, number>; filters: number } {
  const data = JSON.parse(json) as any[];
  const values: Record<string, number> = {};
  let filters = 0;
  for (const f of Array.isArray(data) ? data : []) {
    if (pref !== undefined && f?.pref !== pref) continue;
    const action = f?.options?.actions?.[0];
    const st = action?.stats;
    if (!st) continue;
    filters++;
    for (const [k, name] of [['packets', 'packets'], ['bytes', 'bytes'], ['drops', 'drops'], ['overlimits', 'overlimits']] as const)
      if (typeof st[k] === 'number') values[name] = (values[name] ?? 0) + st[k];
  }
  return { values, filters };
}

/** `nft -j list chain FAMILY TABLE CHAIN` → packets/bytes of the rule whose comment is `comment`. */
export function parseNftRuleCounter(json: string, comment: string): Record<string, number> | undefined {
  const data = JSON.parse(json) as { nftables?: any[] };
  for (const item of data.nftables ?? []) {
    const rule = item?.rule;
    if (!rule || rule.comment !== comment) continue;
    const c = (rule.expr ?? []).find((e: any) => e?.counter)?.counter;
    if (!c) return undefined;
    return { packets: c.packets, bytes: c.bytes };
  }
  return undefined;
}

// ---------------------------------------------------------------- nftables rules of ours

/** The table geneve-lab keeps its counter rules in, in one namespace (one per lab; tagged by its name). */
export function nftTableName(lab: string): string {
  return `geneve-lab-${lab}`;
}
/** One chain per hook. */
export function nftChainName(hook: string): string {
  return `count-${hook}`;
}
/** The rule's comment: how the counter is found again (stable: from the check's name). */
export function nftRuleComment(checkName: string): string {
  return `geneve-lab:${createHash('sha1').update(checkName).digest('hex').slice(0, 12)}`;
}

// nftables' command line joins its words and parses them as a script: ";" or a newline would start
// another command (e.g. "flush ruleset"), "#" a comment. A match is only a match: no statements.
const NFT_STATEMENTS = /\b(accept|drop|reject|queue|continue|return|jump|goto|counter|log|limit|quota|set|snat|dnat|masquerade|redirect|notrack|dup|fwd|meter|synproxy|flow|tproxy|ct\s+helper)\b/;

/** Why `match` cannot be used as an nftables counter match, or undefined. */
export function nftMatchProblem(match: string): string | undefined {
  if (/[;\n\r#]/.test(match)) return `must be a single nftables match expression: ";", newlines and "#" are not allowed (they would start another command or a comment)`;
  const st = NFT_STATEMENTS.exec(match);
  if (st) return `"${st[1]}" is a statement or verdict; match holds only the match part (geneve-lab adds "counter" itself), e.g. "udp dport 6081 meta length > 600"`;
  if (!/\S/.test(match)) return 'is empty; write a match such as "udp dport 6081"';
  return undefined;
}

/** A flow specification of an ovs_flow counter: its priority (ovs-ofctl dump-flows takes none) and the rest. */
export function flowSpec(match: string): { priority?: number; rest: string } {
  const parts = match.split(',').map((x) => x.trim()).filter(Boolean);
  const pr = parts.find((x) => /^priority=/.test(x));
  return { ...(pr ? { priority: Number(pr.slice('priority='.length)) } : {}), rest: parts.filter((x) => x !== pr).join(',') };
}

/**
 * `ovs-ofctl dump-flows BR MATCH`: n_packets and n_bytes summed over the flows printed — only
 * those at `priority` when given (ovs-ofctl omits priority=32768, the default) — and how many
 * there were; undefined when none.
 */
export function parseOfctlFlowCounters(text: string, priority?: number): Record<string, number> | undefined {
  let flows = 0;
  const out = { n_packets: 0, n_bytes: 0 };
  for (const line of text.split('\n')) {
    const p = /\bn_packets=(\d+)/.exec(line);
    const b = /\bn_bytes=(\d+)/.exec(line);
    if (!p || !b) continue;
    if (priority !== undefined && Number(/\bpriority=(\d+)/.exec(line)?.[1] ?? 32768) !== priority) continue;
    flows++;
    out.n_packets += Number(p[1]);
    out.n_bytes += Number(b[1]);
  }
  return flows ? { ...out, flows } : undefined;
}

// ---------------------------------------------------------------- reading

export function counterWhat(check: CounterCheck): string {
  const s = check.source;
  const src =
    s.kind === 'link' ? `link ${s.dev}` : s.kind === 'ovs_port' ? `OVS port ${s.port} of ${s.bridge}` : s.kind === 'ovs_flow' ? `flow "${s.match}" of ${s.bridge}` : s.kind === 'tc' ? `tc ${s.direction} filters of ${s.dev}${s.pref !== undefined ? ` pref ${s.pref}` : ''}` : `nft "${s.match}" (${s.hook})`;
  const m = showMatcher(check.delta);
  const window = check.during ? ` during "${check.during}"` : check.since ? ` since step "${check.since}"` : '';
  return `counter ${check.field} of ${src} on ${check.on}${window}: delta ${m}`;
}

/** The argv as people write it (without the env PATH=… prefix nft is run with). */
function shown(argv: string[]): string[] {
  return argv[0] === 'env' ? argv.slice(2) : argv;
}

function sourceArgv(s: CounterSource): string[] {
  switch (s.kind) {
    case 'link':
      return ['ip', '-s', '-s', '-j', 'link', 'show', 'dev', s.dev];
    case 'tc':
      return ['tc', '-s', '-j', 'filter', 'show', 'dev', s.dev, s.direction];
    case 'nft':
      return [...NFT, '-j', 'list', 'chain', s.family, s.table, s.chain];
    case 'ovs_port':
      return ['ovs-ofctl', 'dump-ports', s.bridge, s.port];
    case 'ovs_flow': {
      const rest = flowSpec(s.match).rest;
      return ['ovs-ofctl', 'dump-flows', s.bridge, ...(rest ? [rest] : [])];
    }
  }
}

/** Read every field of the check's source now. Never throws: a failure is in `error`. */
export async function counterSnapshot(check: CounterCheck, ctx: CheckContext): Promise<CounterReading> {
  const at = Date.now();
  const s = check.source;
  let subject = `${shellQuote(shown(sourceArgv(s)))} on ${check.on}`;
  try {
    let r;
    if (s.kind === 'ovs_port' || s.kind === 'ovs_flow') {
      const ovs = ovsAccess(ctx, check.host);
      const args = sourceArgv(s).slice(1);
      subject = `ovs-ofctl ${shellQuote(args)} (OVS of host "${check.host}")`;
      if (s.kind === 'ovs_flow') {
        // Packets handled by an already-cached datapath flow reach their OpenFlow flow's
        // n_packets only when the revalidators run (every ~500 ms): make them run now, as OVS's
        // own tests do before reading flow statistics.
        const w = await ovs.exec.run(inNetns(ovs.ns, ovs.appctl(['revalidator/wait'])), { timeoutMs: 10_000, env: ovs.env });
        if (w.exitCode !== 0) return { subject, at, values: {}, raw: rawOf(w), error: `${subject}: ovs-appctl revalidator/wait failed: ${toolStderr(w.stderr).trim() || `exit ${w.exitCode}`}` };
      }
      r = await ovs.exec.run(inNetns(ovs.ns, ovs.ofctl([...bridgeOfctlArgs(ctx.lab.switches, s.bridge), ...args])), { timeoutMs: 10_000, env: ovs.env });
    } else {
      const node = nodeAccess(ctx, check.on);
      subject = `${shellQuote(shown(sourceArgv(s)))}${node.ns ? ` in netns ${node.ns}` : ` on host "${node.host}"`}`;
      // A JSON dump that exits 0 with nothing on stdout was seen from nft on a heavily loaded
      // machine (an interrupted netlink dump): read again rather than report a broken reading.
      for (let attempt = 1; ; attempt++) {
        r = await node.exec.run(inNetns(node.ns, sourceArgv(s)), { timeoutMs: 10_000 });
        if (r.exitCode !== 0 || r.stdout.trim() !== '' || attempt === 3) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      if (r.exitCode === 0 && r.stdout.trim() === '') {
        const raw = rawOf(r);
        return { subject, at, values: {}, raw, error: `${subject}: printed nothing (3 tries)${toolStderr(r.stderr).trim() ? `; stderr: ${toolStderr(r.stderr).trim()}` : ''}` };
      }
    }
    const raw = rawOf(r);
    const fail = (why: string): CounterReading => ({ subject, at, values: {}, raw, error: `${subject}: ${why}` });
    if (r.exitCode !== 0) {
      const err = toolStderr(r.stderr).trim() || `exit ${r.exitCode}`;
      return fail(r.spawnError === 'ENOENT' || /command not found|^env: .*: No such file or directory|exec of .* failed/m.test(err) ? `${shown(sourceArgv(s))[0]} is not installed where this counter is read (${err})` : err);
    }
    switch (s.kind) {
      case 'link': {
        const v = parseLinkCounters(r.stdout);
        return v ? { subject, at, values: v, raw } : fail(`no link "${s.dev}"`);
      }
      case 'ovs_port': {
        const ports = parseOfctlPortCounters(r.stdout);
        if (!ports.length) return fail(`no port "${s.port}" on bridge "${s.bridge}" in the output`);
        return { subject, at, values: ports[0]!.values, raw };
      }
      case 'ovs_flow': {
        const { priority } = flowSpec(s.match);
        const flows = parseOfctlFlowCounters(r.stdout, priority);
        if (!flows)
          return fail(
            `no flow of bridge "${s.bridge}" matches "${s.match}"${priority !== undefined ? ` at priority ${priority}` : ''} (its flows: ${r.stdout.split('\n').filter((l) => /n_packets=/.test(l)).length}; a flow without priority= has 32768)`,
          );
        return { subject, at, values: flows, raw };
      }
      case 'tc': {
        const { values, filters } = parseTcFilterCounters(r.stdout, s.pref);
        return filters ? { subject, at, values, raw } : fail(`no ${s.direction} filter with an action${s.pref !== undefined ? ` at pref ${s.pref}` : ''} on ${s.dev}; tc counts hits in a filter's actions`);
      }
      case 'nft': {
        const v = parseNftRuleCounter(r.stdout, s.comment);
        return v ? { subject, at, values: v, raw } : fail(`the counter rule for "${s.match}" (comment ${s.comment}) is not in chain ${s.chain}; it is installed at up — was the lab brought up by this recipe?`);
      }
    }
  } catch (e) {
    return { subject, at, values: {}, raw: '', error: `${subject}: ${(e as Error).message}` };
  }
}

/** The verdict on the delta of the check's field between two readings. */
export function counterVerdict(check: CounterCheck, before: CounterReading, after: CounterReading): Verdict & { delta?: number } {
  for (const r of [before, after]) if (r.error) return { status: 'error', message: r.error, assertions: [] };
  const f = check.field;
  const a = before.values[f];
  const b = after.values[f];
  if (a === undefined || b === undefined) {
    const has = Object.keys(after.values).length ? Object.keys(after.values).sort().join(', ') : 'none';
    return { status: 'error', message: `${after.subject}: counter "${f}" is not exported by this source (it has: ${has}); a counter that cannot be read is not a pass`, assertions: [] };
  }
  const delta = b - a;
  if (delta < 0) return { status: 'error', message: `${after.subject}: counter "${f}" went backwards (${a} → ${b}); the object was re-created or its counters reset during the window`, assertions: [] };
  const v = assertionVerdict(after.subject, [{ field: `${f} delta (${a} → ${b})`, expected: showMatcher(check.delta), observed: String(delta), ok: inRange(delta, check.delta) }]);
  return { ...v, delta };
}

function inRange(n: number, m: CounterCheck['delta']): boolean {
  return (m.equals === undefined || n === m.equals) && (m.min === undefined || n >= m.min) && (m.max === undefined || n <= m.max);
}

function result(check: CounterCheck, started: number, v: Verdict & { delta?: number }, before: CounterReading, after?: CounterReading): CheckResult {
  return {
    name: check.name,
    kind: check.kind,
    what: counterWhat(check),
    status: v.status,
    ...(v.message ? { message: v.message } : {}),
    figures: v.delta !== undefined ? { delta: v.delta, before: before.values[check.field] ?? '-', after: after?.values[check.field] ?? '-' } : {},
    durationMs: Date.now() - started,
    raw: `[before]\n${before.raw}\n[after]\n${after?.raw ?? '(not read)'}`,
    details: { subject: (after ?? before).subject, assertions: v.assertions, before: before.values, ...(after ? { after: after.values } : {}) },
  };
}

/** `during`: read, run the check inside, read again. The inner check always runs. */
export async function runCounterAround(check: CounterCheck, ctx: CheckContext, inner: () => Promise<unknown>): Promise<CheckResult> {
  const started = Date.now();
  const before = await counterSnapshot(check, ctx);
  await inner();
  if (before.error) return result(check, started, { status: 'error', message: before.error, assertions: [] }, before);
  const after = await counterSnapshot(check, ctx);
  return result(check, started, counterVerdict(check, before, after), before, after);
}

/** `since`: the snapshot the runner took when that step finished, against now. */
export async function runCounterSince(check: CounterCheck, ctx: CheckContext): Promise<CheckResult> {
  const started = Date.now();
  const snap = check.since ? ctx.snapshots?.get(check.name, check.since) : undefined;
  if (!snap) {
    const why = check.since
      ? `no snapshot of this counter when step "${check.since}" finished (the step did not run, or the runner took none)`
      : 'a counter needs a window: during: CHECK (around a check) or since: STEP (from the end of a step)';
    const empty: CounterReading = { subject: counterWhat(check), at: started, values: {}, raw: '' };
    return result(check, started, { status: 'error', message: `counter "${check.name}": ${why}`, assertions: [] }, empty);
  }
  const before = snap.value as CounterReading;
  const after = await counterSnapshot(check, ctx);
  return result(check, started, counterVerdict(check, before, after), before, after);
}
