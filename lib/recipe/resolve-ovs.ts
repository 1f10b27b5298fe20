/**
 * Resolving the OVS pieces of a recipe into the model: per-end tunnel overrides (`ends:` →
 * TunnelEnd.overrides, with the ends' addresses kept consistent) and switch programs (`flows:`,
 * `tlv_map:`, … → Switch.program), whose flows are checked against the ports the lab really
 * creates and rewritten to use their real names (lib/ovs/port-names.ts, lib/ovs/flows.ts).
 */
import type { Problem } from '../errors.js';
import type { GeneveOption, Guest, Switch, Tunnel, TunnelEnd } from '../model/types.js';
import type { EndOverrides } from '../model/tunnel-end.js';
import type { OvsProgram, ProgramLine } from '../model/ovs-program.js';
import { checkFlow, programPortNames } from '../ovs/flows.js';
import type { Locator, Path } from './locate.js';
import type { RawRecipe, RawTunnel } from './schema.js';
import type { RawEnd } from './semantic-ovs.js';

function optionsOf(list: NonNullable<RawEnd['options']>): GeneveOption[] {
  return list.map((o) => ({ class: o.class, type: o.type, data: (o.data ?? '').replace(/^0x/i, '').toLowerCase() }));
}

/** The model form of one end's `ends:` entry. */
export function endOverrides(e: RawEnd): EndOverrides {
  const o: EndOverrides = {};
  if (e.vni !== undefined) o.vni = e.vni;
  if (e.key !== undefined) o.key = e.key;
  if (e.in_key !== undefined) o.inKey = e.in_key;
  if (e.out_key !== undefined) o.outKey = e.out_key;
  if (e.dstport !== undefined) o.dstport = e.dstport;
  if (e.local_ip !== undefined) o.localIp = e.local_ip;
  if (e.remote !== undefined) o.remote = e.remote;
  if (e.external !== undefined) o.external = e.external;
  const csum = e.udpcsum ?? e.udp_csum;
  if (csum !== undefined) o.udpcsum = csum;
  if (e.udp6zerocsumtx !== undefined) o.udp6zerocsumtx = e.udp6zerocsumtx;
  if (e.udp6zerocsumrx !== undefined) o.udp6zerocsumrx = e.udp6zerocsumrx;
  if (e.tos !== undefined) o.tos = e.tos;
  if (e.ttl !== undefined) o.ttl = e.ttl;
  if (e.df !== undefined) o.df = e.df;
  if (e.options !== undefined) o.options = optionsOf(e.options);
  if (e.mac !== undefined) o.mac = e.mac.toLowerCase();
  if (e.port !== undefined) o.port = e.port;
  return o;
}

/**
 * Attach `ends:` to the resolved ends (in `between` order). An end's own local address becomes
 * its `local` and the other end's `remote` (unless that end names its own remote), so both ends
 * agree on the addresses without the recipe repeating them.
 */
export function applyEndOverrides(t: RawTunnel, ends: [TunnelEnd, TunnelEnd]): void {
  const raw = t.ends ?? {};
  ends.forEach((end, i) => {
    const e = raw[t.between[i]!];
    if (e) end.overrides = endOverrides(e);
  });
  ends.forEach((end, i) => {
    const peer = ends[i === 0 ? 1 : 0];
    const o = end.overrides;
    if (o?.localIp !== undefined && o.localIp !== 'flow') {
      end.local = o.localIp;
      if (peer.overrides?.remote === undefined) peer.remote = o.localIp;
    }
  });
  ends.forEach((end) => {
    const r = end.overrides?.remote;
    if (r !== undefined && r !== 'flow') end.remote = r;
  });
}

/** The program of one OVS switch, or undefined when the recipe gives none. */
function program(
  s: NonNullable<RawRecipe['switches']>[number],
  si: number,
  lab: { switches: Switch[]; guests: Guest[]; tunnels: Tunnel[] },
  loc: Locator,
  problems: Problem[],
): OvsProgram | undefined {
  const written = s.fail_mode !== undefined || s.protocols || s.openflow || s.tlv_map || s.flows || s.groups || s.meters;
  if (!written) return undefined;
  const names = programPortNames(lab, s.name);
  const ports = { subject: `switch "${s.name}"`, names };
  const mapped = new Set((s.tlv_map ?? []).map((e) => Number(e.field.replace('tun_metadata', ''))));
  const at = (path: Path, offset = 0) => {
    const p = loc.positionInString(path, offset);
    return p.line ? `${loc.file}:${p.line}:${p.column}` : '';
  };
  const lines = (list: string[] | undefined, key: 'flows' | 'groups' | 'meters'): ProgramLine[] =>
    (list ?? []).map((text, i) => {
      const path: Path = ['switches', si, key, i];
      if (key === 'meters') return { text, source: text, at: at(path) };
      const c = checkFlow(text, ports, key === 'groups' ? 'group' : 'flow');
      for (const pr of c.problems) problems.push(loc.problemInString(path, pr.offset, `${key === 'flows' ? 'flow' : 'group'} "${text}": ${pr.message}`));
      for (const n of c.metadata)
        if (!mapped.has(n)) {
          const off = text.search(new RegExp(`tun_metadata${n}(?!\\d)`, 'i'));
          problems.push(
            loc.problemInString(
              path,
              Math.max(0, off),
              `${key === 'flows' ? 'flow' : 'group'} "${text}": tun_metadata${n} is not bound to a Geneve option on switch "${s.name}" (OVS would refuse it: NXFMFC_INVALID_TLV_FIELD); add it to tlv_map, e.g. { class: 0xffff, type: 0x80, len: 4, field: tun_metadata${n} }`,
            ),
          );
        }
      return { text: c.text, source: text, at: at(path) };
    });
  const out: OvsProgram = {
    tlvMap: (s.tlv_map ?? []).map((e) => ({ class: e.class, type: e.type, len: e.len, field: Number(e.field.replace('tun_metadata', '')) })),
    groups: lines(s.groups, 'groups'),
    meters: lines(s.meters, 'meters'),
  };
  if (s.flows !== undefined) out.flows = lines(s.flows, 'flows');
  if (s.fail_mode !== undefined) out.failMode = s.fail_mode;
  if (s.protocols !== undefined) out.protocols = [...s.protocols];
  if (s.openflow !== undefined) out.openflow = s.openflow;
  return out;
}

/** Switch MACs and OVS programs, once guests and tunnels (their port names) are resolved. */
export function resolveSwitchPrograms(r: RawRecipe, lab: { switches: Switch[]; guests: Guest[]; tunnels: Tunnel[] }, loc: Locator, problems: Problem[]): void {
  (r.switches ?? []).forEach((s, si) => {
    const sw = lab.switches.find((x) => x.name === s.name);
    if (!sw) return;
    if (s.mac !== undefined) sw.mac = s.mac.toLowerCase();
    if (sw.kind !== 'ovs') return;
    const p = program(s, si, lab, loc, problems);
    if (p) sw.program = p;
  });
}
