/**
 * Cross-field rules of the `ovn:` section, the `ovn` check kind and the capture expectation
 * `ovn: {datapath, ingress, egress}`. Every problem is collected and located; the decisions
 * resolve-ovn.ts needs (central, chassis and their bindings, encapsulation family) are made once
 * here.
 */
import type { NodeKind } from './semantic-routing.js';
import type { Family } from '../model/types.js';
import { parseCidr } from './addr.js';
import { suggest, type Path } from './locate.js';
import type { RawRecipe } from './schema.js';
import type { RawOvn } from './schema-ovn.js';
import { OVN_EXPECT_KEY } from '../checks/capture-ovn.js';

export interface OvnBindingDecision {
  guest: string;
  port: string;
}

export interface OvnChassisDecision {
  host: string;
  encapIp: string;
  /** The OVS switch used as integration bridge; undefined = the lab adds `br-int`. */
  switch?: string;
  bindings: OvnBindingDecision[];
}

export interface OvnDecision {
  network: string;
  family: Family;
  central: { host?: string; address?: string };
  chassis: OvnChassisDecision[];
  /** Logical port name → its datapath (switch or router) name. */
  portDatapath: Map<string, string>;
}

interface Context {
  err: (path: Path, msg: string) => void;
  kindOf: Map<string, NodeKind>;
  networks: { name: string }[];
  ifaceNetwork: string[][];
  /** Per tunnel (recipe order): its decided ends' switches, when it is an L2 tunnel. */
  tunnelSwitches: (string[] | undefined)[];
}

/** The name of the reserved namespace/host name a central without a host gets. */
export const OVN_CENTRAL_NAME = 'ovn-central';

/** Default router port name and its peer switch port's name. */
export const routerPortName = (router: string, sw: string) => `${router}-${sw}`;
export const routerSwitchPortName = (router: string, sw: string) => `${sw}-${router}`;

/** The name and guest of a switch port as written (a string is a guest name). */
export function switchPortOf(p: NonNullable<NonNullable<RawOvn['switches']>[number]['ports']>[number]): { name?: string; guest?: string } {
  return typeof p === 'string' ? { name: p, guest: p } : { ...(p.name !== undefined ? { name: p.name } : {}), ...(p.guest !== undefined ? { guest: p.guest } : {}) };
}

export function analyzeOvn(r: RawRecipe, c: Context): OvnDecision | undefined {
  const { err, kindOf } = c;
  const o = r.ovn;
  const checks = r.checks ?? [];
  // Checks that need an OVN section.
  checks.forEach((chk, ci) => {
    if (chk.ovn !== undefined && !o) err(['checks', ci, 'ovn'], 'an ovn check reads the lab\'s OVN databases, and this recipe has no ovn: section; add one (see docs/recipes.md, "OVN")');
    const exp = chk.capture?.expect as Record<string, unknown> | undefined;
    if (exp && OVN_EXPECT_KEY in exp && !o) err(['checks', ci, 'capture', 'expect', OVN_EXPECT_KEY], 'expect.ovn names OVN logical objects, and this recipe has no ovn: section; use geneve.vni / geneve.ovn with numbers, or add an ovn: section');
  });
  if (!o) return undefined;
  const hosts = r.hosts ?? [];
  const guests = r.guests ?? [];
  const switches = r.switches ?? [];
  const hostIdx = (n: string) => hosts.findIndex((h) => h.name === n);
  const isHost = (n: string, p: Path) => {
    const k = kindOf.get(n);
    if (k === 'host') return true;
    const known = [...kindOf].filter(([, x]) => x === 'host').map(([x]) => x);
    err(p, k ? `"${n}" is a ${k}, not a host; known hosts: ${known.join(', ')}` : `unknown host "${n}"${suggest(n, known)}; known hosts: ${known.join(', ') || 'none'}`);
    return false;
  };
  const simulated = (n: string, p: Path, role: string) => {
    if (hosts[hostIdx(n)]?.ssh === undefined) return true;
    err(p, `host "${n}" is an SSH host; OVN ${role}s run only on simulated hosts (geneve-lab starts ovn-controller and the databases inside a host's namespace)`);
    return false;
  };

  // ---- the underlay network OVN uses
  let network = o.network;
  if (network !== undefined) {
    if (kindOf.get(network) !== 'network') {
      const known = c.networks.map((n) => n.name);
      err(['ovn', 'network'], `unknown network "${network}"${suggest(network, known)}; networks: ${known.join(', ')}`);
      return undefined;
    }
  } else if (c.networks.length === 1) network = c.networks[0]!.name;
  else {
    err(['ovn'], `ovn.network is needed: there are ${c.networks.length} networks (${c.networks.map((n) => n.name).join(', ')}); name the one OVN encapsulates over`);
    return undefined;
  }
  const net = network;
  const addrOf = (host: string, fam: Family) => {
    const hi = hostIdx(host);
    const fi = c.ifaceNetwork[hi]?.indexOf(net) ?? -1;
    if (fi < 0) return undefined;
    const f = hosts[hi]!.interfaces![fi]!;
    const a = fam === 'ipv4' ? f.ipv4 : f.ipv6;
    return a ? parseCidr(a)?.address : undefined;
  };

  // ---- logical objects: names, ports, bindings
  const datapaths = new Map<string, Path>();
  const portDatapath = new Map<string, string>();
  const portAt = new Map<string, Path>();
  const declarePort = (name: string, dp: string, p: Path) => {
    const prev = portAt.get(name);
    if (prev) err(p, `logical port "${name}" already exists (${prev.join('.')}); port names are unique across all logical switches and routers (they name Port_Bindings in the SB)`);
    else {
      portAt.set(name, p);
      portDatapath.set(name, dp);
    }
  };
  const declareDp = (name: string, p: Path) => {
    if (datapaths.has(name)) err(p, `"${name}" is already a logical switch or router; datapath names are unique (captures name them)`);
    else datapaths.set(name, p);
  };
  const boundGuest = new Map<string, { port: string; path: Path }>();
  (o.switches ?? []).forEach((ls, si) => {
    const sp: Path = ['ovn', 'switches', si];
    declareDp(ls.name, [...sp, 'name']);
    (ls.ports ?? []).forEach((raw, pi) => {
      const pp: Path = [...sp, 'ports', pi];
      const { name, guest } = switchPortOf(raw);
      const portName = name ?? guest;
      if (!portName) {
        err(pp, 'a port needs a guest or a name: e.g. vm1, { guest: vm1 } or { name: lsp1, addresses: [unknown] }');
        return;
      }
      declarePort(portName, ls.name, typeof raw === 'string' ? pp : [...pp, raw.name !== undefined ? 'name' : 'guest']);
      if (guest !== undefined) {
        const gpath: Path = typeof raw === 'string' ? pp : [...pp, 'guest'];
        const k = kindOf.get(guest);
        if (k !== 'guest') {
          const known = [...kindOf].filter(([, x]) => x === 'guest').map(([x]) => x);
          err(gpath, `${typeof raw === 'string' ? 'a port written as a name binds the guest of that name, and ' : ''}${k ? `"${guest}" is a ${k}, not a guest` : `there is no guest "${guest}"${suggest(guest, known)}`}; guests: ${known.join(', ') || 'none'}${typeof raw === 'string' ? ' (a port without a guest is written { name, addresses })' : ''}`);
          return;
        }
        const prev = boundGuest.get(guest);
        if (prev) err(gpath, `guest "${guest}" is already bound to logical port "${prev.port}"; a guest's OVS port has one iface-id`);
        else boundGuest.set(guest, { port: portName, path: gpath });
        const g = guests.find((x) => x.name === guest)!;
        const sw = switches.find((s) => s.name === g.switch);
        if (sw && (sw.kind ?? 'bridge') !== 'ovs') err(gpath, `guest "${guest}" is on switch "${sw.name}", a Linux bridge; a guest bound to an OVN port must be on an OVS switch (kind: ovs), which becomes the chassis' integration bridge`);
      }
      if (typeof raw !== 'string') {
        if (raw.port_security === true && raw.addresses?.some((a) => a === 'unknown' || a === 'dynamic' || a === 'router'))
          err([...pp, 'port_security'], `port_security: true copies the port's addresses, and "${raw.addresses.find((a) => ['unknown', 'dynamic', 'router'].includes(a))}" is not an address; list the allowed addresses instead`);
        if (guest === undefined && raw.addresses === undefined) err(pp, `port "${portName}" has no guest, so its addresses must be given (e.g. addresses: [unknown] or ["02:00:00:00:00:09 192.0.2.9"])`);
        if (guest === undefined && raw.port_security === true) err([...pp, 'port_security'], 'port_security: true needs addresses to copy; give them or list the port-security values');
      }
    });
  });
  (o.routers ?? []).forEach((lr, ri) => {
    const rp: Path = ['ovn', 'routers', ri];
    declareDp(lr.name, [...rp, 'name']);
    const onSwitch = new Set<string>();
    (lr.ports ?? []).forEach((p, pi) => {
      const pp: Path = [...rp, 'ports', pi];
      const ls = (o.switches ?? []).find((x) => x.name === p.switch);
      if (!ls) {
        const known = (o.switches ?? []).map((x) => x.name);
        err([...pp, 'switch'], `unknown logical switch "${p.switch}"${suggest(p.switch, known)}; logical switches: ${known.join(', ') || 'none'}`);
        return;
      }
      if (onSwitch.has(p.switch)) err([...pp, 'switch'], `router "${lr.name}" already has a port on logical switch "${p.switch}"; one port per switch`);
      onSwitch.add(p.switch);
      declarePort(p.name ?? routerPortName(lr.name, p.switch), lr.name, [...pp, p.name !== undefined ? 'name' : 'switch']);
      declarePort(routerSwitchPortName(lr.name, p.switch), p.switch, [...pp, 'switch']);
    });
  });
  (o.acls ?? []).forEach((a, ai) => {
    if (!(o.switches ?? []).some((x) => x.name === a.switch)) {
      const known = (o.switches ?? []).map((x) => x.name);
      err(['ovn', 'acls', ai, 'switch'], `unknown logical switch "${a.switch}"${suggest(a.switch, known)}; logical switches: ${known.join(', ') || 'none'}`);
    }
  });

  // ---- chassis: listed, or the hosts of bound guests
  const hostOfGuest = (g: string) => switches.find((s) => s.name === guests.find((x) => x.name === g)?.switch)?.host;
  const listed = o.chassis;
  const chassisHosts: string[] = [];
  if (listed) {
    listed.forEach((h, i) => {
      if (chassisHosts.includes(h)) err(['ovn', 'chassis', i], `host "${h}" is listed twice`);
      else if (isHost(h, ['ovn', 'chassis', i]) && simulated(h, ['ovn', 'chassis', i], 'chassis')) chassisHosts.push(h);
    });
    for (const [g, b] of boundGuest) {
      const h = hostOfGuest(g);
      if (h && !listed.includes(h)) err(b.path, `guest "${g}" is bound to logical port "${b.port}", but its host "${h}" is not in ovn.chassis; add "${h}" there (or leave ovn.chassis out: then every host with a bound guest is a chassis)`);
    }
  } else {
    for (const h of hosts) if ([...boundGuest.keys()].some((g) => hostOfGuest(g) === h.name) && simulated(h.name, ['ovn'], 'chassis')) chassisHosts.push(h.name);
  }

  // ---- encapsulation family: the one every chassis (and a central with a host) has on the network
  const central = o.central;
  const centralOk = central !== undefined ? isHost(central, ['ovn', 'central']) && simulated(central, ['ovn', 'central'], 'central') : true;
  if (central === undefined && kindOf.has(OVN_CENTRAL_NAME))
    err(['ovn'], `"${OVN_CENTRAL_NAME}" is the name of the namespace geneve-lab makes for the OVN central when ovn.central is not set; rename that ${kindOf.get(OVN_CENTRAL_NAME)} or set ovn.central`);
  const needAddr = [...chassisHosts, ...(central !== undefined && centralOk ? [central] : [])];
  const fam: Family | undefined = (['ipv4', 'ipv6'] as const).find((f) => needAddr.every((h) => addrOf(h, f)));
  if (!fam) {
    for (const h of needAddr)
      if (!addrOf(h, 'ipv4') && !addrOf(h, 'ipv6')) {
        const p: Path = h === central ? ['ovn', 'central'] : listed ? ['ovn', 'chassis', listed.indexOf(h)] : ['hosts', hostIdx(h), 'name'];
        err(p, `host "${h}" has no address on network "${net}", which OVN uses (${h === central ? 'the chassis reach the SB database there' : 'its Geneve tunnels start there: ovn-encap-ip'}); attach it to "${net}" or set ovn.network`);
      }
    if (needAddr.every((h) => addrOf(h, 'ipv4') || addrOf(h, 'ipv6'))) err(['ovn'], `the OVN hosts (${needAddr.join(', ')}) have no address family in common on network "${net}"; give all of them an ipv4 (or all an ipv6) address there`);
    return undefined;
  }

  // ---- each chassis' integration bridge: the OVS switch of its bound guests
  const chassis: OvnChassisDecision[] = [];
  for (const h of chassisHosts) {
    const bindings = [...boundGuest].filter(([g]) => hostOfGuest(g) === h).map(([guest, b]) => ({ guest, port: b.port }));
    const bridges = [...new Set(bindings.map((b) => guests.find((g) => g.name === b.guest)!.switch))];
    const cp: Path = listed ? ['ovn', 'chassis', listed.indexOf(h)] : boundGuest.get(bindings[0]?.guest ?? '')?.path ?? ['ovn'];
    let sw: string | undefined;
    if (bridges.length > 1) {
      err(cp, `chassis "${h}" has bound guests on several switches (${bridges.join(', ')}); ovn-controller has one integration bridge per chassis — put them on one OVS switch`);
      continue;
    } else if (bridges.length === 1) sw = bridges[0];
    else {
      const ovsSwitches = switches.filter((s) => s.host === h && (s.kind ?? 'bridge') === 'ovs');
      if (ovsSwitches.length > 1) {
        err(cp, `chassis "${h}" has several OVS switches (${ovsSwitches.map((s) => s.name).join(', ')}) and no bound guest to say which is the integration bridge; bind a guest on one of them`);
        continue;
      }
      sw = ovsSwitches[0]?.name;
    }
    chassis.push({ host: h, encapIp: addrOf(h, fam)!, ...(sw ? { switch: sw } : {}), bindings });
  }
  // ---- OVN makes the tunnels of its integration bridges; a recipe tunnel there would fight it
  const integration = new Set(chassis.map((x) => x.switch).filter((s): s is string => !!s));
  (r.tunnels ?? []).forEach((t, ti) => {
    const on = (c.tunnelSwitches[ti] ?? []).filter((s) => integration.has(s));
    if (on.length) err(['tunnels', ti, 'between'], `switch${on.length > 1 ? 'es' : ''} ${on.map((s) => `"${s}"`).join(', ')} ${on.length > 1 ? 'are' : 'is'} an OVN integration bridge, whose Geneve tunnels ovn-controller builds itself; remove tunnel "${t.name}" (OVN needs none)`);
  });

  // ---- captures that name OVN objects
  checks.forEach((chk, ci) => {
    const exp = chk.capture?.expect as Record<string, unknown> | undefined;
    if (!exp || !(OVN_EXPECT_KEY in exp)) return;
    const p: Path = ['checks', ci, 'capture', 'expect', OVN_EXPECT_KEY];
    const v = exp[OVN_EXPECT_KEY];
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      err(p, `must be a map { datapath, ingress, egress } of OVN names, e.g. { datapath: network1, ingress: vm1, egress: vm2 }, got ${JSON.stringify(v)}`);
      return;
    }
    const m = v as Record<string, unknown>;
    const extra = Object.keys(m).filter((k) => !['datapath', 'ingress', 'egress'].includes(k));
    if (extra.length) err(p, `unknown field(s) ${extra.join(', ')}; allowed: datapath (a logical switch or router), ingress, egress (logical ports)`);
    if (!['datapath', 'ingress', 'egress'].some((k) => m[k] !== undefined)) err(p, 'name at least one of datapath, ingress, egress');
    for (const k of ['geneve.vni', 'geneve.ovn'])
      if (k in exp || (k.split('.')[1]! in ((exp.geneve as Record<string, unknown> | undefined) ?? {})))
        err(p, `ovn sets ${k} from the SB database; remove ${k} (or ovn) from this expectation`);
    const dp = m.datapath;
    if (dp !== undefined) {
      if (typeof dp !== 'string' || !datapaths.has(dp)) err([...p, 'datapath'], `${JSON.stringify(dp)} is not a logical switch or router of this recipe${typeof dp === 'string' ? suggest(dp, datapaths.keys()) : ''}; known: ${[...datapaths.keys()].join(', ') || 'none'}`);
    }
    for (const role of ['ingress', 'egress'] as const) {
      const port = m[role];
      if (port === undefined) continue;
      if (typeof port !== 'string' || !portDatapath.has(port)) {
        err([...p, role], `${JSON.stringify(port)} is not a logical port of this recipe${typeof port === 'string' ? suggest(port, portDatapath.keys()) : ''}; known: ${[...portDatapath.keys()].join(', ') || 'none'}`);
        continue;
      }
      if (typeof dp === 'string' && datapaths.has(dp) && portDatapath.get(port) !== dp)
        err([...p, role], `port "${port}" is on ${portDatapath.get(port)}, not on ${dp}; port keys are only meaningful within their datapath`);
    }
  });

  return { network: net, family: fam, central: central !== undefined && centralOk ? { host: central, address: addrOf(central, fam)! } : {}, chassis, portDatapath };
}

/** Default name of an `ovn` check: what it asks. */
export function ovnCheckName(c: NonNullable<NonNullable<RawRecipe['checks']>[number]['ovn']>): string {
  if (c.tunnels) return 'ovn tunnels mesh';
  const [tool, args] = c.nbctl ? ['nbctl', c.nbctl] : c.sbctl ? ['sbctl', c.sbctl] : ['trace', c.trace ?? []];
  const text = `ovn ${tool} ${args.join(' ')}`;
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}
