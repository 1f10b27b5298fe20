/**
 * Raw checks that look (state, counter, log, transfer) → model checks, the implicit vswitchd
 * log gate of every host running the lab's own OVS, and the rules that need the resolved lab
 * (does that interface exist in that namespace? is that the from node's address?).
 */
import type { Problem } from '../errors.js';
import { nftChainName, nftRuleComment, nftTableName } from '../checks/counter.js';
import { describeLinks, isLiteralAddress, nodeOf, ovsPortName, resolveLink, underlayPair } from '../checks/nodes.js';
import type { CounterCheck, LogCheck, StateCheck, TransferCheck } from '../model/look-checks.js';
import type { Check, Lab } from '../model/types.js';
import { hostUsesOvs } from '../plan/ovs.js';
import { resolveFlowPorts, switchPorts } from '../ovs/port-names.js';
import { familyOf, parseCidr, sameAddress } from './addr.js';
import type { Locator, Path } from './locate.js';
import { parseRate, type RawRecipe } from './schema.js';
import type { RawCounter, RawLog, RawState, RawTransfer } from './schema-checks.js';

/** A lab being resolved: everything but its checks. */
export type LabParts = Omit<Lab, 'checks' | 'warnings'>;

function hostOf(lab: LabParts, node: string): string {
  return nodeOf({ ...lab, checks: [], warnings: [] }, node)?.host ?? node;
}

export function resolveState(name: string, b: RawState, lab: LabParts): StateCheck {
  const host = hostOf(lab, b.on);
  const [program, ...args] = b.ovs ?? [];
  return {
    kind: 'state',
    name,
    on: b.on,
    host,
    query: b.ip ? { tool: 'ip', args: b.ip } : { tool: 'ovs', program: program as 'appctl' | 'ofctl' | 'vsctl', args },
    where: b.where ?? {},
    expect: b.expect ?? {},
    ...(b.ip && b.count !== undefined ? { count: b.count } : {}),
    ...(b.ovs
      ? {
          text: {
            contains: b.contains ?? [],
            notContains: b.not_contains ?? [],
            matches: b.matches ?? [],
            ...(b.count !== undefined ? { count: (({ pattern, ...m }) => ({ pattern: String(pattern), expect: m }))(b.count as Record<string, unknown>) } : {}),
          },
        }
      : {}),
  };
}

export function resolveCounter(name: string, b: RawCounter, lab: LabParts): CounterCheck {
  const full: Lab = { ...lab, checks: [], warnings: [] };
  const host = hostOf(lab, b.on);
  let source: CounterCheck['source'];
  if (b.link !== undefined) source = { kind: 'link', dev: resolveLink(full, b.on, b.link) ?? b.link };
  else if (b.ovs_port !== undefined) {
    const sw = lab.switches.find((s) => s.name === b.on);
    source = { kind: 'ovs_port', bridge: sw?.ifname ?? b.on, port: ovsPortName(full, b.on, b.ovs_port) };
  } else if (b.ovs_flow !== undefined) {
    const sw = lab.switches.find((s) => s.name === b.on);
    // Recipe port names (in_port=tun0) become the names the lab made; unknown ones are reported below.
    source = { kind: 'ovs_flow', bridge: sw?.ifname ?? b.on, match: sw ? resolveFlowPorts(b.ovs_flow, switchPorts(full, sw.name)).text : b.ovs_flow };
  } else if (b.tc !== undefined) source = { kind: 'tc', dev: resolveLink(full, b.on, b.tc.dev) ?? b.tc.dev, direction: b.tc.direction, ...(b.tc.pref !== undefined ? { pref: b.tc.pref } : {}) };
  else {
    const hook = b.nft!.hook ?? 'prerouting';
    source = { kind: 'nft', family: 'inet', table: nftTableName(lab.name), chain: nftChainName(hook), hook, match: b.nft!.match, comment: nftRuleComment(name) };
  }
  const delta: CounterCheck['delta'] = {};
  if (b.min !== undefined) delta.min = b.min;
  if (b.max !== undefined) delta.max = b.max;
  if (b.equals !== undefined) delta.equals = b.equals;
  return { kind: 'counter', name, on: b.on, host, source, field: b.field, delta, ...(b.during !== undefined ? { during: b.during } : {}), ...(b.since !== undefined ? { since: b.since } : {}) };
}

export function resolveLog(name: string, b: RawLog, lab: LabParts): LogCheck {
  const gate = b.gate ?? (!b.must?.length && !b.must_not?.length);
  return {
    kind: 'log',
    name,
    host: hostOf(lab, b.on),
    must: b.must ?? [],
    mustNot: b.must_not ?? [],
    ...(gate ? { gate: { allow: b.allow ?? [] } } : {}),
    ...(b.during !== undefined ? { during: b.during } : {}),
    ...(b.since !== undefined ? { since: b.since } : {}),
    ...(b.file !== undefined ? { file: b.file } : {}),
  };
}

export function resolveTransfer(pr: { name: string; from: string; to: string; family: 'ipv4' | 'ipv6' }, b: RawTransfer): TransferCheck {
  return {
    kind: 'transfer',
    name: pr.name,
    from: pr.from,
    to: pr.to,
    family: pr.family,
    protocol: b.protocol ?? 'tcp',
    bytes: b.bytes ?? 1024 * 1024,
    seed: b.seed ?? 1,
    timeoutMs: b.timeout ?? 30_000,
    chunk: b.chunk ?? 1200,
    rateBps: b.rate !== undefined ? parseRate(b.rate)! : 50e6,
    ...(b.port !== undefined ? { port: b.port } : {}),
    expect: b.expect ?? 'delivered',
  };
}

/**
 * The default vswitchd log gate: one final `log` check per host that runs the lab's own OVS
 * daemons, unless the host says `ovs: { log: { gate: false } }` or the recipe already gates that
 * host's whole log with a log check of its own. SSH hosts share their service's log: no default.
 */
export function logGates(r: RawRecipe, lab: LabParts, checks: readonly Check[], uniqueName: (base: string) => string): LogCheck[] {
  const full: Lab = { ...lab, checks: [], warnings: [] };
  const out: LogCheck[] = [];
  for (const h of lab.hosts) {
    if (h.placement.kind !== 'netns' || !hostUsesOvs(full, h.name)) continue;
    const cfg = (r.hosts ?? []).find((x) => x.name === h.name)?.ovs?.log;
    if (cfg?.gate === false) continue;
    if (checks.some((c) => c.kind === 'log' && c.host === h.name && c.gate && !c.during && !c.since)) continue;
    out.push({ kind: 'log', name: uniqueName(`vswitchd-log ${h.name}`), host: h.name, must: [], mustNot: [], gate: { allow: cfg?.allow ?? [] }, final: true });
  }
  return out;
}

/** Rules that need the resolved lab: links that must exist in a namespace, addresses of a node. */
export function lookModelProblems(r: RawRecipe, lab: LabParts, loc: Locator): Problem[] {
  const full: Lab = { ...lab, checks: [], warnings: [] };
  const problems: Problem[] = [];
  const err = (p: Path, m: string) => problems.push(loc.problem(p, m));
  const linkProblem = (node: string, name: string, what: string) =>
    `${node === hostOf(lab, node) ? `host "${node}"` : `"${node}"`} has no ${what} "${name}": it is not an interface the lab makes there, nor a network, tunnel, guest or switch name that designates one; its links: ${describeLinks(full, node)}`;
  const nodeAddresses = (node: string): string[] => {
    const g = lab.guests.find((x) => x.name === node);
    if (g) return g.addresses;
    const s = lab.switches.find((x) => x.name === node);
    if (s) return s.addresses;
    const h = lab.hosts.find((x) => x.name === node);
    return h ? [...h.interfaces.flatMap((i) => i.addresses), ...lab.switches.filter((x) => x.host === node).flatMap((x) => x.addresses)] : [];
  };
  (r.checks ?? []).forEach((c, ci) => {
    const p: Path = ['checks', ci];
    if (c.capture) {
      const host = lab.hosts.find((h) => h.name === c.capture!.host);
      // A network name (the host's NIC on it) or a link of the host; tcpdump's "any" too. An SSH
      // host is a real machine with interfaces of its own, which only it knows.
      if (host && host.placement.kind === 'netns' && c.capture.interface !== 'any' && !resolveLink(full, host.name, c.capture.interface))
        err([...p, 'capture', 'interface'], linkProblem(host.name, c.capture.interface, 'interface'));
    }
    if (c.counter) {
      const b = c.counter;
      const dev = b.link ?? b.tc?.dev;
      if (dev !== undefined && nodeOf(full, b.on) && !resolveLink(full, b.on, dev)) err([...p, 'counter', b.link !== undefined ? 'link' : 'tc'], linkProblem(b.on, dev, 'link'));
      if (b.ovs_port !== undefined) {
        const sw = lab.switches.find((s) => s.name === b.on);
        if (sw) {
          const ports = [
            ...lab.guests.filter((g) => g.switch === sw.name).map((g) => ({ alias: g.name, name: g.peerIfname })),
            ...lab.tunnels.flatMap((t) => t.ends.filter((e) => e.attach.kind === 'switch' && e.attach.name === sw.name).map((e) => ({ alias: t.name, name: e.ifname }))),
            { alias: 'LOCAL', name: 'LOCAL' },
            { alias: sw.name, name: sw.ifname },
          ];
          if (!ports.some((x) => x.alias === b.ovs_port || x.name === b.ovs_port))
            err([...p, 'counter', 'ovs_port'], `switch "${sw.name}" has no port "${b.ovs_port}"; its ports: ${ports.map((x) => (x.alias === x.name ? x.name : `${x.alias} (${x.name})`)).join(', ')}`);
        }
      }
      if (b.ovs_flow !== undefined) {
        const sw = lab.switches.find((s) => s.name === b.on && s.kind === 'ovs');
        if (sw) {
          const ports = switchPorts(full, sw.name);
          for (const u of new Set(resolveFlowPorts(b.ovs_flow, ports).unknown))
            err([...p, 'counter', 'ovs_flow'], `switch "${sw.name}" has no port "${u}"; its ports: ${[...ports.ports.keys()].join(', ')} (or a port number, LOCAL…)`);
        }
      }
    }
    const pingLike = (body: Record<string, any> | undefined, path: Path) => {
      if (!body) return;
      const froms: string[] = ([] as string[]).concat(body.from);
      for (const f of froms) {
        if (!nodeOf(full, f)) continue;
        if (body.interface !== undefined && !resolveLink(full, f, body.interface)) err([...path, 'interface'], linkProblem(f, body.interface, 'interface'));
        if (body.source !== undefined && familyOf(body.source) && !nodeAddresses(f).some((a) => sameAddress(parseCidr(a)!.address, body.source)))
          err([...path, 'source'], `${body.source} is not an address of "${f}"; its addresses: ${nodeAddresses(f).join(', ') || 'none'}`);
      }
    };
    pingLike(c.ping as Record<string, any> | undefined, [...p, 'ping']);
    (c.then ?? []).forEach((ic, ii) => pingLike(ic.ping as Record<string, any> | undefined, [...p, 'then', ii, 'ping']));
    const iperfRatio = (body: Record<string, any> | undefined, path: Path) => {
      if (body?.min_ratio === undefined) return;
      for (const f of ([] as string[]).concat(body.from))
        for (const t of ([] as string[]).concat(body.to)) {
          const a = nodeOf(full, f)?.host;
          const tn = isLiteralAddress(t) ? undefined : nodeOf(full, t);
          const b = tn?.host ?? lab.hosts.find((h) => h.interfaces.some((i) => i.addresses.some((x) => sameAddress(parseCidr(x)!.address, t))))?.name ?? lab.guests.find((g) => g.addresses.some((x) => sameAddress(parseCidr(x)!.address, t)))?.host;
          if (!a || !b) continue;
          if (a === b) err([...path, 'min_ratio'], `"${f}" and "${t}" are on the same host "${a}": there is no underlay between them to measure a baseline on; remove min_ratio or use min`);
          else if (!underlayPair(lab, a, b)) err([...path, 'min_ratio'], `hosts "${a}" and "${b}" share no network with addresses of one family: no underlay baseline can be measured; remove min_ratio or use min`);
        }
    };
    iperfRatio(c.iperf as Record<string, any> | undefined, [...p, 'iperf']);
    (c.then ?? []).forEach((ic, ii) => iperfRatio(ic.iperf as Record<string, any> | undefined, [...p, 'then', ii, 'iperf']));
  });
  return problems;
}
