/**
 * Raw (schema-valid, semantically checked) recipe → the resolved Lab model: namespaces, interface
 * names, tunnel end addresses, filled-in defaults, unit conversions. Interface names that had to
 * be shortened are reported as warnings; names that still clash in one namespace are errors.
 */
import type { Problem } from '../errors.js';
import { guestMtuWarnings } from '../ovs/mtu.js';
import type { Check, Guest, Host, HostPlacement, ImpairCheck, ImpairTarget, Lab, LinkImpairment, Network, Switch, Tunnel, TunnelEnd, GeneveOption, OvsTunnelParams } from '../model/types.js';
import { safeIfname, hostNs, networkNs, nsPrefix, labTag } from '../model/names.js';
import { resolveLink } from '../checks/nodes.js';
import { parseCidr } from './addr.js';
import type { Locator, Path } from './locate.js';
import { parseRate, type RawCheck, type RawHost, type RawImpairment, type RawInnerCheck, type RawRecipe, type RawTunnel } from './schema.js';
import { dirname, resolve as resolvePath } from 'node:path';
import type { Analysis, CheckPair } from './semantic.js';
import { applyEndOverrides, resolveSwitchPrograms } from './resolve-ovs.js';
import { logGates, lookModelProblems, resolveCounter, resolveLog, resolveState, resolveTransfer, type LabParts } from './resolve-checks.js';
import { hostRoutes, resolveRouters, tuningOf } from './resolve-routers.js';
import { resolveOvn, resolveOvnCheck } from './resolve-ovn.js';
import { resolveIpsec } from './resolve-ipsec.js';

export const OVN_OPTION_CLASS = 0x0102;
export const OVN_OPTION_TYPE = 0x80;

/** `gates: false` when resolving a list of step checks (the log gates belong to the lab's own checks). */
export function resolveLab(r: RawRecipe, a: Analysis, loc: Locator, source: string, opts: { gates?: boolean } = {}): { lab: Lab; problems: Problem[] } {
  const problems: Problem[] = [];
  const lab = r.lab;
  /** safeIfname plus a warning when the name had to change. */
  const ifn = (name: string, path: Path, what: string) => {
    const safe = safeIfname(name);
    if (safe !== name) problems.push(loc.problem(path, `interface name for ${what} "${name}" is longer than 15 bytes; using "${safe}"`, 'warning'));
    return safe;
  };
  // Interface names per namespace, to catch clashes after shortening.
  const taken = new Map<string, Map<string, string>>();
  const claim = (ns: string, name: string, owner: string, path: Path) => {
    const m = taken.get(ns) ?? new Map<string, string>();
    taken.set(ns, m);
    const prev = m.get(name);
    if (prev) problems.push(loc.problem(path, `interface name "${name}" of ${owner} clashes with ${prev} in namespace ${ns}; rename one of them (or set ifname)`));
    else m.set(name, owner);
  };

  const networks: Network[] = a.networks.map((n) => {
    const ns = networkNs(lab, n.name);
    claim(ns, 'br0', `the bridge of network "${n.name}"`, r.networks ? ['networks', r.networks.findIndex((x) => x.name === n.name)] : []);
    const impair = r.networks?.find((x) => x.name === n.name)?.impair;
    return { name: n.name, mtu: n.mtu, ns, bridge: 'br0', ...(impair ? { impair: impairment(impair) } : {}) };
  });
  const netMtu = (name: string) => networks.find((n) => n.name === name)?.mtu ?? 1500;

  const hosts: Host[] = (r.hosts ?? []).map((h, hi) => {
    const ns = hostNs(lab, h.name);
    claim(ns, 'lo', 'loopback', ['hosts', hi]);
    const interfaces = (h.interfaces ?? []).map((f, fi) => {
      const p: Path = ['hosts', hi, 'interfaces', fi];
      const network = a.ifaceNetwork[hi]![fi]!;
      const ifname = f.ifname ?? ifn(network, [...p, 'network'], `network`);
      claim(ns, ifname, `host "${h.name}" interface on "${network}"`, f.ifname ? [...p, 'ifname'] : p);
      const peerIfname = ifn(h.name, ['hosts', hi, 'name'], 'host');
      claim(networkNs(lab, network), peerIfname, `the port of host "${h.name}"`, ['hosts', hi, 'name']);
      const addresses = [f.ipv4, f.ipv6].filter((x): x is string => !!x);
      const tuning = tuningOf(f);
      return { network, ifname, peerIfname, addresses, mtu: f.mtu ?? netMtu(network), ...(f.mac ? { mac: f.mac.toLowerCase() } : {}), ...(f.impair ? { impair: impairment(f.impair) } : {}), ...(tuning ? { tuning } : {}) };
    });
    const host: Host = { name: h.name, ns, placement: placement(h.ssh, source), interfaces };
    if (h.ovs) host.ovs = { datapath: h.ovs.datapath ?? 'auto', ...(h.ovs.db !== undefined ? { db: h.ovs.db } : {}) };
    return host;
  });
  const hostByName = new Map(hosts.map((h) => [h.name, h]));
  const routers = resolveRouters(r, a, netMtu, claim, ifn);
  // On an SSH host the lab's links live in the machine's own namespace, next to the owner's:
  // they get the lab name as a prefix (still at most 15 bytes) so they never clash with the
  // machine's links or another lab's, and are recognisable as the lab's.
  const onSsh = (host: string) => hostByName.get(host)?.placement.kind === 'ssh';
  const remoteIfname = (name: string) => safeIfname(`${lab}-${name}`);

  const switches: Switch[] = (r.switches ?? []).map((s, si) => {
    const ifname = onSsh(s.host) ? remoteIfname(s.name) : ifn(s.name, ['switches', si, 'name'], 'switch');
    claim(hostNs(lab, s.host), ifname, `switch "${s.name}"`, ['switches', si, 'name']);
    const sw: Switch = { name: s.name, host: s.host, kind: s.kind ?? 'bridge', ifname, addresses: s.addresses ?? [] };
    if (s.mtu !== undefined) sw.mtu = s.mtu;
    const swTuning = tuningOf(s);
    if (swTuning) sw.tuning = swTuning;
    if (sw.kind === 'ovs') {
      const hostDp = (r.hosts ?? []).find((h) => h.name === s.host)?.ovs?.datapath;
      const dp = s.datapath ?? (hostDp === 'system' || hostDp === 'netdev' ? hostDp : undefined);
      if (dp) sw.datapath = dp;
    }
    return sw;
  });
  const switchByName = new Map(switches.map((s) => [s.name, s]));

  const guests: Guest[] = (r.guests ?? []).map((g, gi) => {
    const sw = switchByName.get(g.switch)!;
    const ns = hostNs(lab, g.name);
    const ifname = g.ifname ?? 'eth0';
    claim(ns, 'lo', 'loopback', ['guests', gi]);
    claim(ns, ifname, `guest "${g.name}"`, ['guests', gi, ...(g.ifname ? ['ifname'] : [])]);
    const peerIfname = onSsh(sw.host) ? remoteIfname(g.name) : ifn(g.name, ['guests', gi, 'name'], 'guest');
    claim(hostNs(lab, sw.host), peerIfname, `the port of guest "${g.name}"`, ['guests', gi, 'name']);
    const guest: Guest = {
      name: g.name,
      ns,
      switch: g.switch,
      host: sw.host,
      ifname,
      peerIfname,
      addresses: g.addresses ?? [],
      offload: { ...(g.offload ?? {}) },
      routes: (g.routes ?? []).map((rt) => ({ to: rt.to, ...(rt.via ? { via: rt.via } : {}), ...(rt.dev ? { dev: rt.dev } : {}) })),
    };
    if (g.mtu !== undefined) guest.mtu = g.mtu;
    if (g.mac !== undefined) guest.mac = g.mac.toLowerCase();
    if (g.impair !== undefined) guest.impair = impairment(g.impair);
    const gTuning = tuningOf(g);
    if (gTuning) guest.tuning = gTuning;
    return guest;
  });

  const tunnels: Tunnel[] = [];
  const sharedPorts = new Set<string>();
  (r.tunnels ?? []).forEach((t, ti) => {
    const d = a.tunnels[ti];
    if (!d) return;
    const ifname = ifn(t.name, ['tunnels', ti, 'name'], 'tunnel');
    // A routed or overlay underlay was decided per end (semantic-routing.ts); else both are on d.network.
    const underlay = d.underlay?.addresses ?? d.hosts.map((h) => {
      const iface = hostByName.get(h)!.interfaces.find((f) => f.network === d.network)!;
      const addr = iface.addresses.map((x) => parseCidr(x)!).find((c) => c.family === d.family)!;
      return addr.address;
    });
    const ends = d.hosts.map((host, i): TunnelEnd => {
      // `ends: { X: { port: P } }`: the end uses OVS port P, which other tunnels' ends may share.
      const port = t.ends?.[t.between[i]!]?.port;
      const endIfname = port !== undefined ? (onSsh(host) ? remoteIfname(port) : port) : onSsh(host) ? remoteIfname(t.name) : ifname;
      if (port === undefined || !sharedPorts.has(`${host}/${endIfname}`)) claim(hostNs(lab, host), endIfname, port !== undefined ? `OVS port "${port}"` : `tunnel "${t.name}"`, port !== undefined ? ['tunnels', ti, 'ends', t.between[i]!, 'port'] : ['tunnels', ti, 'name']);
      if (port !== undefined) sharedPorts.add(`${host}/${endIfname}`);
      const end: TunnelEnd = {
        attach: { kind: d.routed ? 'host' : 'switch', name: t.between[i]! },
        host,
        impl: d.impls[i]!,
        ifname: endIfname,
        local: underlay[i]!,
        remote: underlay[1 - i]!,
      };
      if (d.routed && t.addresses?.[i]) end.address = t.addresses[i];
      if (d.underlay?.kind === 'routed') end.network = d.underlay.networks[i]!;
      return end;
    }) as [TunnelEnd, TunnelEnd];
    applyEndOverrides(t, ends);
    const type = t.type ?? 'geneve';
    const tunnel: Tunnel = { name: t.name, type, family: d.family, network: d.network, ends, options: options(t) };
    if (t.mtu !== undefined) tunnel.mtu = t.mtu;
    if (type === 'geneve') tunnel.geneve = pick(t, ['vni', 'dstport', 'ttl', 'tos', 'df', 'flowlabel', 'udpcsum', 'udp6zerocsumtx', 'udp6zerocsumrx', 'external', 'innerprotoinherit', 'srcport']);
    else if (type === 'vxlan') tunnel.vxlan = pick(t, ['vni', 'dstport', 'ttl', 'tos', 'df', 'flowlabel', 'udpcsum', 'udp6zerocsumtx', 'udp6zerocsumrx', 'external', 'learning', 'srcport']);
    else tunnel.gre = pick(t, ['key', 'ttl', 'tos']);
    if (t.ovs) tunnel.ovs = ovsParams(t.ovs);
    if (d.underlay) tunnel.underlay = d.underlay.kind;
    const tTuning = tuningOf(t);
    if (tTuning) tunnel.tuning = tTuning;
    const ipsec = resolveIpsec(t);
    if (ipsec) tunnel.ipsec = ipsec;
    tunnels.push(tunnel);
  });

  resolveSwitchPrograms(r, { switches, guests, tunnels }, loc, problems);

  // Host routes last: a route's dev may name a switch or a tunnel of the host.
  (r.hosts ?? []).forEach((h, hi) => {
    if (!h.routes?.length) return;
    const host = hosts[hi]!;
    host.routes = hostRoutes(h.routes, {
      interfaces: host.interfaces,
      switches: switches.filter((s) => s.host === host.name),
      tunnels: tunnels.flatMap((t) => t.ends.filter((e) => e.host === host.name).map((e) => ({ name: t.name, ifname: e.ifname }))),
    });
  });

  // Everything but the checks: the checks that look resolve names against it (resolve-checks.ts).
  const parts: LabParts = { name: lab, nsPrefix: nsPrefix(lab), tag: labTag(lab), source, networks, hosts, switches, guests, tunnels, ...(routers.length ? { routers } : {}) };
  const buildCheck = (pr: CheckPair, c: RawCheck | RawInnerCheck): Check => {
    switch (pr.kind) {
      case 'state':
        return resolveState(pr.name, (c as RawCheck).state!, parts);
      case 'counter':
        return resolveCounter(pr.name, (c as RawCheck).counter!, parts);
      case 'log':
        return resolveLog(pr.name, (c as RawCheck).log!, parts);
      case 'transfer':
        return resolveTransfer(pr, (c as RawCheck).transfer!);
      case 'ping': {
        const b = c.ping!;
        const count = b.count ?? 3;
        const interval = b.interval ?? 0.2;
        return {
          kind: 'ping', name: pr.name, from: pr.from, to: pr.to, family: pr.family,
          count, size: b.size ?? 56, df: b.df ?? false,
          intervalMs: Math.round(interval * 1000),
          deadlineS: b.deadline ?? Math.max(5, Math.ceil(count * interval + 3)),
          expect: b.expect ?? 'reachable', maxLossPct: b.max_loss ?? 0,
          ...(b.tos !== undefined ? { tos: b.tos } : {}),
          ...(b.ttl !== undefined ? { ttl: b.ttl } : {}),
          ...(b.pmtu !== undefined ? { pmtu: b.pmtu } : {}),
          // -I takes an interface name (resolved from recipe names in the from node) or an address.
          ...(b.interface !== undefined ? { source: resolveLink({ ...parts, checks: [], warnings: [] }, pr.from, b.interface) ?? b.interface } : {}),
          ...(b.source !== undefined ? { source: b.source } : {}),
        };
      }
      case 'iperf': {
        const b = c.iperf!;
        const chk: Check = {
          kind: 'iperf', name: pr.name, from: pr.from, to: pr.to, family: pr.family,
          protocol: b.protocol ?? 'tcp', durationS: b.duration ?? 5, parallel: b.parallel ?? 1, reverse: b.reverse ?? false,
        };
        if (b.bitrate !== undefined) chk.bitrate = String(b.bitrate);
        if (b.min !== undefined) chk.minBps = parseRate(b.min)!;
        if (b.max_loss !== undefined) chk.maxLossPct = b.max_loss;
        if (b.min_ratio !== undefined) chk.minRatio = b.min_ratio;
        return chk;
      }
      case 'mtu': {
        const b = c.mtu!;
        const chk: Check = { kind: 'mtu', name: pr.name, from: pr.from, to: pr.to, family: pr.family };
        if (b.expect !== undefined) chk.expectMtu = b.expect;
        if (b.refused !== undefined) chk.refused = b.refused;
        return chk;
      }
      case 'impair': {
        const b = (c as RawCheck).impair!;
        const then = a.checks
          .filter((x) => x.index === pr.index && x.inner !== undefined)
          .map((x) => buildCheck(x, (c as RawCheck).then![x.inner!]!) as ImpairCheck['then'][number]);
        return { kind: 'impair', name: pr.name, on: impairTargets(b.on), impairment: impairment(b), then };
      }
      case 'capture': {
        const b = (c as RawCheck).capture!;
        const host = hostByName.get(b.host);
        // "interface" names a network (the host's interface on it) or is a literal ifname.
        const onNet = (host?.interfaces ?? routers.find((x) => x.name === b.host)?.interfaces)?.find((f) => f.network === b.interface);
        const ifname = onNet?.ifname ?? resolveLink({ ...parts, checks: [], warnings: [] }, b.host, b.interface) ?? b.interface;
        return {
          kind: 'capture', name: pr.name, host: b.host, ifname, during: b.during, expect: b.expect ?? {}, atLeast: b.at_least ?? 1,
          ...(b.match !== undefined ? { match: b.match } : {}),
          ...(b.packets !== undefined ? { packets: b.packets } : {}),
          ...(b.forbid ? { forbid: b.forbid } : {}),
        };
      }
      case 'ovn':
        return resolveOvnCheck(pr.name, c as RawCheck);
    }
  };
  /** The links an impair step changes (semantic.ts checked the references). */
  const impairTargets = (on: NonNullable<RawCheck['impair']>['on']): ImpairTarget[] => {
    if (on.guest !== undefined) {
      const g = guests.find((x) => x.name === on.guest)!;
      return [{ what: `guest "${g.name}"`, host: g.host, ns: g.ns, dev: g.ifname, ...(g.impair ? { restore: g.impair } : {}) }];
    }
    if (on.network !== undefined) {
      const n = networks.find((x) => x.name === on.network)!;
      return [
        ...hosts.flatMap((h) => h.interfaces.filter((f) => f.network === n.name).map((f) => ({ what: `network "${n.name}" port of host "${h.name}"`, host: h.name, ns: n.ns, dev: f.peerIfname, ...(n.impair ? { restore: n.impair } : {}) }))),
        // Routers' ports too: a packet a router sends onto the network crosses only its own port.
        ...routers.flatMap((rt) => rt.interfaces.filter((f) => f.network === n.name).map((f) => ({ what: `network "${n.name}" port of router "${rt.name}"`, ns: n.ns, dev: f.peerIfname, ...(n.impair ? { restore: n.impair } : {}) }))),
      ];
    }
    const h = hostByName.get(on.host!)!;
    const f = on.interface === undefined ? h.interfaces[0]! : (h.interfaces.find((x) => x.network === on.interface) ?? h.interfaces.find((x) => x.ifname === on.interface)!);
    return [{ what: `host "${h.name}" interface "${f.ifname}"`, host: h.name, ns: h.ns, dev: f.ifname, ...(f.impair ? { restore: f.impair } : {}) }];
  };
  const checks: Check[] = a.checks.filter((pr) => pr.inner === undefined).map((pr) => buildCheck(pr, (r.checks ?? [])[pr.index]!));
  // The vswitchd log gate of every host running the lab's own OVS, last (resolve-checks.ts).
  const checkNames = new Set(checks.map((c) => c.name));
  if (opts.gates !== false) checks.push(...logGates(r, parts, checks, (base) => {
    let n = base;
    for (let i = 2; checkNames.has(n); i++) n = `${base} #${i}`;
    checkNames.add(n);
    return n;
  }));
  problems.push(...lookModelProblems(r, parts, loc));

  // A guest MTU set in the recipe that its tunnel cannot carry (the message names both numbers).
  for (const w of guestMtuWarnings({ networks, hosts, guests, tunnels })) {
    const gi = (r.guests ?? []).findIndex((g) => g.name === w.guest);
    problems.push(loc.problem(['guests', gi, 'mtu'], w.message, 'warning'));
  }
  const warnings = problems.filter((p) => p.severity === 'warning').map((p) => `${p.path}: ${p.message}`);
  // OVN: the control plane, and the MACs/MTUs its bound guests need when the recipe leaves them out.
  const ovn = a.ovn ? resolveOvn(r, a.ovn, { name: lab, networks, hosts, switches, guests }) : undefined;
  const out: Lab = { ...parts, ...(ovn ? { guests: ovn.guests, ovn: ovn.ovn } : {}), checks, warnings };
  if (r.description !== undefined) out.description = r.description;
  return { lab: out, problems };
}

/** Recipe units → model units (ms, %, bits per second). */
function impairment(i: RawImpairment): LinkImpairment {
  const out: LinkImpairment = {};
  if (i.delay !== undefined) out.delayMs = i.delay;
  if (i.jitter !== undefined) out.jitterMs = i.jitter;
  if (i.loss !== undefined) out.lossPct = i.loss;
  if (i.rate !== undefined) out.rate = parseRate(i.rate)!;
  return out;
}

/** Where the host runs; key and known_hosts paths are relative to the recipe's directory. */
function placement(ssh: RawHost['ssh'], source: string): HostPlacement {
  if (ssh === undefined) return { kind: 'netns' };
  if (typeof ssh === 'string') return { kind: 'ssh', target: ssh };
  const p: HostPlacement = { kind: 'ssh', target: ssh.target };
  const rel = (f: string) => resolvePath(dirname(source), f);
  if (ssh.port !== undefined) p.port = ssh.port;
  if (ssh.identity !== undefined) p.identity = rel(ssh.identity);
  if (ssh.jump !== undefined) p.jump = ssh.jump;
  if (ssh.known_hosts !== undefined) p.knownHosts = rel(ssh.known_hosts);
  return p;
}

function pick<K extends keyof RawTunnel>(t: RawTunnel, keys: K[]): Pick<RawTunnel, K> {
  const out = {} as Pick<RawTunnel, K>;
  for (const k of keys) if (t[k] !== undefined) out[k] = t[k];
  return out;
}

function options(t: RawTunnel): GeneveOption[] {
  const out: GeneveOption[] = (t.options ?? []).map((o) => ({ class: o.class, type: o.type, data: (o.data ?? '').replace(/^0x/i, '').toLowerCase() }));
  if (t.ovn) {
    const v = ((t.ovn.ingress << 16) | t.ovn.egress) >>> 0;
    out.push({ class: OVN_OPTION_CLASS, type: OVN_OPTION_TYPE, data: v.toString(16).padStart(8, '0'), ovn: true });
  }
  return out;
}

function ovsParams(o: NonNullable<RawTunnel['ovs']>): OvsTunnelParams {
  const out: OvsTunnelParams = {};
  if (o.key !== undefined) out.key = o.key;
  if (o.in_key !== undefined) out.inKey = o.in_key;
  if (o.out_key !== undefined) out.outKey = o.out_key;
  if (o.remote_ip !== undefined) out.remoteIp = o.remote_ip;
  if (o.local_ip !== undefined) out.localIp = o.local_ip;
  if (o.df_default !== undefined) out.dfDefault = o.df_default;
  if (o.csum !== undefined) out.csum = o.csum;
  if (o.egress_pkt_mark !== undefined) out.egressPktMark = o.egress_pkt_mark;
  return out;
}
