/**
 * Cross-field rules over a schema-valid recipe: names and references, addresses, tunnel ends
 * and their settings, checks. Every problem is collected (never stop at the first) and located.
 * Decisions resolve.ts needs (tunnel network/family/ends, check pairs) are recorded here once.
 */
import type { Problem } from '../errors.js';
import type { Family, TunnelImpl } from '../model/types.js';
import { parseCidr, subnetsOverlap, canonicalAddress, familyOf, type Cidr } from './addr.js';
import { suggest, type Locator, type Path } from './locate.js';
import { CHECK_KINDS, INNER_CHECK_KINDS, type RawImpairment, type RawRecipe, type RawTunnel, type CheckKind } from './schema.js';
import { validateCaptureExpect } from '../checks/capture-expect.js';
import { tunnelConflicts } from './semantic-conflicts.js';
import { ovsRules } from './semantic-ovs.js';
import { lookCheckRules, lookRecipeRules, type LookEnv } from './semantic-checks.js';
import { routingRules, type NodeKind } from './semantic-routing.js';
import { checkLinkTuning } from './semantic-tuning.js';
import type { UnderlayKind } from '../model/topology.js';
import { withoutOvn } from '../checks/capture-ovn.js';
import { analyzeOvn, ovnCheckName, type OvnDecision } from './semantic-ovn.js';
import { ipsecRules } from './semantic-ipsec.js';

export const IMPLICIT_NETWORK = 'underlay';
export const OPTIONS_MAX_BYTES = 252;

export interface TunnelDecision {
  routed: boolean;
  network: string;
  family: Family;
  /** Host of each end, in `between` order. */
  hosts: [string, string];
  impls: [TunnelImpl, TunnelImpl];
  /** Set when the hosts share no network (routed) or `network` names a tunnel (overlay): each end's network and underlay address (semantic-routing.ts). */
  underlay?: { kind: UnderlayKind; networks: [string, string]; addresses: [string, string] };
}

export interface CheckPair {
  index: number; // index in the recipe's checks list
  /** For a check under an impair step's `then`: its index there (the pair belongs to that step). */
  inner?: number;
  kind: CheckKind;
  from: string;
  to: string;
  family: Family;
  name: string;
}

export interface Analysis {
  problems: Problem[];
  networks: { name: string; mtu: number }[];
  /** Network of each host interface, by host index then interface index. */
  ifaceNetwork: string[][];
  tunnels: (TunnelDecision | undefined)[];
  checks: CheckPair[];
  /** Names by kind of object, for references. */
  kindOf: Map<string, NodeKind>;
  /** Network of each router interface, by router index then interface index. */
  routerIfaceNetwork: string[][];
  /** The `ovn:` section's decisions (semantic-ovn.ts). */
  ovn?: OvnDecision;
}

/**
 * `inSteps`: the checks are steps' (they may compare with earlier steps: since, unchanged_since).
 * `actions`: names of the actions of the same checks group, which a capture, counter or log may
 * measure (`during: NAME`) like a check.
 */
export function analyze(r: RawRecipe, loc: Locator, opts: { inSteps?: boolean; actions?: string[] } = {}): Analysis {
  const problems: Problem[] = [];
  const err = (path: Path, msg: string) => problems.push(loc.problem(path, msg));
  /** netem's own rules, in the recipe's words. */
  const impairRules = (i: RawImpairment, p: Path) => {
    // A setting written but invalid was reported by the schema and dropped: no echo of it here.
    const here = loc.position(p);
    const written = (k: string) => {
      const at = loc.position([...p, k]);
      return at.line !== here.line || at.column !== here.column;
    };
    if (i.jitter !== undefined && i.delay === undefined && !written('delay')) err([...p, 'jitter'], 'jitter needs a delay (netem varies the delay by the jitter); add delay, e.g. delay: 20ms');
    else if (i.jitter !== undefined && i.delay !== undefined && i.jitter > i.delay) err([...p, 'jitter'], `jitter ${i.jitter}ms is larger than delay ${i.delay}ms; netem would reorder most packets — use a jitter at most the delay`);
    if (i.delay === undefined && i.loss === undefined && i.rate === undefined && !['delay', 'loss', 'rate'].some(written)) err(p, 'an impairment needs at least one of delay, loss, rate (e.g. delay: 20ms, loss: 1%, rate: 100mbit)');
  };
  const hosts = r.hosts ?? [];
  const switches = r.switches ?? [];
  const guests = r.guests ?? [];
  const tunnels = r.tunnels ?? [];
  const checks = r.checks ?? [];
  const networks = r.networks ? r.networks.map((n) => ({ name: n.name, mtu: n.mtu ?? 1500 })) : [{ name: IMPLICIT_NETWORK, mtu: 1500 }];

  // ---- names: unique across hosts/guests/switches/networks
  const kindOf = new Map<string, NodeKind>();
  const firstAt = new Map<string, string>();
  const declare = (name: string, kind: NodeKind, path: Path) => {
    const prev = kindOf.get(name);
    if (prev) err([...path, 'name'], `"${name}" is already used by ${prev} at ${firstAt.get(name)}; names must be unique across networks, hosts, routers, switches and guests`);
    else {
      kindOf.set(name, kind);
      firstAt.set(name, path.length === 0 ? 'an implicit network' : `${String(path[0])}[${String(path[1])}]`);
    }
  };
  if (r.networks) r.networks.forEach((n, i) => declare(n.name, 'network', ['networks', i]));
  else kindOf.set(IMPLICIT_NETWORK, 'network'), firstAt.set(IMPLICIT_NETWORK, 'the implicit network');
  hosts.forEach((h, i) => declare(h.name, 'host', ['hosts', i]));
  (r.routers ?? []).forEach((x, i) => declare(x.name, 'router', ['routers', i]));
  switches.forEach((s, i) => declare(s.name, 'switch', ['switches', i]));
  guests.forEach((g, i) => declare(g.name, 'guest', ['guests', i]));
  const namesOf = (kind: string) => [...kindOf].filter(([, k]) => k === kind).map(([n]) => n);
  const refProblem = (name: string, kind: 'host' | 'switch' | 'network' | 'guest' | 'router') => {
    const other = kindOf.get(name);
    const known = namesOf(kind);
    const plural = kind === 'switch' ? 'switches' : `${kind}s`;
    const list = known.length ? `known ${plural}: ${known.join(', ')}` : `no ${plural} are defined`;
    return other ? `"${name}" is a ${other}, not a ${kind}; ${list}` : `unknown ${kind} "${name}"${suggest(name, known)}; ${list}`;
  };
  const uniqueAmong = (list: { name?: string }[], section: string) => {
    const seen = new Map<string, number>();
    list.forEach((o, i) => {
      if (!o.name) return;
      const j = seen.get(o.name);
      if (j !== undefined) err([section, i, 'name'], `"${o.name}" is already the name of ${section}[${j}]; ${section} names must be unique`);
      else seen.set(o.name, i);
    });
  };
  uniqueAmong(tunnels, 'tunnels');
  uniqueAmong(checks, 'checks');

  // ---- hosts and their underlay interfaces
  const ifaceNetwork: string[][] = [];
  const underlay: { host: string; network: string; cidr: Cidr; path: Path }[] = [];
  const allAddrs: { cidr: Cidr; path: Path; what: string }[] = [];
  /** Hosts with an unresolvable interface: rules depending on their networks would only echo that. */
  const brokenHosts = new Set<string>();
  hosts.forEach((h, hi) => {
    const nets: string[] = [];
    (h.interfaces ?? []).forEach((f, fi) => {
      const p: Path = ['hosts', hi, 'interfaces', fi];
      let net = f.network;
      if (net === undefined) {
        if (networks.length === 1) net = networks[0]!.name;
        else err(p, `"network" is required because there are ${networks.length} networks; use one of: ${networks.map((n) => n.name).join(', ')}`);
      } else if (!networks.some((n) => n.name === net)) {
        err([...p, 'network'], refProblem(net, 'network'));
        brokenHosts.add(h.name);
        net = undefined;
      }
      if (net !== undefined) {
        if (nets.includes(net)) err([...p, 'network'], `host "${h.name}" is attached to network "${net}" twice; use one interface per network`);
        nets.push(net);
      } else nets.push('');
      if (!f.ipv4 && !f.ipv6) err(p, 'an interface needs an address: add ipv4 (e.g. 192.0.2.11/24) and/or ipv6 (e.g. 2001:db8::11/64)');
      for (const fam of ['ipv4', 'ipv6'] as const) {
        const c = f[fam] ? parseCidr(f[fam]) : undefined;
        if (!c) continue;
        allAddrs.push({ cidr: c, path: [...p, fam], what: `host "${h.name}"` });
        if (net) underlay.push({ host: h.name, network: net, cidr: c, path: [...p, fam] });
      }
    });
    ifaceNetwork.push(nets);
  });
  // Routers, routes and routed/overlay underlays: semantic-routing.ts.
  const routing = routingRules({ r, loc, problems, kindOf, refProblem, networks, underlay, allAddrs });
  const routerIfaceNetwork = routing.analyzeRouters();
  // A network is either simulated (a bridge in a namespace) or real (between SSH hosts), not both.
  networks.forEach((n) => {
    const on = hosts.map((h, hi) => ({ h, hi })).filter(({ hi }) => ifaceNetwork[hi]!.includes(n.name));
    const remote = on.filter(({ h }) => h.ssh !== undefined);
    if (remote.length && remote.length < on.length) {
      const local = on.find(({ h }) => h.ssh === undefined)!;
      err(['hosts', local.hi, 'interfaces', ifaceNetwork[local.hi]!.indexOf(n.name)], `network "${n.name}" joins SSH hosts (${remote.map(({ h }) => `"${h.name}"`).join(', ')}) and simulated host "${local.h.name}"; a network is either real (all hosts have ssh) or simulated (none has)`);
    }
  });
  // The same subnet on two networks would make the underlay routing ambiguous.
  for (let i = 0; i < underlay.length; i++)
    for (let j = 0; j < i; j++) {
      const a = underlay[i]!;
      const b = underlay[j]!;
      if (a.network !== b.network && subnetsOverlap(a.cidr, b.cidr)) {
        err(a.path, `${a.cidr.text} on network "${a.network}" overlaps ${b.cidr.text} on network "${b.network}"; give each network its own subnet`);
        break;
      }
    }

  // ---- impairments on networks, host interfaces and guests (applied at `up`)
  (r.networks ?? []).forEach((n, ni) => {
    if (!n.impair) return;
    impairRules(n.impair, ['networks', ni, 'impair']);
    if (hosts.some((h, hi) => h.ssh !== undefined && ifaceNetwork[hi]!.includes(n.name)))
      err(['networks', ni, 'impair'], `network "${n.name}" is the real network between SSH hosts; geneve-lab impairs only links it created — impair a guest instead`);
  });
  hosts.forEach((h, hi) =>
    (h.interfaces ?? []).forEach((f, fi) => {
      if (f.mac !== undefined && h.ssh !== undefined)
        err(['hosts', hi, 'interfaces', fi, 'mac'], `host "${h.name}" is an SSH host and this interface is its real NIC; geneve-lab does not change its MAC — remove mac (write frames to the machine's own MAC)`);
      if (!f.impair) return;
      impairRules(f.impair, ['hosts', hi, 'interfaces', fi, 'impair']);
      if (h.ssh !== undefined) err(['hosts', hi, 'interfaces', fi, 'impair'], `host "${h.name}" is an SSH host and this interface is its real NIC; geneve-lab impairs only links it created — impair a guest instead`);
    }),
  );
  guests.forEach((g, gi) => g.impair && impairRules(g.impair, ['guests', gi, 'impair']));

  // ---- switches and guests
  const switchHost = new Map<string, string>();
  const switchKind = new Map<string, 'bridge' | 'ovs'>();
  switches.forEach((s, si) => {
    const p: Path = ['switches', si];
    if (kindOf.get(s.host) !== 'host') err([...p, 'host'], refProblem(s.host, 'host'));
    else switchHost.set(s.name, s.host);
    switchKind.set(s.name, s.kind ?? 'bridge');
    if (s.datapath && (s.kind ?? 'bridge') !== 'ovs') err([...p, 'datapath'], `datapath applies to OVS switches only; set kind: ovs or remove datapath`);
    (s.addresses ?? []).forEach((a, ai) => {
      const c = parseCidr(a);
      if (c) allAddrs.push({ cidr: c, path: [...p, 'addresses', ai], what: `switch "${s.name}"` });
    });
  });
  guests.forEach((g, gi) => {
    const p: Path = ['guests', gi];
    if (kindOf.get(g.switch) !== 'switch') err([...p, 'switch'], refProblem(g.switch, 'switch'));
    (g.addresses ?? []).forEach((a, ai) => {
      const c = parseCidr(a);
      if (c) allAddrs.push({ cidr: c, path: [...p, 'addresses', ai], what: `guest "${g.name}"` });
    });
    (g.routes ?? []).forEach((rt, ri) => {
      if (!rt.via && !rt.dev) err([...p, 'routes', ri], 'a route needs "via" (a gateway address) and/or "dev" (an interface)');
      if (rt.via && rt.to !== 'default' && familyOf(rt.via) !== parseCidr(rt.to)?.family) err([...p, 'routes', ri, 'via'], `gateway ${rt.via} is not of the same family as ${rt.to}`);
    });
  });

  // ---- tunnels
  // Decided on demand: a tunnel inside another needs the outer one's decision first.
  const decided = new Map<number, TunnelDecision | undefined>();
  const deciding = new Set<number>();
  const decideTunnel = (ti: number): TunnelDecision | undefined | 'cycle' => {
    if (decided.has(ti)) return decided.get(ti);
    if (deciding.has(ti)) return 'cycle';
    deciding.add(ti);
    const d = checkTunnel(tunnels[ti]!, ti);
    deciding.delete(ti);
    decided.set(ti, d);
    return d;
  };
  const outerDecision = (name: string) => decideTunnel(tunnels.findIndex((x) => x.name === name));
  const tunnelDecisions = tunnels.map((_, ti) => {
    const d = decideTunnel(ti);
    return d === 'cycle' ? undefined : d;
  });
  // (VXLAN devices clashing on a host, tunnels inside tunnels included: semantic-conflicts.ts.)
  routing.checkAllRoutes(routerIfaceNetwork, ifaceNetwork, (host) =>
    tunnels.flatMap((t, ti) => {
      const d = tunnelDecisions[ti];
      const i = d ? d.hosts.indexOf(host) : -1;
      return d && i >= 0 ? [{ ifname: t.name, ...(d.routed && t.addresses?.[i] ? { address: t.addresses[i] } : {}) }] : [];
    }),
  );
  checkLinkTuning(r, err, tunnelDecisions.map((d) => d?.impls));
  function checkTunnel(t: RawTunnel, ti: number): TunnelDecision | undefined {
    const p: Path = ['tunnels', ti];
    const e = (k: string | Path, msg: string) => err([...p, ...(Array.isArray(k) ? k : [k])], msg);
    const type = t.type ?? 'geneve';
    const [a, b] = t.between as [string, string];
    const ka = kindOf.get(a);
    const kb = kindOf.get(b);
    let ok = true;
    for (const [i, n, k] of [[0, a, ka], [1, b, kb]] as const) {
      if (k !== 'switch' && k !== 'host') {
        const known = [...namesOf('switch'), ...namesOf('host')];
        e(['between', i], k ? `"${n}" is a ${k}; a tunnel joins two switches (L2) or two hosts (routed)` : `unknown switch or host "${n}"${suggest(n, known)}; known: ${known.join(', ') || 'none'}`);
        ok = false;
      }
    }
    if (ok && ka !== kb) {
      e('between', `the ends are a ${ka} and a ${kb}; join two switches (L2 tunnel) or two hosts (routed tunnel)`);
      ok = false;
    }
    const routed = ka === 'host';
    if (!ok) return undefined;
    const ha = routed ? a : switchHost.get(a);
    const hb = routed ? b : switchHost.get(b);
    if (!ha || !hb || brokenHosts.has(ha) || brokenHosts.has(hb)) return undefined;
    if (ha === hb) {
      e('between', `both ends are on host "${ha}"; a tunnel needs ends on different hosts`);
      return undefined;
    }
    // End implementation: an OVS switch makes an OVS port; anything else is a kernel netdev.
    const impls = [a, b].map((n) => (!routed && switchKind.get(n) === 'ovs' ? 'ovs' : 'kernel')) as [TunnelImpl, TunnelImpl];
    if (t.impl && impls.some((x) => x !== t.impl)) {
      const bad = [a, b].filter((_, i) => impls[i] !== t.impl);
      e('impl', `impl: ${t.impl} contradicts end${bad.length > 1 ? 's' : ''} ${bad.map((x) => `"${x}" (${impls[[a, b].indexOf(x)]})`).join(', ')}; an end is an OVS port exactly when it is attached to an ovs switch — change the switch kind or remove impl`);
    }
    // Network: the one both hosts share, a routed underlay, or another tunnel (semantic-routing.ts).
    const hostIdx = (n: string) => hosts.findIndex((h) => h.name === n);
    const netsA = ifaceNetwork[hostIdx(ha)] ?? [];
    const netsB = ifaceNetwork[hostIdx(hb)] ?? [];
    const shared = netsA.filter((n) => n && netsB.includes(n));
    const choice = routing.decideUnderlay({ t, path: p, hosts: [ha, hb], shared, kernelOnly: impls.every((x) => x === 'kernel'), outer: outerDecision });
    if (!choice) return undefined;
    const { network, family: fam } = choice;
    // Family-specific settings.
    if (fam === 'ipv4') {
      for (const k of ['flowlabel', 'udp6zerocsumtx', 'udp6zerocsumrx'] as const)
        if (t[k] !== undefined) e(k, `${k} applies to IPv6 tunnels only, and this tunnel runs over IPv4; remove it or set family: ipv6`);
    } else if (t.udpcsum !== undefined) e('udpcsum', 'udpcsum applies to IPv4 tunnels only (IPv6 always has UDP checksums unless udp6zerocsumtx/rx); remove it or use udp6zerocsumtx/udp6zerocsumrx');
    // Type-specific settings.
    const only = (k: keyof RawTunnel, types: string[], hint: string) => {
      if (t[k] !== undefined && !types.includes(type)) e(k, `${k} applies to ${types.join('/')} tunnels only, and this is a ${type} tunnel; ${hint}`);
    };
    only('learning', ['vxlan'], 'remove it');
    only('innerprotoinherit', ['geneve'], 'remove it');
    only('options', ['geneve'], 'remove it (options are Geneve TLVs)');
    only('ovn', ['geneve'], 'remove it (OVN metadata is a Geneve option)');
    only('key', ['gre'], type === 'gre' ? '' : 'use vni for geneve/vxlan');
    only('vni', ['geneve', 'vxlan'], 'use key for gre');
    for (const k of ['dstport', 'srcport', 'flowlabel', 'udpcsum', 'udp6zerocsumtx', 'udp6zerocsumrx', 'df', 'external'] as const)
      only(k, ['geneve', 'vxlan'], 'remove it');
    // external: kernel ends become collect-metadata devices keyed per packet by tc rules
    // (lib/plan/external.ts), so vni is allowed (it is the VNI tc sets and requires); what tc's
    // tunnel_key cannot express is refused rather than silently dropped.
    if (t.external && (type === 'geneve' || type === 'vxlan')) {
      const noTc = (k: keyof RawTunnel, why: string) => e(k, `${why} with external: true (the outer header comes from a tc tunnel_key rule, which cannot do it); remove ${String(k)} or external`);
      if (t.ttl === 'inherit') noTc('ttl', 'ttl: inherit is not possible');
      if (t.tos === 'inherit') noTc('tos', 'tos: inherit is not possible');
      if (t.df !== undefined) noTc('df', 'df cannot be set');
      if (t.flowlabel !== undefined) noTc('flowlabel', 'flowlabel cannot be set');
    }
    if (t.srcport && t.srcport.low > t.srcport.high) e(['srcport', 'low'], `srcport low ${t.srcport.low} is above high ${t.srcport.high}; low must be <= high`);
    // Options size: 4-byte header per option plus its data; ovn adds one 8-byte option.
    const optBytes = (t.options ?? []).reduce((n, o) => n + 4 + (o.data ?? '').replace(/^0x/i, '').length / 2, 0) + (t.ovn ? 8 : 0);
    if (optBytes > OPTIONS_MAX_BYTES) e('options', `Geneve options total ${optBytes} bytes (4-byte header per option plus data${t.ovn ? ', ovn adds 8' : ''}); at most ${OPTIONS_MAX_BYTES} bytes fit in the header`);
    // Options are set per packet: by OVS flows on OVS ports, or by tc on collect-metadata devices.
    if ((t.options?.length || t.ovn) && type === 'geneve' && !impls.includes('ovs') && !t.external && !Object.values(t.ends ?? {}).some((x) => x.external))
      e(t.ovn ? 'ovn' : 'options', 'Geneve options are added per packet, by OVS (an end on an ovs switch) or by tc on an external (collect-metadata) device; attach an end to a switch with kind: ovs, or set external: true');
    // OVS-only settings need an OVS end.
    if (t.ovs !== undefined && !impls.includes('ovs')) e('ovs', `ovs options apply to ends that are OVS ports, and both ends of this tunnel are kernel netdevs; attach an end to a switch with kind: ovs or remove "ovs"`);
    ipsecRules(t, { type, impls, hosts: [ha, hb], onSsh: (h) => hosts.some((x) => x.name === h && x.ssh !== undefined) }, e);
    if (t.external && impls.every((x) => x === 'ovs')) e('external', 'external applies to kernel netdev ends, and both ends of this tunnel are OVS ports (always flow-based); remove it or use ovs.key: flow');
    // Routed vs L2.
    if (routed) {
      if (!t.addresses || t.addresses.length !== 2) e(t.addresses ? 'addresses' : 'between', `a routed (host-to-host) tunnel needs addresses: one per end, e.g. [10.99.0.1/30, 10.99.0.2/30]${t.addresses ? `; got ${t.addresses.length}` : ''}`);
      else {
        t.addresses.forEach((x, i) => {
          const c = parseCidr(x);
          if (c) allAddrs.push({ cidr: c, path: [...p, 'addresses', i], what: `tunnel "${t.name}"` });
        });
      }
    } else if (t.addresses) e('addresses', 'addresses are for routed tunnels between two hosts; an L2 tunnel between switches carries guest traffic — put addresses on guests or switches');
    return { routed, network, family: fam, hosts: [ha, hb], impls, ...(choice.underlay ? { underlay: choice.underlay } : {}) };
  }

  // ---- duplicate addresses anywhere in the lab
  // Each address is converted once and indexed by its canonical form (linear in the lab's size;
  // comparing every pair took seconds at 1000 guests). A repeat names the first user.
  const firstUser = new Map<string, string>();
  for (const x of allAddrs) {
    const key = canonicalAddress(x.cidr.address);
    if (key === undefined) continue;
    const first = firstUser.get(key);
    if (first !== undefined) err(x.path, `address ${x.cidr.address} of ${x.what} is already used by ${first}; every address must be unique`);
    else firstUser.set(key, x.what);
  }

  // ---- checks
  const addrFamilies = (name: string): Set<Family> => {
    const fams = new Set<Family>();
    const add = (a: string | undefined) => {
      const c = a ? parseCidr(a) : undefined;
      if (c) fams.add(c.family);
    };
    const k = kindOf.get(name);
    if (k === 'router') (r.routers ?? []).find((x) => x.name === name)?.interfaces.forEach((f) => (add(f.ipv4), add(f.ipv6)));
    else if (k === 'guest') guests.find((g) => g.name === name)?.addresses?.forEach(add);
    else if (k === 'switch') switches.find((s) => s.name === name)?.addresses?.forEach(add);
    else if (k === 'host') {
      const h = hosts.find((x) => x.name === name);
      h?.interfaces?.forEach((f) => (add(f.ipv4), add(f.ipv6)));
      tunnels.forEach((t, ti) => {
        const d = tunnelDecisions[ti];
        if (d?.routed) d.hosts.forEach((hn, i) => hn === name && add(t.addresses?.[i]));
      });
    } else if (familyOf(name)) fams.add(familyOf(name)!);
    return fams;
  };
  const pairs: CheckPair[] = [];
  const usedNames = new Set(checks.map((c) => c.name).filter((n): n is string => !!n));
  const captures: { index: number; during: string }[] = [];
  const lookEnv: LookEnv = { err, kindOf, recipe: r, ...(opts.inSteps ? { inSteps: true } : {}) };
  lookRecipeRules(r, lookEnv);
  checks.forEach((c, ci) => {
    const kind = CHECK_KINDS.find((k) => c[k] !== undefined);
    if (!kind) return;
    const p: Path = ['checks', ci, kind];
    if (kind === 'state' || kind === 'counter' || kind === 'log') {
      // Checks that look (semantic-checks.ts); counters and logs with a `during` wrap that check like a capture.
      const look = lookCheckRules(kind, c[kind]!, p, lookEnv);
      const name = c.name ?? uniqueName(look.name, usedNames);
      if (look.during !== undefined) captures.push({ index: ci, during: look.during });
      pairs.push({ index: ci, kind, from: look.node, to: look.node, family: 'ipv4', name });
      return;
    }
    if (kind === 'impair') {
      const imp = c.impair!;
      impairRules(imp, p);
      impairTarget(imp.on, [...p, 'on']);
      const name = c.name ?? uniqueName('impair', usedNames);
      pairs.push({ index: ci, kind, from: '', to: '', family: 'ipv4', name });
      (c.then ?? []).forEach((ic, ii) => {
        const k = INNER_CHECK_KINDS.find((x) => ic[x] !== undefined);
        if (k) trafficPairs(ic, k, ['checks', ci, 'then', ii, k], ci, ii, `${name} › `);
      });
      return;
    }
    if (kind === 'capture') {
      const cap = c.capture!;
      if (kindOf.get(cap.host) !== 'host' && kindOf.get(cap.host) !== 'router') err([...p, 'host'], refProblem(cap.host, 'host') + (namesOf('router').length ? `; or a router: ${namesOf('router').join(', ')}` : ''));
      // The expectation language belongs to the capture check; a typo must fail at validate time.
      const expect = (cap as { expect?: unknown }).expect;
      // `ovn: {datapath, ingress, egress}` names OVN objects: semantic-ovn.ts checks it.
      if (expect !== undefined) for (const problem of validateCaptureExpect(withoutOvn(expect))) err([...p, 'expect'], problem);
      const forbid = (cap as { forbid?: unknown }).forbid;
      if (forbid !== undefined) for (const problem of validateCaptureExpect(forbid, 'forbid')) err([...p, 'forbid'], problem);
      // at_least: 0 passes whatever was captured unless `forbid` names what must not be there.
      if (cap.at_least === 0 && forbid === undefined)
        err([...p, 'at_least'], 'at_least: 0 asserts nothing on its own; add forbid: { … } with what must not be seen (e.g. forbid: { geneve.vni: 5 }: no such packet on the wire), or expect at least 1 packet');
      captures.push({ index: ci, during: cap.during });
      const name = c.name ?? uniqueName(`capture ${cap.host}`, usedNames);
      pairs.push({ index: ci, kind, from: cap.host, to: cap.host, family: 'ipv4', name });
      return;
    }
    if (kind === 'ovn') {
      pairs.push({ index: ci, kind, from: '', to: '', family: 'ipv4', name: c.name ?? uniqueName(ovnCheckName(c.ovn!), usedNames) });
      return;
    }
    trafficPairs(c, kind, p, ci);
  });
  /** Validate `on` of an impair step: exactly one of host (+ interface), guest, network. */
  function impairTarget(on: { host?: string; interface?: string; guest?: string; network?: string }, p: Path) {
    const set = (['host', 'guest', 'network'] as const).filter((k) => on[k] !== undefined);
    if (set.length !== 1) {
      err(p, set.length ? `"on" names one link; found ${set.join(' and ')} — use { host, interface }, { guest } or { network }` : 'say which link to impair: on: { host: NAME, interface: NETWORK }, on: { guest: NAME } or on: { network: NAME }');
      return;
    }
    if (on.interface !== undefined && !on.host) err([...p, 'interface'], 'interface goes with host: on: { host: NAME, interface: NETWORK-OR-IFNAME }');
    if (on.host !== undefined) {
      if (kindOf.get(on.host) !== 'host') return err([...p, 'host'], refProblem(on.host, 'host'));
      const hi = hosts.findIndex((h) => h.name === on.host);
      const h = hosts[hi]!;
      if (h.ssh !== undefined) return err([...p, 'host'], `host "${h.name}" is an SSH host; its interfaces are the machine's real NICs — impair a guest instead`);
      const nets = ifaceNetwork[hi] ?? [];
      const ifnames = (h.interfaces ?? []).map((f, fi) => f.ifname ?? nets[fi]!);
      if (on.interface === undefined) {
        if (nets.length !== 1) err(p, `host "${h.name}" has ${nets.length} interfaces; name one with interface: ${nets.join(' or ') || '(none)'}`);
      } else if (!nets.includes(on.interface) && !ifnames.includes(on.interface)) {
        err([...p, 'interface'], `host "${h.name}" has no interface "${on.interface}"${suggest(on.interface, [...nets, ...ifnames])}; its interfaces: ${[...new Set([...nets, ...ifnames])].join(', ') || 'none'} (a network name or an interface name)`);
      }
    }
    if (on.guest !== undefined && kindOf.get(on.guest) !== 'guest') err([...p, 'guest'], refProblem(on.guest, 'guest'));
    if (on.network !== undefined) {
      if (kindOf.get(on.network) !== 'network') err([...p, 'network'], refProblem(on.network, 'network'));
      else if (hosts.some((h, hi) => h.ssh !== undefined && ifaceNetwork[hi]!.includes(on.network!)))
        err([...p, 'network'], `network "${on.network}" is the real network between SSH hosts; geneve-lab impairs only links it created — impair a guest instead`);
    }
  }
  /** Expand a ping/iperf/mtu check into one pair per (from, to) and check both ends. */
  function trafficPairs(c: { name?: string } & Partial<Record<CheckKind, unknown>>, kind: CheckKind, p: Path, ci: number, inner?: number, prefix = '') {
    const body = c[kind] as { from: string | string[]; to: string | string[]; family?: Family };
    const froms = ([] as string[]).concat(body.from);
    const tos = ([] as string[]).concat(body.to);
    const endpointOk = (n: string, field: 'from' | 'to', i: number, literalOk: boolean) => {
      const path: Path = Array.isArray(body[field]) ? [...p, field, i] : [...p, field];
      const k = kindOf.get(n);
      if (k === 'host' || k === 'guest' || k === 'switch' || k === 'router') return true;
      if (literalOk && familyOf(n)) {
        // iperf3's server and a transfer's receiver run on the node that has the address.
        if ((kind === 'iperf' || kind === 'transfer') && !firstUser.has(canonicalAddress(n)!)) {
          err(path, `${n} is not an address of any guest, host or switch of the lab; ${kind === 'iperf' ? "iperf3's server" : "the transfer's receiver"} runs on the node that has the address — name that node, or use one of its addresses`);
          return false;
        }
        return true;
      }
      const known = [...namesOf('guest'), ...namesOf('host'), ...namesOf('switch'), ...namesOf('router')];
      const routers = namesOf('router').length > 0;
      const kinds = routers ? 'guest, host, router or switch' : 'guest, host or switch';
      err(path, k ? `"${n}" is a ${k}; checks run between ${routers ? 'guests, hosts, routers or switches' : 'guests, hosts or switches'}${literalOk ? ' (or to a literal address)' : ''}` : `unknown ${kinds} "${n}"${suggest(n, known)}; known: ${known.join(', ') || 'none'}${literalOk ? ', or a literal address' : ''}`);
      return false;
    };
    const fOk = froms.map((f, i) => endpointOk(f, 'from', i, false));
    const tOk = tos.map((x, i) => endpointOk(x, 'to', i, true));
    const multi = froms.length * tos.length > 1;
    froms.forEach((f, fi) =>
      tos.forEach((to, ti) => {
        if (!fOk[fi] || !tOk[ti]) return;
        if (f === to) {
          if (!multi) err([...p, 'to'], `from and to are both "${f}"; a check needs two different endpoints`);
          return;
        }
        const ff = addrFamilies(f);
        const tf = addrFamilies(to);
        let fam: Family | undefined = body.family;
        const both = (x: Family) => ff.has(x) && tf.has(x);
        if (!fam) fam = both('ipv4') ? 'ipv4' : both('ipv6') ? 'ipv6' : undefined;
        if (!fam || !both(fam)) {
          const lacking = [[f, ff] as const, [to, tf] as const].filter(([, s]) => (fam ? !s.has(fam) : s.size === 0)).map(([n]) => `"${n}"`);
          const famPath: Path = body.family ? [...p, 'family'] : [...p, lacking.includes(`"${f}"`) ? 'from' : 'to'];
          err(
            famPath,
            fam
              ? `${lacking.join(' and ')} ha${lacking.length > 1 ? 've' : 's'} no ${fam} address; add one (addresses) or use the other family`
              : lacking.length
                ? `${lacking.join(' and ')} ha${lacking.length > 1 ? 've' : 's'} no addresses, which this check needs; add addresses`
                : `"${f}" and "${to}" have no address family in common; give both an ipv4 or both an ipv6 address`,
          );
          return;
        }
        const base = prefix + (c.name && !multi ? c.name : c.name ? `${c.name} ${f}→${to}` : `${kind} ${f}→${to}${body.family ? ` ${fam}` : ''}`);
        const name = c.name && !multi && !prefix ? base : uniqueName(base, usedNames);
        pairs.push({ index: ci, ...(inner !== undefined ? { inner } : {}), kind, from: f, to, family: fam, name });
      }),
    );
  }
  const traffic = new Map<string, CheckPair>();
  const wrappers = new Set(captures.map((c) => c.index));
  for (const pr of pairs) if (!wrappers.has(pr.index) && pr.inner === undefined) traffic.set(pr.name, pr);
  const actions = new Set(opts.actions ?? []);
  for (const cap of captures) {
    const explicit = checks.findIndex((c) => c.name === cap.during);
    if (traffic.has(cap.during) || actions.has(cap.during)) continue;
    const capKind = CHECK_KINDS.find((k) => checks[cap.index]![k] !== undefined)!;
    const path: Path = ['checks', cap.index, capKind, 'during'];
    if (explicit >= 0 && wrappers.has(explicit)) err(path, `"${cap.during}" is itself measured during another check; "during" names a check that runs on its own (ping, iperf, mtu, transfer, impair…)`);
    else if (explicit >= 0) err(path, `check "${cap.during}" expands into several checks (lists in from/to); name one of: ${pairs.filter((x) => x.index === explicit).map((x) => `"${x.name}"`).join(', ')}`);
    else {
      const known = [...traffic.keys(), ...actions];
      err(path, `unknown check "${cap.during}"${suggest(cap.during, known)}; ${actions.size ? 'checks and actions of this group' : 'checks'}: ${known.map((n) => `"${n}"`).join(', ') || 'none'}`);
    }
  }
  // Tunnel ends on one host that the kernel could not tell apart (semantic-conflicts.ts).
  problems.push(...tunnelConflicts(r, tunnelDecisions, ifaceNetwork, loc));
  problems.push(...ovsRules(r, loc, tunnelDecisions, ifaceNetwork));
  const ovn = analyzeOvn(r, { err, kindOf, networks, ifaceNetwork, tunnelSwitches: tunnels.map((t, ti) => (tunnelDecisions[ti] && !tunnelDecisions[ti]!.routed ? [...t.between] : undefined)) });
  return { problems, networks, ifaceNetwork, tunnels: tunnelDecisions, checks: pairs, kindOf, routerIfaceNetwork, ...(ovn ? { ovn } : {}) };
}

function uniqueName(base: string, used: Set<string>): string {
  let name = base;
  for (let i = 2; used.has(name); i++) name = `${base} #${i}`;
  used.add(name);
  return name;
}
