/**
 * Cross-field rules of `steps:` (docs/design/scenarios.md §1): every step's references (nodes,
 * switches, hosts with OVS, tunnel ends), unique names (given or derived, never clashing with the
 * checks' names), `since:` naming an earlier step, captures next to the check they wrap.
 *
 * Checks inside steps are analysed by semantic.ts's own `analyze`, run on a recipe whose `checks:`
 * is the step's list of checks, through a Locator that maps `checks[i]…` back to where the check is
 * written (`steps[3].checks[1]…`). So every check kind — including ones added later — gets exactly
 * the rules it has in `checks:`, and its problems point at the right line.
 */
import type { Problem } from '../errors.js';
import { ACTION_KINDS, GROUP_ACTION_KINDS, type ActionKind, type GroupActionStep } from '../model/scenario.js';
import { showDuration } from '../scenario/duration.js';
import { shellQuote } from '../exec/quote.js';
import { formatPath, Locator, suggest, type Path } from './locate.js';
import { CHECK_KINDS, type RawCheck, type RawRecipe, type RawStep } from './schema.js';
import { analyze, type Analysis } from './semantic.js';

type GroupActionKind = GroupActionStep['kind'];

export type StepKind = 'check' | 'group' | ActionKind;

/** The checks of one step (a check, a group, a wait's until) and what analyze made of them. */
export interface StepChecks {
  raw: RawCheck[];
  analysis: Analysis;
  /** Where check i is written. */
  paths: Path[];
  /** Derived names that clashed with earlier ones: analyze's name → the unique one. */
  rename: Map<string, string>;
}

/** An action inside a checks group: its index in the group's list, its kind and its (unique) name. */
export interface GroupActionDecision {
  index: number;
  kind: GroupActionKind;
  name: string;
}

export interface StepDecision {
  index: number;
  kind: StepKind;
  name: string;
  checks?: StepChecks;
  /** A group's actions (the items of its list that are not checks). */
  actions?: GroupActionDecision[];
}

/** The action keys of a step or of a group item. */
export type ActionBodies = Partial<Pick<RawStep, 'exec' | 'ovs' | 'restart' | 'set' | 'wait' | 'sleep' | 'inject' | 'packet_out'>>;
type GroupItem = NonNullable<RawStep['checks']>[number];

function groupActionKind(item: GroupItem): GroupActionKind | undefined {
  return GROUP_ACTION_KINDS.find((k) => (item as Record<string, unknown>)[k] !== undefined);
}

export interface StepsAnalysis {
  problems: Problem[];
  steps: StepDecision[];
}

/** Reports problems of a nested analysis at the places the checks are written. */
class MappedLocator extends Locator {
  readonly mine = new WeakSet<Problem>();
  constructor(
    private readonly inner: Locator,
    private readonly map: (p: Path) => Path | undefined,
  ) {
    super(inner.file, undefined, undefined);
  }
  override position(path: Path, at: 'value' | 'key' = 'value') {
    return this.inner.position(this.map(path) ?? path, at);
  }
  override problem(path: Path, message: string, severity: 'error' | 'warning' = 'error', at: 'value' | 'key' = 'value'): Problem {
    const mapped = this.map(path);
    // `checks[2]` in analyze's words is `steps[4].checks[2]` in the recipe's.
    const msg = mapped ? message.replace(/\bchecks\[(\d+)\]/g, (_, j: string) => formatPath(this.map(['checks', Number(j)]) ?? ['checks', Number(j)])) : message;
    const p = this.inner.problem(mapped ?? path, msg, severity, at);
    if (mapped) this.mine.add(p);
    return p;
  }
}

/** Analyse checks written at `paths` as if they were a recipe's `checks:`; keep only their problems. */
export function analyzeCheckList(r: RawRecipe, list: RawCheck[], paths: Path[], loc: Locator, actions: string[] = []): { analysis: Analysis; problems: Problem[] } {
  const mapped = new MappedLocator(loc, (p) => (p[0] === 'checks' && typeof p[1] === 'number' && paths[p[1]] ? [...paths[p[1]]!, ...p.slice(2)] : undefined));
  const analysis = analyze({ ...r, checks: list }, mapped, { inSteps: true, actions });
  return { analysis, problems: analysis.problems.filter((p) => mapped.mine.has(p)) };
}

const CHECK_KEYS = [...CHECK_KINDS, 'name', 'then'] as const;
/** The check part of a step item (a check step is written like a check, plus nothing else). */
function asCheck(s: RawStep): RawCheck {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(s)) if ((CHECK_KEYS as readonly string[]).includes(k) || !([...ACTION_KINDS, 'checks'] as string[]).includes(k)) out[k] = (s as Record<string, unknown>)[k];
  return out as RawCheck;
}

function kindOfStep(s: RawStep): StepKind | undefined {
  const rec = s as Record<string, unknown>;
  if (rec.checks !== undefined) return 'group';
  const action = ACTION_KINDS.find((k) => rec[k] !== undefined);
  if (action) return action;
  return CHECK_KINDS.some((k) => rec[k] !== undefined) ? 'check' : undefined;
}

const clipName = (s: string, n = 56) => (s.length > n ? s.slice(0, n - 1) + '…' : s);

/** The name a step gets when the recipe gives none (checks are named by analyze). */
function derivedActionName(s: ActionBodies, kind: ActionKind): string {
  switch (kind) {
    case 'exec':
      return clipName(`exec ${s.exec!.on}: ${shellQuote(s.exec!.argv)}`);
    case 'ovs': {
      const o = s.ovs!;
      const tool = o.vsctl ? 'vsctl' : o.ofctl ? 'ofctl' : 'appctl';
      return clipName(`ovs ${o.on}: ${tool} ${(o[tool] ?? []).join(' ')}`);
    }
    case 'restart':
      return `restart ovs ${s.restart!.ovs}`;
    case 'set': {
      const x = s.set!;
      const target = x.tunnel !== undefined ? `${x.tunnel}${x.end ? ` ${x.end}` : ''}` : x.guest ?? (x.host !== undefined ? `${x.host}${x.interface ? ` ${x.interface}` : ''}` : x.switch ?? '?');
      const what = Object.entries(x)
        .filter(([k]) => !['tunnel', 'end', 'guest', 'host', 'interface', 'switch'].includes(k))
        .map(([k, v]) => (k === 'offloads' ? Object.entries(v as Record<string, unknown>).map(([f, on]) => `${f}=${String(on)}`).join(' ') : `${k}=${String(v)}`))
        .join(' ');
      return clipName(`set ${target}: ${what}`);
    }
    case 'wait':
      return 'wait';
    case 'sleep':
      return `sleep ${showDuration(s.sleep!)}`;
    case 'inject': {
      const i = s.inject!;
      return `inject ${i.on}${i.interface ? `/${i.interface}` : ''}`;
    }
    case 'packet_out':
      return clipName(`packet_out ${s.packet_out!.switch}: ${s.packet_out!.actions}`);
  }
}

export function uniqueName(base: string, used: Set<string>): string {
  let name = base;
  for (let i = 2; used.has(name); i++) name = `${base} #${i}`;
  used.add(name);
  return name;
}

export function analyzeSteps(r: RawRecipe, a: Analysis, loc: Locator): StepsAnalysis {
  const problems: Problem[] = [];
  const err = (path: Path, msg: string) => problems.push(loc.problem(path, msg));
  const steps = r.steps ?? [];
  const out: StepDecision[] = [];
  if (!steps.length) return { problems, steps: out };

  // ---- names: one namespace with the checks (results, JUnit, since/during all use them)
  const used = new Set<string>(a.checks.map((p) => p.name));
  const explicitAt = new Map<string, string>();
  (r.checks ?? []).forEach((c, i) => c.name && explicitAt.set(c.name, `checks[${i}]`));
  const claimExplicit = (name: string, path: Path) => {
    const prev = explicitAt.get(name);
    if (prev !== undefined || used.has(name)) {
      err(path, `"${name}" is already the name of ${prev ?? 'a check'}; step and check names must be unique (they name results and are what since/during refer to)`);
      return false;
    }
    explicitAt.set(name, formatPath(path.slice(0, -1)));
    used.add(name);
    return true;
  };

  const hosts = r.hosts ?? [];
  const switches = r.switches ?? [];
  const tunnels = r.tunnels ?? [];
  const sshHost = (h: string) => hosts.find((x) => x.name === h)?.ssh !== undefined;
  const switchKind = (s: string) => switches.find((x) => x.name === s)?.kind ?? 'bridge';
  const hostOfNode = (n: string): string | undefined => {
    const k = a.kindOf.get(n);
    if (k === 'host') return n;
    if (k === 'switch') return switches.find((s) => s.name === n)?.host;
    if (k === 'guest') {
      const g = (r.guests ?? []).find((x) => x.name === n);
      return g ? switches.find((s) => s.name === g.switch)?.host : undefined;
    }
    return undefined;
  };
  const hostRunsOvs = (h: string) => switches.some((s) => s.host === h && s.kind === 'ovs') || a.tunnels.some((d) => d?.impls.some((impl, i) => impl === 'ovs' && d.hosts[i] === h));
  const ovsHosts = () => hosts.map((h) => h.name).filter(hostRunsOvs);
  const nodeNames = () => [...a.kindOf].filter(([, k]) => k !== 'network').map(([n]) => n);
  /** A node reference (host, guest, switch; router once routers exist): the problem, or undefined. */
  const nodeProblem = (n: string): string | undefined => {
    const k = a.kindOf.get(n);
    if (k && k !== 'network') return undefined;
    const known = nodeNames();
    return k ? `"${n}" is a network; name a host, guest or switch (its namespace runs the step)` : `unknown node "${n}"${suggest(n, known)}; known: ${known.join(', ') || 'none'}`;
  };
  const ovsSwitchProblem = (n: string): string | undefined => {
    const k = a.kindOf.get(n);
    const ovs = switches.filter((s) => s.kind === 'ovs').map((s) => s.name);
    if (k === 'switch' && switchKind(n) === 'ovs') return undefined;
    if (k === 'switch') return `switch "${n}" is a Linux bridge (kind: bridge), not OVS; OVS switches: ${ovs.join(', ') || 'none'}`;
    return `unknown OVS switch "${n}"${suggest(n, ovs)}; OVS switches: ${ovs.join(', ') || 'none'}`;
  };

  const stepPath = (i: number): Path => ['steps', i];

  steps.forEach((s, i) => {
    const kind = kindOfStep(s);
    if (!kind) return; // the schema reported it
    const p = stepPath(i);
    if (s.name !== undefined && kind !== 'check') claimExplicit(s.name, [...p, 'name']);

    // ---- steps that run checks: analysed as a recipe's checks, then named uniquely
    if (kind === 'check' || kind === 'group' || kind === 'wait') {
      // A group's actions are named first: its captures, counters and logs may name them in `during`.
      const actions: GroupActionDecision[] = [];
      const list: RawCheck[] = [];
      const paths: Path[] = [];
      if (kind === 'group')
        s.checks!.forEach((item, j) => {
          const ak = groupActionKind(item);
          const ip: Path = [...p, 'checks', j];
          if (!ak) return void (list.push(item as RawCheck), paths.push(ip));
          if (item.name !== undefined) claimExplicit(item.name, [...ip, 'name']);
          actions.push({ index: j, kind: ak, name: item.name ?? uniqueName(derivedActionName(item, ak), used) });
          actionRules(item, ak, ip);
        });
      else if (kind === 'wait') (list.push(s.wait!.until), paths.push([...p, 'wait', 'until']));
      else (list.push(asCheck(s)), paths.push(p));
      const { analysis, problems: ps } = analyzeCheckList(r, list, paths, loc, actions.map((x) => x.name));
      const captureAlone = (kind === 'check' || kind === 'wait') && list[0]?.capture !== undefined;
      if (captureAlone) {
        err([...paths[0]!, 'capture'], kind === 'wait'
          ? 'wait cannot retry a capture (a capture wraps another check); retry the traffic check, then capture in a checks group'
          : 'a capture wraps a check (or an action) that runs with it: put both in a group, e.g. - checks: [{ name: probe, ping: {…} }, { capture: { …, during: probe } }]');
        problems.push(...ps.filter((x) => !x.path.endsWith('.during')));
      } else problems.push(...ps);
      // Explicit names of these checks must be new; derived ones are made unique.
      const rename = new Map<string, string>();
      list.forEach((c, j) => c.name !== undefined && claimExplicit(c.name, [...paths[j]!, 'name']));
      const explicitNames = new Set(list.map((c) => c.name).filter((n): n is string => !!n));
      for (const pr of analysis.checks) {
        if (pr.inner !== undefined || explicitNames.has(pr.name)) continue;
        if (used.has(pr.name)) rename.set(pr.name, uniqueName(pr.name, used));
        else used.add(pr.name);
      }
      const top = analysis.checks.filter((x) => x.inner === undefined).map((x) => rename.get(x.name) ?? x.name);
      let name: string;
      if (kind === 'check' && top.length === 1) name = top[0]!;
      else if (kind === 'wait') name = s.name ?? uniqueName(clipName(`wait until ${top[0] ?? 'check'}`), used);
      else name = s.name ?? uniqueName(clipName(`checks ${[...actions.map((x) => x.name), ...top].join(', ')}`), used);
      // A check written with lists in from/to expands into several checks: a group of them.
      out.push({ index: i, kind: kind === 'check' && top.length !== 1 ? 'group' : kind, name, checks: { raw: list, analysis, paths, rename }, ...(actions.length ? { actions } : {}) });
      return;
    }

    // ---- actions
    const name = s.name ?? uniqueName(derivedActionName(s, kind), used);
    out.push({ index: i, kind, name });
    actionRules(s, kind, p);
  });

  /** The rules of one action, written at `p` (a step, or an item of a group). */
  function actionRules(s: ActionBodies, kind: ActionKind, p: Path) {
    switch (kind) {
      case 'exec': {
        const pr = nodeProblem(s.exec!.on);
        if (pr) err([...p, 'exec', 'on'], pr);
        break;
      }
      case 'ovs': {
        const o = s.ovs!;
        const k = a.kindOf.get(o.on);
        if (k === 'host') {
          if (!hostRunsOvs(o.on)) err([...p, 'ovs', 'on'], `host "${o.on}" runs no OVS (no OVS switch or tunnel port on it); hosts with OVS: ${ovsHosts().join(', ') || 'none'}`);
          else if (o.ofctl) err([...p, 'ovs', 'on'], `ofctl talks to one bridge: name an OVS switch instead of host "${o.on}" (switches on it: ${switches.filter((x) => x.host === o.on && x.kind === 'ovs').map((x) => x.name).join(', ') || 'none'})`);
        } else {
          const pr = ovsSwitchProblem(o.on);
          if (pr) err([...p, 'ovs', 'on'], pr);
        }
        break;
      }
      case 'restart': {
        const h = s.restart!.ovs;
        if (a.kindOf.get(h) !== 'host') err([...p, 'restart', 'ovs'], `restart takes a host; ${a.kindOf.get(h) ? `"${h}" is a ${a.kindOf.get(h)}` : `unknown host "${h}"${suggest(h, hosts.map((x) => x.name))}`}; hosts with OVS: ${ovsHosts().join(', ') || 'none'}`);
        else if (!hostRunsOvs(h)) err([...p, 'restart', 'ovs'], `host "${h}" runs no OVS; hosts with OVS: ${ovsHosts().join(', ') || 'none'}`);
        break;
      }
      case 'set':
        setRules(s.set!, [...p, 'set']);
        break;
      case 'inject': {
        const pr = nodeProblem(s.inject!.on);
        if (pr) err([...p, 'inject', 'on'], pr);
        else {
          const h = hostOfNode(s.inject!.on);
          if (h && sshHost(h))
            err([...p, 'inject', 'on'], `"${s.inject!.on}" is on SSH host "${h}"; geneve-lab sends frames from a packet socket in a namespace of this machine — inject from a simulated node, or use packet_out on an OVS switch`);
        }
        break;
      }
      case 'packet_out': {
        const pr = ovsSwitchProblem(s.packet_out!.switch);
        if (pr) err([...p, 'packet_out', 'switch'], pr);
        break;
      }
      case 'sleep':
        break;
    }
  }

  // ---- since: an earlier step (the counter is snapshotted when that step finishes)
  out.forEach((d, k) => {
    d.checks?.raw.forEach((c, j) => {
      const kind = CHECK_KINDS.find((x) => c[x] !== undefined);
      const body = kind ? ((c as Record<string, unknown>)[kind] as Record<string, unknown> | undefined) : undefined;
      const since = body?.since;
      if (typeof since !== 'string') return;
      const earlier = out.slice(0, k).map((x) => x.name);
      if (earlier.includes(since)) return;
      const path = [...d.checks!.paths[j]!, kind!, 'since'];
      if (out.some((x) => x.name === since)) err(path, `step "${since}" comes at or after this one; since names an earlier step (the measurement starts when that step has finished)`);
      else err(path, `unknown step "${since}"${suggest(since, earlier)}; earlier steps: ${earlier.map((n) => `"${n}"`).join(', ') || 'none'}`);
    });
  });

  function setRules(x: NonNullable<RawStep['set']>, p: Path) {
    const targets = (['tunnel', 'guest', 'host', 'switch'] as const).filter((k) => x[k] !== undefined);
    if (targets.length !== 1) {
      err(p, targets.length ? `set changes one thing; found ${targets.join(' and ')} — use one set step per target` : 'say what to change: set: { tunnel: NAME (end: END), guest: NAME, host: NAME (interface: IF) or switch: NAME, … }');
      return;
    }
    const target = targets[0]!;
    const tunnelParams = (['vni', 'dstport', 'ttl', 'tos', 'df'] as const).filter((k) => x[k] !== undefined);
    if (x.mtu === undefined && x.offloads === undefined && !tunnelParams.length) err(p, 'set needs something to change: mtu, offloads, or for a tunnel vni, dstport, ttl, tos, df');
    if (x.end !== undefined && target !== 'tunnel') err([...p, 'end'], 'end goes with tunnel: set: { tunnel: NAME, end: SWITCH-OR-HOST, … }');
    if (x.interface !== undefined && target !== 'host') err([...p, 'interface'], 'interface goes with host: set: { host: NAME, interface: NETWORK-OR-IFNAME, … }');
    if (target !== 'tunnel') for (const k of tunnelParams) err([...p, k], `${k} is a tunnel setting; this set changes a ${target} — use set: { tunnel: NAME, ${k}: … }`);
    switch (target) {
      case 'tunnel': {
        const ti = tunnels.findIndex((t) => t.name === x.tunnel);
        if (ti < 0) return err([...p, 'tunnel'], `unknown tunnel "${x.tunnel}"${suggest(x.tunnel!, tunnels.map((t) => t.name))}; tunnels: ${tunnels.map((t) => t.name).join(', ') || 'none'}`);
        const t = tunnels[ti]!;
        const d = a.tunnels[ti];
        if (!d) return;
        const ends = x.end === undefined ? [0, 1] : [t.between.indexOf(x.end)];
        if (ends[0] === -1) return err([...p, 'end'], `"${x.end}" is not an end of tunnel "${t.name}"; its ends: ${t.between.join(', ')}`);
        const type = t.type ?? 'geneve';
        if (tunnelParams.length && type === 'gre') err([...p, tunnelParams[0]!], `${tunnelParams.join(', ')} can be changed on geneve and vxlan tunnels; "${t.name}" is gre (mtu and offloads can)`);
        if (x.df !== undefined && ends.some((e) => d.impls[e] === 'ovs'))
          err([...p, 'df'], `df of an OVS tunnel port is its df_default option, not a mode; use an ovs step: vsctl: [set, Interface, ${t.name}, options:df_default=false]`);
        for (const e of ends) {
          if (d.impls[e] === 'kernel' && t.external && (x.vni !== undefined || x.dstport !== undefined || x.ttl !== undefined || x.tos !== undefined))
            err([...p, x.vni !== undefined ? 'vni' : x.dstport !== undefined ? 'dstport' : x.ttl !== undefined ? 'ttl' : 'tos'], `end "${t.between[e]}" of "${t.name}" is an external (collect-metadata) device: its outer header comes from a tc rule, which a set step does not rewrite; change the recipe instead`);
          if (d.impls[e] === 'ovs' && x.offloads !== undefined) err([...p, 'offloads'], `end "${t.between[e]}" of "${t.name}" is an OVS port, not a netdev: it has no ethtool offloads`);
          const ovsKey = t.ovs?.key ?? t.ovs?.in_key ?? t.ovs?.out_key;
          if (d.impls[e] === 'ovs' && x.vni !== undefined && ovsKey === 'flow') err([...p, 'vni'], `the OVS port of "${t.name}" takes its key from the flows (ovs.key: flow); change the flows (an ovs step) instead`);
          if (x.ttl === 'inherit' && d.impls[e] === 'ovs') err([...p, 'ttl'], 'an OVS tunnel port has no ttl inherit; use 0..255');
        }
        return;
      }
      case 'guest':
        if (a.kindOf.get(x.guest!) !== 'guest') err([...p, 'guest'], `unknown guest "${x.guest}"${suggest(x.guest!, (r.guests ?? []).map((g) => g.name))}; guests: ${(r.guests ?? []).map((g) => g.name).join(', ') || 'none'}`);
        return;
      case 'host': {
        const hi = hosts.findIndex((h) => h.name === x.host);
        if (hi < 0) return err([...p, 'host'], `unknown host "${x.host}"${suggest(x.host!, hosts.map((h) => h.name))}; hosts: ${hosts.map((h) => h.name).join(', ') || 'none'}`);
        const nets = a.ifaceNetwork[hi] ?? [];
        const ifnames = (hosts[hi]!.interfaces ?? []).map((f, fi) => f.ifname ?? nets[fi]!);
        if (x.interface === undefined && nets.length !== 1) err(p, `host "${x.host}" has ${nets.length} interfaces; name one with interface: ${nets.join(' or ') || '(none)'}`);
        else if (x.interface !== undefined && !nets.includes(x.interface) && !ifnames.includes(x.interface))
          err([...p, 'interface'], `host "${x.host}" has no interface "${x.interface}"${suggest(x.interface, [...nets, ...ifnames])}; its interfaces: ${[...new Set([...nets, ...ifnames])].join(', ') || 'none'}`);
        return;
      }
      case 'switch': {
        const pr = a.kindOf.get(x.switch!) === 'switch' ? undefined : `unknown switch "${x.switch}"${suggest(x.switch!, switches.map((s) => s.name))}; switches: ${switches.map((s) => s.name).join(', ') || 'none'}`;
        if (pr) err([...p, 'switch'], pr);
        else if (x.offloads !== undefined && switchKind(x.switch!) === 'ovs') err([...p, 'offloads'], `switch "${x.switch}" is an OVS bridge; set offloads on the guests' or hosts' interfaces instead`);
        return;
      }
    }
  }

  return { problems, steps: out };
}
