/**
 * Cross-field rules for OVS switch programs and per-end tunnel parameters (`ends:`), run by
 * semantic.ts after its own tunnel decisions. Every problem is located at the field that causes
 * it and says what would be right. Flow text itself (port names, tables, tun_metadata) is checked
 * by resolve-ovs.ts, where the lab's real port names are known.
 */
import type { Family, TunnelImpl } from '../model/types.js';
import { OPENFLOW_VERSIONS, type OpenFlowVersion } from '../model/ovs-program.js';
import { familyOf, parseCidr, sameAddress } from './addr.js';
import { suggest, type Locator, type Path } from './locate.js';
import type { RawRecipe, RawTunnel } from './schema.js';

export type RawEnd = NonNullable<RawTunnel['ends']>[string];

/** What semantic.ts decided about a tunnel (the subset these rules need). */
export interface TunnelFacts {
  routed: boolean;
  network: string;
  family: Family;
  hosts: [string, string];
  impls: [TunnelImpl, TunnelImpl];
}

const OVS_SWITCH_KEYS = ['fail_mode', 'protocols', 'openflow', 'tlv_map', 'flows', 'groups', 'meters'] as const;
const TLV_SPACE = 256;

const ofIndex = (v: OpenFlowVersion) => OPENFLOW_VERSIONS.indexOf(v);

/** The problems of OVS programs and `ends:`; `ifaceNetwork[h][i]` is the network of host h's interface i. */
export function ovsRules(r: RawRecipe, loc: Locator, decisions: (TunnelFacts | undefined)[], ifaceNetwork: string[][]): ReturnType<Locator['problem']>[] {
  const problems: ReturnType<Locator['problem']>[] = [];
  /** An option's `data` that the source has but the schema dropped as invalid (already reported). */
  const written = (option: Path) => {
    const a = loc.position(option);
    const b = loc.position([...option, 'data']);
    return a.line !== b.line || a.column !== b.column;
  };
  const err = (path: Path, msg: string, at: 'value' | 'key' = 'value') => problems.push(loc.problem(path, msg, 'error', at));
  const hosts = r.hosts ?? [];
  const switches = r.switches ?? [];
  const tunnels = r.tunnels ?? [];

  // ---- switches
  switches.forEach((s, si) => {
    const p: Path = ['switches', si];
    const ovs = (s.kind ?? 'bridge') === 'ovs';
    for (const k of OVS_SWITCH_KEYS)
      if (s[k] !== undefined && !ovs) err([...p, k], `${k} applies to OVS switches only, and "${s.name}" is a Linux bridge; set kind: ovs or remove ${k}`);
    if (!ovs) return;
    if (s.openflow && s.protocols && !s.protocols.includes(s.openflow))
      err([...p, 'openflow'], `openflow: ${s.openflow} is not among the switch's protocols (${s.protocols.join(', ')}); ovs-ofctl could not talk to it — add ${s.openflow} to protocols or choose one of them`);
    // Groups need OpenFlow 1.1, meters 1.3: ovs-ofctl speaks `openflow`, else the newest allowed.
    const speaks = s.openflow ?? (s.protocols ? [...s.protocols].sort((a, b) => ofIndex(b) - ofIndex(a))[0]! : 'OpenFlow15');
    if (s.groups?.length && ofIndex(speaks) < ofIndex('OpenFlow11'))
      err([...p, s.openflow ? 'openflow' : 'protocols'], `groups need OpenFlow 1.1 or later, and ovs-ofctl would speak ${speaks} to this switch; use openflow: OpenFlow15 (and include it in protocols)`);
    if (s.meters?.length && ofIndex(speaks) < ofIndex('OpenFlow13'))
      err([...p, s.openflow ? 'openflow' : 'protocols'], `meters need OpenFlow 1.3 or later, and ovs-ofctl would speak ${speaks} to this switch; use openflow: OpenFlow15 (and include it in protocols)`);
    const fields = new Map<string, number>();
    const options = new Map<string, number>();
    let space = 0;
    (s.tlv_map ?? []).forEach((e, ei) => {
      const ep: Path = [...p, 'tlv_map', ei];
      if (e.len % 4 !== 0) err([...ep, 'len'], `len ${e.len} is not a multiple of 4; a Geneve option body is 0..124 bytes in steps of 4`);
      space += e.len;
      const f = fields.get(e.field);
      if (f !== undefined) err([...ep, 'field'], `${e.field} is already bound by tlv_map[${f}]; each tun_metadata field holds one option`);
      else fields.set(e.field, ei);
      const key = `${e.class}/${e.type}`;
      const o = options.get(key);
      if (o !== undefined) err(ep, `class 0x${e.class.toString(16)} type 0x${e.type.toString(16)} is already mapped by tlv_map[${o}]; an option maps to one field`);
      else options.set(key, ei);
    });
    if (space > TLV_SPACE) err([...p, 'tlv_map'], `the TLV map binds ${space} bytes of option bodies; OVS has ${TLV_SPACE} bytes of tun_metadata space`);
  });

  // ---- addresses of each host (for local_ip / remote)
  const hostAddrs = new Map<string, { address: string; family: Family; network: string }[]>();
  hosts.forEach((h, hi) => {
    const list: { address: string; family: Family; network: string }[] = [];
    (h.interfaces ?? []).forEach((f, fi) => {
      for (const fam of ['ipv4', 'ipv6'] as const) {
        const c = f[fam] ? parseCidr(f[fam]) : undefined;
        if (c) list.push({ address: c.address, family: c.family, network: ifaceNetwork[hi]?.[fi] ?? '' });
      }
    });
    hostAddrs.set(h.name, list);
  });
  const ownerOf = (address: string) => [...hostAddrs].find(([, l]) => l.some((a) => sameAddress(a.address, address)))?.[0];
  const switchByName = new Map(switches.map((s) => [s.name, s]));

  // ---- tunnels: ends
  /** Kernel devices per host, to find the kernel's one-device-per-port conflicts. */
  /** Ends naming a shared OVS port: switch/port → ends. */
  const sharedPorts = new Map<string, { tunnel: string; type: string; dstport: number; key: string; remoteFlow: boolean; path: Path }[]>();
  tunnels.forEach((t, ti) => {
    const d = decisions[ti];
    const p: Path = ['tunnels', ti];
    const type = t.type ?? 'geneve';
    const ends = t.ends ?? {};
    const between = t.between as [string, string];
    for (const name of Object.keys(ends))
      if (!between.includes(name))
        err([...p, 'ends', name], `"${name}" is not an end of tunnel "${t.name}"${suggest(name, between)}; its ends are ${between.map((b) => `"${b}"`).join(' and ')} (the names in between)`, 'key');
    if (!d) return;
    // Tunnel-wide settings that cannot hold for an OVS end.
    if (t.df === 'inherit' && d.impls.includes('ovs'))
      err([...p, 'df'], `df: inherit is not possible on an OVS port (OVS sets DF from df_default: true or false); use df: set or unset, or make the OVS end's value its own (ends: { NAME: { df: unset } })`);
    if (t.ovs?.local_ip !== undefined && t.ovs.local_ip !== 'flow') {
      // One address cannot be the own address of both ends: say which end it is wrong for.
      d.impls.forEach((impl, i) => {
        if (impl !== 'ovs' || ends[between[i]!]?.local_ip !== undefined) return;
        const own = (hostAddrs.get(d.hosts[i]!) ?? []).some((a) => sameAddress(a.address, t.ovs!.local_ip!));
        if (!own) {
          const owner = ownerOf(t.ovs!.local_ip!);
          err([...p, 'ovs', 'local_ip'], `ovs.local_ip ${t.ovs!.local_ip} applies to both ends, but it is not an address of host "${d.hosts[i]!}" (end "${between[i]}")${owner ? `; it belongs to host "${owner}"` : ''}. An end's local_ip is its own address: set it per end, e.g. ends: { ${between[owner === d.hosts[0] ? 0 : 1]}: { local_ip: ${t.ovs!.local_ip} } }`);
        }
      });
    }
    between.forEach((name, i) => {
      const e = ends[name];
      const ep: Path = [...p, 'ends', name];
      const impl = d.impls[i]!;
      const host = d.hosts[i]!;
      const endWhat = `end "${name}" of tunnel "${t.name}"`;
      const ovsEnd = impl === 'ovs';
      // Effective values: the end's own, else the tunnel-wide ones.
      const external = e?.external ?? t.external ?? false;
      const dstport = e?.dstport ?? t.dstport ?? (type === 'geneve' ? 6081 : 4789);
      const vni = e?.vni ?? (typeof e?.key === 'number' && type !== 'gre' ? e.key : undefined) ?? t.vni ?? 0;
      if (e) {
        const onlyTypes = (k: keyof RawEnd, types: string[], hint: string) => {
          if (e[k] !== undefined && !types.includes(type)) err([...ep, k], `${k} applies to ${types.join('/')} tunnels only, and this is a ${type} tunnel; ${hint}`);
        };
        onlyTypes('vni', ['geneve', 'vxlan'], 'use key for gre');
        for (const k of ['dstport', 'udpcsum', 'udp_csum', 'udp6zerocsumtx', 'udp6zerocsumrx', 'df', 'external'] as const) onlyTypes(k, ['geneve', 'vxlan'], 'remove it');
        onlyTypes('options', ['geneve'], 'remove it (options are Geneve TLVs)');
        if (e.vni !== undefined && e.key !== undefined) err([...ep, 'key'], 'set either vni or key for this end, not both (key is the OVS/GRE spelling of the same thing)');
        if (e.udpcsum !== undefined && e.udp_csum !== undefined) err([...ep, 'udp_csum'], 'udp_csum and udpcsum are the same setting; keep one');
        if (d.family === 'ipv4') {
          for (const k of ['udp6zerocsumtx', 'udp6zerocsumrx'] as const)
            if (e[k] !== undefined) err([...ep, k], `${k} applies to IPv6 tunnels only, and this tunnel runs over IPv4; remove it`);
        } else for (const k of ['udpcsum', 'udp_csum'] as const) if (e[k] !== undefined) err([...ep, k], `${k} applies to IPv4 tunnels only (IPv6 always has UDP checksums unless udp6zerocsumtx/rx); remove it`);
        if (ovsEnd) {
          if (e.external !== undefined) err([...ep, 'external'], `external applies to kernel netdev ends, and ${endWhat} is an OVS port (always flow-based); remove it or use key: flow`);
          if (e.df === 'inherit') err([...ep, 'df'], 'df: inherit is not possible on an OVS port (OVS sets DF from df_default); use set or unset');
          if (e.mac !== undefined) err([...ep, 'mac'], `an OVS tunnel port has no MAC address of its own; give the switch one (switches[].mac, its LOCAL port) or set mac on a kernel end`);
        } else {
          for (const k of ['in_key', 'out_key', 'port'] as const)
            if (e[k] !== undefined) err([...ep, k], `${k} applies to OVS ports, and ${endWhat} is a kernel ${type} device (one key for both directions); use ${type === 'gre' ? 'key' : 'vni'}, or attach the end to an ovs switch`);
          if (e.key === 'flow' || e.remote === 'flow' || e.local_ip === 'flow')
            err([...ep, e.key === 'flow' ? 'key' : e.remote === 'flow' ? 'remote' : 'local_ip'], `"flow" needs an OVS port (its flows set the tunnel metadata), and ${endWhat} is a kernel device; use an address/number, or attach the end to an ovs switch`);
          if (typeof e.key === 'number' && type !== 'gre') err([...ep, 'key'], `a kernel ${type} device has a VNI, not a key; use vni: ${e.key}`);
          if (e.mac !== undefined && (d.routed || (type === 'geneve' && t.innerprotoinherit)))
            err([...ep, 'mac'], `${endWhat} is an L3 device (${d.routed ? 'a routed tunnel' : 'innerprotoinherit'}) and has no MAC address; remove mac`);
          if (e.local_ip !== undefined && type === 'geneve')
            err([...ep, 'local_ip'], `a kernel geneve device has no local address on the kernels geneve-lab supports (IFLA_GENEVE_LOCAL is new in 2026); remove local_ip or make this end an OVS port`);
        }
        if (e.local_ip === 'flow' && (e.remote ?? (t.ovs?.remote_ip === 'flow' ? 'flow' : undefined)) !== 'flow')
          err([...ep, 'local_ip'], 'local_ip: flow is only valid when remote is flow too (OVS: the flows then set both tun_src and tun_dst)');
        if (e.local_ip !== undefined && e.local_ip !== 'flow') {
          const mine = (hostAddrs.get(host) ?? []).find((a) => sameAddress(a.address, e.local_ip!));
          const owner = ownerOf(e.local_ip);
          if (!mine) err([...ep, 'local_ip'], `local_ip ${e.local_ip} is not an address of host "${host}" (${endWhat})${owner ? `; it belongs to host "${owner}"` : ''}; an end's local_ip is its own underlay address: ${(hostAddrs.get(host) ?? []).map((a) => a.address).join(', ') || 'none'}`);
          else if (e.remote !== 'flow' && mine.family !== d.family) err([...ep, 'local_ip'], `local_ip ${e.local_ip} is ${mine.family} and this tunnel runs over ${d.family}; use an ${d.family} address of host "${host}"`);
        }
        if (e.remote !== undefined && e.remote !== 'flow') {
          const owner = ownerOf(e.remote);
          if (!owner) err([...ep, 'remote'], `remote ${e.remote} is not an address of any host in the lab; geneve-lab sends tunnel traffic only to lab hosts (known: ${[...hostAddrs.values()].flat().map((a) => a.address).join(', ')})`);
          else if (owner === host) err([...ep, 'remote'], `remote ${e.remote} is an address of host "${host}" itself (${endWhat}); a tunnel end sends to another host`);
          else if (familyOf(e.remote) !== d.family) err([...ep, 'remote'], `remote ${e.remote} is ${familyOf(e.remote)} and this tunnel runs over ${d.family}`);
        }
      }
      // A flow-based remote sends where the switch's flows say: without flows, nowhere.
      if (ovsEnd && ((e?.remote ?? (t.ovs?.remote_ip === 'flow' ? 'flow' : undefined)) === 'flow')) {
        const sw = switchByName.get(name);
        if (sw && sw.flows === undefined)
          err(
            e?.remote === 'flow' ? [...ep, 'remote'] : [...p, 'ovs', 'remote_ip'],
            `remote ${e?.remote === 'flow' ? '' : '(ovs.remote_ip) '}flow makes ${endWhat} send where its switch's flows say (set_field:…->tun_dst / tun_ipv6_dst), and switch "${name}" has no flows, so it would send nothing; give the switch flows, or the end an address`,
          );
      }
      // External ends: what tc's tunnel_key cannot express (tunnel-wide values apply to the end too).
      if (external && impl === 'kernel' && (type === 'geneve' || type === 'vxlan') && e?.external !== undefined) {
        const noTc = (k: string, why: string, at: Path) => err(at, `${why} with external: true (the outer header comes from a tc tunnel_key rule, which cannot do it); remove ${k} or external`);
        const ttl = e.ttl ?? t.ttl;
        const tos = e.tos ?? t.tos;
        if (ttl === 'inherit') noTc('ttl', 'ttl: inherit is not possible', e.ttl !== undefined ? [...ep, 'ttl'] : [...p, 'ttl']);
        if (tos === 'inherit') noTc('tos', 'tos: inherit is not possible', e.tos !== undefined ? [...ep, 'tos'] : [...p, 'tos']);
        if ((e.df ?? t.df) !== undefined) noTc('df', 'df cannot be set', e.df !== undefined ? [...ep, 'df'] : [...p, 'df']);
        if (t.flowlabel !== undefined) noTc('flowlabel', 'flowlabel cannot be set', [...p, 'flowlabel']);
      } else if (e?.df !== undefined && t.external && impl === 'kernel') err([...ep, 'df'], 'df cannot be set with external: true (the outer header comes from a tc tunnel_key rule, which cannot do it); remove df or external');
      // Options an end sends must be sendable by it.
      if (type === 'geneve') {
        const sends = e?.options !== undefined ? e.options : [...(t.options ?? []), ...(t.ovn ? [{ data: '00000000' }] : [])];
        if (sends.length && impl === 'kernel' && !external && e?.options !== undefined)
          err([...ep, 'options'], `${endWhat} is a plain kernel geneve device, which cannot add options per packet; make it external: true (tc sets them) or attach it to an ovs switch`);
        // tc's tunnel_key and flower refuse option data shorter than 4 bytes (act_tunnel_key.c, cls_flower.c).
        const peerIdx = i === 0 ? 1 : 0;
        const peerEnd = ends[between[peerIdx]!];
        const peerSends = peerEnd?.options ?? (t.options ?? []);
        if (impl === 'kernel' && external) {
          const pathOf = (own: boolean, endName: string, oi: number): Path => (own ? [...p, 'ends', endName, 'options', oi] : [...p, 'options', oi]);
          const zero = [
            ...sends.map((o, oi) => ({ o, at: pathOf(e?.options !== undefined, name, oi) })),
            ...peerSends.map((o, oi) => ({ o, at: pathOf(peerEnd?.options !== undefined, between[peerIdx]!, oi) })),
          ].find((x) => (x.o.data ?? '').replace(/^0x/i, '') === '' && !written(x.at));
          if (zero) {
            const at = zero.at;
            err(at, `an option without data (zero-length body) cannot go through ${endWhat}: it is an external kernel device driven by tc, and the kernel's tunnel_key action and flower classifier need 4..128 bytes of option data ("Tunnel key geneve option data is less than 4 bytes long"); give the option data (e.g. data: "00000000") or make that end an OVS port, which supports zero-length options`);
          }
        }
      }
      if (e?.port !== undefined && ovsEnd) {
        const key = `${name}/${e.port}`;
        const list = sharedPorts.get(key) ?? [];
        const k = e.key ?? e.in_key ?? t.ovs?.key ?? String(vni);
        list.push({ tunnel: t.name, type, dstport, key: String(k), remoteFlow: (e.remote ?? t.ovs?.remote_ip) === 'flow', path: [...ep, 'port'] });
        sharedPorts.set(key, list);
      }
    });
  });

  // ---- tunnel options on a switch without flows are mapped by geneve-lab: not twice
  tunnels.forEach((t, ti) => {
    const d = decisions[ti];
    if (!d || (t.type ?? 'geneve') !== 'geneve') return;
    const used = [...(t.options ?? []), ...(t.ovn ? [{ class: 0x0102, type: 0x80 }] : []), ...Object.values(t.ends ?? {}).flatMap((e) => e.options ?? [])];
    (t.between as string[]).forEach((name, i) => {
      const sw = switchByName.get(name);
      if (d.impls[i] !== 'ovs' || !sw || sw.flows !== undefined) return;
      (sw.tlv_map ?? []).forEach((m, mi) => {
        const o = used.find((x) => x.class === m.class && x.type === m.type);
        if (o)
          err(
            ['switches', switches.indexOf(sw), 'tlv_map', mi],
            `option class 0x${m.class.toString(16)} type 0x${m.type.toString(16)} is bound here and also used by the options of tunnel "${t.name}", which geneve-lab maps itself on a switch without flows (OVS maps an option once); remove it from tlv_map, or give switch "${name}" flows that set and match it`,
          );
      });
    });
  });

  // Kernel devices that clash on a host (VNI, port, external): semantic-conflicts.ts.

  // ---- ends sharing one OVS port
  for (const [key, list] of sharedPorts) {
    const [sw, port] = key.split('/') as [string, string];
    if (list.length < 2) continue;
    for (const x of list) {
      if (!x.remoteFlow)
        err(x.path, `tunnels ${list.map((l) => `"${l.tunnel}"`).join(', ')} share port "${port}" on switch "${sw}": a port serving several tunnels sends where its flows say; set remote: flow on each of these ends (and key: flow when their VNIs differ)`);
      if (x.type !== list[0]!.type || x.dstport !== list[0]!.dstport)
        err(x.path, `port "${port}" on switch "${sw}" is shared by tunnels of different type or UDP port (${list.map((l) => `"${l.tunnel}": ${l.type}/${l.dstport}`).join(', ')}); one OVS port has one type and one dst_port`);
      if (x.key !== list[0]!.key)
        err(x.path, `port "${port}" on switch "${sw}" is shared by tunnels with different keys (${list.map((l) => `"${l.tunnel}": ${l.key}`).join(', ')}); set key: flow on these ends so the flows choose the VNI (tun_id)`);
    }
  }
  return problems;
}
