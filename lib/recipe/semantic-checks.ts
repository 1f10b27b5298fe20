/**
 * Cross-field rules of the check kinds that look (state, counter, log) and of the probe knobs,
 * on the raw recipe (semantic.ts calls `lookCheckRules` per check and `lookRecipeRules` once).
 * Rules that need resolved interface names (does this link exist in that namespace?) are in
 * resolve-checks.ts. Every problem is located and says what would be right.
 */
import { matcherProblem } from '../checks/expect.js';
import { nftMatchProblem } from '../checks/counter.js';
import { ipQueryProblem, ovsQueryProblem, stateExpectProblem } from '../checks/state.js';
import { validateCaptureExpect } from '../checks/capture-expect.js';
import { familyOf } from './addr.js';
import type { Path } from './locate.js';
import { suggest } from './locate.js';
import type { RawRecipe } from './schema.js';
import type { RawCounter, RawLog, RawState } from './schema-checks.js';
import type { NodeKind } from './semantic-routing.js';

export interface LookEnv {
  err(path: Path, msg: string): void;
  kindOf: Map<string, NodeKind>;
  recipe: RawRecipe;
  /** Checks inside `steps:` may compare with earlier steps (`since`, `unchanged_since`). */
  inSteps?: boolean;
}

export const OVS_PORT_FIELDS = ['rx_packets', 'rx_bytes', 'rx_dropped', 'rx_errors', 'rx_frame_errors', 'rx_over_errors', 'rx_crc_errors', 'tx_packets', 'tx_bytes', 'tx_dropped', 'tx_errors', 'tx_collisions'];
const TC_FIELDS = ['packets', 'bytes', 'drops', 'overlimits'];
const NFT_FIELDS = ['packets', 'bytes'];
const OVS_FLOW_FIELDS = ['n_packets', 'n_bytes'];

function regexProblem(re: string): string | undefined {
  try {
    new RegExp(re);
    return undefined;
  } catch (e) {
    return `${JSON.stringify(re)} is not a valid regular expression (${(e as Error).message})`;
  }
}

/** The host a node lives on (raw recipe), or undefined. */
function hostOfNode(r: RawRecipe, name: string): string | undefined {
  if ((r.hosts ?? []).some((h) => h.name === name)) return name;
  const s = (r.switches ?? []).find((x) => x.name === name);
  if (s) return s.host;
  const g = (r.guests ?? []).find((x) => x.name === name);
  const gs = g && (r.switches ?? []).find((x) => x.name === g.switch);
  return gs?.host;
}

/** Whether a host runs OVS in this lab (an ovs switch on it; only those carry OVS tunnel ends). */
export function hostHasOvs(r: RawRecipe, host: string): boolean {
  return (r.switches ?? []).some((s) => s.host === host && s.kind === 'ovs');
}

function nodeProblem(env: LookEnv, name: string, allowed: ('host' | 'guest' | 'switch' | 'router')[]): string | undefined {
  const k = env.kindOf.get(name);
  if (k && (allowed as string[]).includes(k)) return undefined;
  const known = [...env.kindOf].filter(([, kk]) => (allowed as string[]).includes(kk)).map(([n]) => n);
  const what = allowed.join(', ').replace(/, (\w+)$/, ' or $1');
  return k ? `"${name}" is a ${k}; this names a ${what}` : `unknown ${what} "${name}"${suggest(name, known)}; known: ${known.join(', ') || 'none'}`;
}

const sinceOnlyInSteps = 'since names an earlier step; checks under checks: run before any step — measure around a check with during: CHECK, or move this check into steps:';

/** Rules of one state/counter/log check body; returns its default name and what `during` it wraps. */
export function lookCheckRules(kind: 'state' | 'counter' | 'log', body: RawState | RawCounter | RawLog, p: Path, env: LookEnv): { name: string; node: string; during?: string } {
  switch (kind) {
    case 'state':
      return stateRules(body as RawState, p, env);
    case 'counter':
      return counterRules(body as RawCounter, p, env);
    case 'log':
      return logRules(body as RawLog, p, env);
  }
}

function stateRules(b: RawState, p: Path, env: LookEnv): { name: string; node: string } {
  // A router is a namespace like the others, but runs no OVS.
  const np = nodeProblem(env, b.on, b.ovs === undefined ? ['host', 'guest', 'switch', 'router'] : ['host', 'guest', 'switch']);
  if (np) env.err([...p, 'on'], np);
  const text = b.contains !== undefined || b.not_contains !== undefined || b.matches !== undefined;
  if ((b.ip === undefined) === (b.ovs === undefined)) {
    env.err(p, b.ip ? 'a state check runs one query: ip or ovs, not both' : 'say what to query: ip: [link, show, dev, tun0] (kernel, JSON) or ovs: [appctl, dpctl/dump-flows] (OVS, text)');
    return { name: `state ${b.on}`, node: b.on };
  }
  let label: string;
  if (b.ip) {
    label = `ip ${b.ip.join(' ')}`;
    const q = ipQueryProblem(b.ip);
    if (q) env.err([...p, 'ip'], `ip ${b.ip.join(' ')}: ${q}`);
    if (text) env.err([...p, b.contains !== undefined ? 'contains' : b.not_contains !== undefined ? 'not_contains' : 'matches'], 'contains/not_contains/matches apply to ovs queries (text); an ip query is JSON: use expect: { PATH: VALUE } and count');
    for (const [path, v] of Object.entries(b.where ?? {})) {
      const m = matcherProblem(v);
      if (m) env.err([...p, 'where', path], m);
    }
    for (const [path, v] of Object.entries(b.expect ?? {})) {
      const m = stateExpectProblem(v);
      if (m) env.err([...p, 'expect', path], m);
      else if (!env.inSteps && v && typeof v === 'object' && ('unchanged_since' in v || 'changed_since' in v))
        env.err([...p, 'expect', path], 'unchanged_since / changed_since compare with a snapshot taken when an earlier step finished; checks under checks: run before any step — move this check into steps:');
    }
    if (b.count !== undefined && typeof b.count === 'object') {
      const m = matcherProblem(b.count);
      if (m) env.err([...p, 'count'], m);
    }
    if (b.expect === undefined && b.count === undefined) env.err(p, 'a state check needs something to assert: expect: { PATH: VALUE } (e.g. linkinfo.info_data.id: 5000) and/or count');
  } else {
    const [program = '', ...rest] = b.ovs!;
    label = `ovs-${program} ${rest.join(' ')}`;
    const q = ovsQueryProblem(program, rest);
    if (q) env.err([...p, 'ovs'], q);
    const host = hostOfNode(env.recipe, b.on);
    if (!np && host && !hostHasOvs(env.recipe, host)) env.err([...p, 'on'], `"${b.on}" ${host === b.on ? 'runs' : `is on host "${host}", which runs`} no OVS in this lab (no switch with kind: ovs on it)`);
    if (b.expect !== undefined || b.where !== undefined) env.err([...p, b.expect !== undefined ? 'expect' : 'where'], 'expect/where apply to ip queries (JSON); an OVS query is text: use contains, not_contains, matches or count: { pattern, equals|min|max }');
    for (const k of ['matches'] as const) for (const [i, re] of (b[k] ?? []).entries()) {
      const m = regexProblem(re);
      if (m) env.err([...p, k, i], m);
    }
    if (b.count !== undefined) {
      const c = b.count as Record<string, unknown>;
      if (typeof b.count !== 'object' || typeof c.pattern !== 'string') env.err([...p, 'count'], 'on an OVS query, count is { pattern: REGEX, equals|min|max: N }: the number of output lines matching the pattern');
      else {
        const { pattern, ...m } = c;
        const rp = regexProblem(pattern as string);
        if (rp) env.err([...p, 'count', 'pattern'], rp);
        const mp = Object.keys(m).length ? matcherProblem(m) : 'count needs equals, min or max besides pattern';
        if (mp) env.err([...p, 'count'], mp);
      }
    }
    if (!text && b.count === undefined) env.err(p, 'a state check needs something to assert: contains, not_contains, matches or count: { pattern, equals|min|max }');
  }
  return { name: `state ${b.on}: ${label}`, node: b.on };
}

function counterRules(b: RawCounter, p: Path, env: LookEnv): { name: string; node: string; during?: string } {
  const np = nodeProblem(env, b.on, b.ovs_port === undefined && b.ovs_flow === undefined ? ['host', 'guest', 'switch', 'router'] : ['host', 'guest', 'switch']);
  if (np) env.err([...p, 'on'], np);
  const sources = (['link', 'ovs_port', 'ovs_flow', 'tc', 'nft'] as const).filter((k) => b[k] !== undefined);
  let src = 'counter';
  if (sources.length !== 1) env.err(p, sources.length ? `a counter reads one source; found ${sources.join(' and ')}` : 'say which counter: link: DEV (ip -s link), ovs_port: PORT (ovs-ofctl dump-ports), ovs_flow: "priority=N,MATCH" (a flow\'s n_packets), tc: { dev, direction } or nft: { match }');
  else {
    const s = sources[0];
    const fieldErr = (allowed: string[] | RegExp, hint: string) => {
      const ok = Array.isArray(allowed) ? allowed.includes(b.field) : allowed.test(b.field);
      if (!ok) env.err([...p, 'field'], `"${b.field}" is not a ${s} counter${Array.isArray(allowed) ? suggest(b.field, allowed) : ''}; ${hint}`);
    };
    if (s === 'link') {
      src = b.link!;
      fieldErr(/^(rx|tx)_[a-z0-9_]+$/, 'link counters are named by direction and kernel name: rx_packets, rx_bytes, rx_errors, rx_dropped, rx_frame_errors, rx_crc_errors, tx_packets, tx_errors, tx_carrier_errors…');
    } else if (s === 'ovs_port') {
      src = `port ${b.ovs_port}`;
      const sw = (env.recipe.switches ?? []).find((x) => x.name === b.on);
      if (!np && (!sw || sw.kind !== 'ovs')) env.err([...p, 'on'], `ovs_port reads a port of an OVS switch; "${b.on}" is not a switch with kind: ovs — name the switch in on`);
      fieldErr(OVS_PORT_FIELDS, `use one of: ${OVS_PORT_FIELDS.join(', ')}`);
    } else if (s === 'ovs_flow') {
      src = `flow ${b.ovs_flow}`;
      const sw = (env.recipe.switches ?? []).find((x) => x.name === b.on);
      if (!np && (!sw || sw.kind !== 'ovs')) env.err([...p, 'on'], `ovs_flow reads a flow of an OVS switch; "${b.on}" is not a switch with kind: ovs — name the switch in on`);
      if (/(^|,)\s*actions\s*=/.test(b.ovs_flow!))
        env.err([...p, 'ovs_flow'], `ovs_flow names flows by their match and priority only (ovs-ofctl dump-flows); remove the actions: e.g. "${b.ovs_flow!.replace(/,?\s*actions\s*=.*$/, '')}"`);
      fieldErr(OVS_FLOW_FIELDS, `use one of: ${OVS_FLOW_FIELDS.join(', ')}`);
    } else if (s === 'tc') {
      src = `tc ${b.tc!.dev} ${b.tc!.direction}`;
      fieldErr(TC_FIELDS, `use one of: ${TC_FIELDS.join(', ')}`);
    } else {
      src = `nft "${b.nft!.match}"`;
      const m = nftMatchProblem(b.nft!.match);
      if (m) env.err([...p, 'nft', 'match'], `match ${JSON.stringify(b.nft!.match)} ${m}`);
      fieldErr(NFT_FIELDS, `use one of: ${NFT_FIELDS.join(', ')}`);
    }
  }
  if (b.min === undefined && b.max === undefined && b.equals === undefined) env.err(p, 'a counter needs an expectation on its delta: min, max and/or equals (e.g. min: 1)');
  for (const k of ['min', 'max', 'equals'] as const) if (b[k] !== undefined && (!Number.isInteger(b[k]) || b[k]! < 0)) env.err([...p, k], `${k} is a whole number of counted events, 0 or more; got ${b[k]}`);
  if (b.min !== undefined && b.max !== undefined && b.min > b.max) env.err([...p, 'min'], `min ${b.min} is above max ${b.max}`);
  windowRules(b, p, env, 'counter');
  return { name: `counter ${b.on} ${src} ${b.field}`, node: b.on, ...(b.during !== undefined ? { during: b.during } : {}) };
}

function windowRules(b: { during?: string | undefined; since?: string | undefined }, p: Path, env: LookEnv, kind: string) {
  if (b.during !== undefined && b.since !== undefined) env.err([...p, 'since'], `a ${kind} has one window: during: CHECK or since: STEP, not both`);
  if (b.since !== undefined && !env.inSteps) env.err([...p, 'since'], sinceOnlyInSteps);
  if (kind === 'counter' && b.during === undefined && b.since === undefined) env.err(p, 'a counter needs a window: during: CHECK (the counter is read before and after that check) or, in steps:, since: STEP');
}

function logRules(b: RawLog, p: Path, env: LookEnv): { name: string; node: string; during?: string } {
  const np = nodeProblem(env, b.on, ['host', 'switch']);
  if (np) env.err([...p, 'on'], np);
  const host = hostOfNode(env.recipe, b.on) ?? b.on;
  if (!np && !hostHasOvs(env.recipe, host)) env.err([...p, 'on'], `host "${host}" runs no OVS in this lab (no switch with kind: ovs on it), so it has no ovs-vswitchd log`);
  for (const k of ['must', 'must_not', 'allow'] as const)
    for (const [i, re] of (b[k] ?? []).entries()) {
      const m = regexProblem(re);
      if (m) env.err([...p, k, i], m);
    }
  const gate = b.gate ?? (!b.must?.length && !b.must_not?.length);
  if (b.allow !== undefined && !gate) env.err([...p, 'allow'], 'allow lists the WARN/ERR lines the gate accepts; set gate: true or remove allow');
  if (!gate && !b.must?.length && !b.must_not?.length) env.err(p, 'a log check needs something to assert: must, must_not and/or gate: true');
  const ssh = (env.recipe.hosts ?? []).find((h) => h.name === host)?.ssh !== undefined;
  if (ssh && b.during === undefined && b.since === undefined) env.err(p, `host "${host}" uses the machine's own OVS service, whose log is shared with its owner and other labs: give the log check a window (during: CHECK)`);
  if (!ssh && b.file !== undefined) env.err([...p, 'file'], 'file is for SSH hosts (the service\'s log); a simulated host\'s log is the lab\'s own');
  windowRules(b, p, env, 'log');
  return { name: `log ${host}`, node: host, ...(b.during !== undefined ? { during: b.during } : {}) };
}

/** Rules over the whole recipe: host log gates, probe knobs of ping/iperf/capture. */
export function lookRecipeRules(r: RawRecipe, env: LookEnv): void {
  (r.hosts ?? []).forEach((h, hi) => {
    const g = h.ovs?.log;
    if (!g) return;
    const p: Path = ['hosts', hi, 'ovs', 'log'];
    if (!hostHasOvs(r, h.name)) env.err(p, `host "${h.name}" runs no OVS in this lab (no switch with kind: ovs on it); remove ovs.log`);
    if (h.ssh !== undefined && g.gate === true)
      env.err([...p, 'gate'], `host "${h.name}" uses the machine's own OVS service, whose log is shared; its whole-run gate is off — add a log check with gate: true and during: CHECK instead`);
    for (const [i, re] of (g.allow ?? []).entries()) {
      const m = regexProblem(re);
      if (m) env.err([...p, 'allow', i], m);
    }
  });
  const knobs = (c: Record<string, any>, p: Path) => {
    const ping = c.ping;
    if (ping) {
      if (ping.interface !== undefined && ping.source !== undefined) env.err([...p, 'ping', 'source'], 'ping sends from one interface or one source address (ping -I): use interface or source, not both');
      if (ping.pmtu !== undefined && ping.df !== undefined) env.err([...p, 'ping', 'pmtu'], 'pmtu replaces df (df: true is pmtu: do); remove df');
      if (ping.source !== undefined && !familyOf(ping.source)) env.err([...p, 'ping', 'source'], `${JSON.stringify(ping.source)} is not an IP address; source is an address of the from node (use interface for an interface name)`);
    }
    const cap = c.capture;
    if (cap?.match !== undefined) for (const problem of validateCaptureExpect(cap.match, 'match')) env.err([...p, 'capture', 'match'], problem);
  };
  (r.checks ?? []).forEach((c, ci) => {
    knobs(c as Record<string, unknown>, ['checks', ci]);
    (c.then ?? []).forEach((ic, ii) => knobs(ic as Record<string, unknown>, ['checks', ci, 'then', ii]));
  });
}
