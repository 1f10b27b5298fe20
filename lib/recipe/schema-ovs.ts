/**
 * Recipe schema pieces for OVS switch programs (`flows`, `tlv_map`, `groups`, `meters`,
 * `fail_mode`, `protocols`, `openflow`, `mac`) and per-end tunnel parameters (`ends:`).
 * Cross-field rules live in semantic-ovs.ts, the model in resolve-ovs.ts.
 *
 * schema.ts builds switchSchema and tunnelSchema with these functions and hands them its own
 * helpers (`kit`), so that this module never imports schema.ts at run time (a cycle would leave
 * one of the two half-initialised, depending on which is imported first).
 */
import { z } from 'zod';
import { OPENFLOW_VERSIONS } from '../model/ovs-program.js';
import type * as S from './schema.js';

/** schema.ts's field helpers this module builds with. */
export type SwitchKit = Pick<typeof S, 'obj' | 'intIn' | 'bool' | 'oneOf' | 'show'>;
export type EndKit = SwitchKit & Pick<typeof S, 'address' | 'keyOrFlow' | 'optionSchema' | 'tos' | 'ttl'>;

/** A unicast MAC address, e.g. "02:00:00:00:00:01" (quoted in YAML). */
export function macSchema(k: Pick<SwitchKit, 'show'>, what: string) {
  const { show } = k;
  return z
    .string({ error: (iss) => `${show(iss.input)} is not a MAC address; use e.g. 02:00:00:00:00:01 (quote it)` })
    .superRefine((v, ctx) => {
      if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(v)) ctx.addIssue({ code: 'custom', message: `${show(v)} is not a MAC address; use six hex pairs like 02:00:00:00:00:01` });
      else if (parseInt(v.slice(0, 2), 16) & 1) ctx.addIssue({ code: 'custom', message: `${show(v)} is a multicast MAC; use a unicast one (first byte even), e.g. 02:00:00:00:00:01` });
      else if (/^(00:){5}00$/.test(v)) ctx.addIssue({ code: 'custom', message: `${show(v)} is the all-zero MAC; use a real one, e.g. 02:00:00:00:00:01` });
    })
    .meta({ description: `Fixed MAC address of ${what}, e.g. "02:00:00:00:00:01"` });
}

/** `df`: unset | set | inherit, or a boolean (false = unset, true = set). */
export function dfSchema(k: Pick<SwitchKit, 'show' | 'oneOf'>) {
  const { show, oneOf } = k;
  const msg = (iss: { input?: unknown }) => `${show(iss.input)} is not a valid df; use unset, set, inherit, or false/true (= unset/set)`;
  return z
    .union([oneOf(['unset', 'set', 'inherit'], 'df mode'), z.boolean({ error: msg })], { error: msg })
    .transform((v) => (v === true ? 'set' : v === false ? 'unset' : v))
    .meta({ description: 'Outer IPv4 DF bit: unset (= false), set (= true) or inherit (copy from the inner IPv4 packet)' });
}

function version(k: Pick<SwitchKit, 'oneOf'>) {
  return k.oneOf(OPENFLOW_VERSIONS, 'OpenFlow version');
}

function flowText(k: Pick<SwitchKit, 'show'>, what: string, example: string) {
  const { show } = k;
  return z
    .string({ error: (iss) => `${show(iss.input)} is not valid; a ${what} is one line of ovs-ofctl syntax in quotes, e.g. "${example}"` })
    .superRefine((v, ctx) => {
      if (/[\r\n]/.test(v)) ctx.addIssue({ code: 'custom', message: `a ${what} is one line; give each ${what} its own list item` });
      else if (!v.trim()) ctx.addIssue({ code: 'custom', message: `an empty ${what}; remove the item or write e.g. "${example}"` });
    });
}

/** The OVS keys of a switch (spread into switchSchema). */
export function ovsSwitchFields(k: SwitchKit) {
  const { obj, intIn, oneOf, show } = k;
  return {
    mac: macSchema(k, 'the switch (an OVS bridge: its LOCAL port)').optional(),
    fail_mode: oneOf(['standalone', 'secure'], 'fail mode')
      .optional()
      .meta({ description: 'OVS: standalone (default: NORMAL switching while no controller) or secure (only the flows given)' }),
    protocols: z
      .array(version(k), { error: (iss) => `${show(iss.input)} is not valid; protocols is a list like [OpenFlow10, OpenFlow15]` })
      .min(1, { error: 'protocols needs at least one OpenFlow version, e.g. [OpenFlow10, OpenFlow15]' })
      .optional()
      .meta({ description: 'OVS: OpenFlow versions the bridge speaks (Bridge.protocols; default 1.0..1.5)' }),
    openflow: version(k).optional().meta({ description: 'OVS: the OpenFlow version ovs-ofctl uses for this switch (-O), e.g. OpenFlow15' }),
    tlv_map: z
      .array(
        obj(
          {
            class: intIn(0, 0xffff, 'option class', true),
            type: intIn(0, 0xff, 'option type', true),
            len: intIn(0, 124, 'option body length (bytes)').meta({ description: 'Option body length in bytes: 0..124, a multiple of 4 (0 = an option without data)' }),
            field: z
              .string({ error: (iss) => `${show(iss.input)} is not valid; use tun_metadata0..tun_metadata63` })
              .regex(/^tun_metadata([0-9]|[1-5][0-9]|6[0-3])$/, { error: (iss) => `${show(iss.input)} is not a metadata field; use tun_metadata0..tun_metadata63` }),
          },
          'A Geneve option bound to a tun_metadata field (ovs-ofctl add-tlv-map)',
        ),
        { error: (iss) => `${show(iss.input)} is not valid; tlv_map is a list of { class, type, len, field }` },
      )
      .optional()
      .meta({ description: 'OVS: Geneve TLV map, {class, type, len} -> tun_metadataN' }),
    flows: z
      .array(flowText(k, 'flow', 'table=0,in_port=left,actions=output:tun0'), { error: (iss) => `${show(iss.input)} is not valid; flows is a list of flow strings in ovs-ofctl syntax` })
      .optional()
      .meta({ description: 'OVS: the OpenFlow program (ovs-ofctl add-flows syntax); port names may be recipe names. Replaces the default actions=NORMAL' }),
    groups: z
      .array(flowText(k, 'group', 'group_id=1,type=all,bucket=output:left,bucket=output:tun0'), { error: (iss) => `${show(iss.input)} is not valid; groups is a list of group strings in ovs-ofctl syntax` })
      .optional()
      .meta({ description: 'OVS: OpenFlow groups (ovs-ofctl add-groups syntax), installed before the flows' }),
    meters: z
      .array(flowText(k, 'meter', 'meter=1,kbps,band=type=drop,rate=1000'), { error: (iss) => `${show(iss.input)} is not valid; meters is a list of meter strings in ovs-ofctl syntax` })
      .optional()
      .meta({ description: 'OVS: OpenFlow meters (ovs-ofctl add-meter syntax), installed before the flows' }),
  };
}

/** One end's overrides: `ends: { <between name>: {...} }`. */
export function endSchema(k: EndKit) {
  const { obj, intIn, bool, show, address, keyOrFlow, optionSchema, tos, ttl } = k;
  const addrOrFlow = (what: string) =>
    z.union([z.literal('flow'), address], { error: (iss) => `${show(iss.input)} is not valid for ${what}; use an address or flow` });
  return obj(
    {
      vni: intIn(0, 0xffffff, 'VNI (24 bits)').optional().meta({ description: 'VNI this end sends and accepts (geneve, vxlan)' }),
      key: keyOrFlow.optional().meta({ description: 'GRE key of this end, or an OVS port key in both directions (a number or flow)' }),
      in_key: keyOrFlow.optional().meta({ description: 'OVS ports: the key this end accepts (number or flow)' }),
      out_key: keyOrFlow.optional().meta({ description: 'OVS ports: the key this end sends (number or flow)' }),
      dstport: intIn(1, 65535, 'UDP port').optional().meta({ description: 'UDP port this end sends to and listens on' }),
      local_ip: addrOrFlow('local_ip').optional().meta({ description: 'This end\'s own underlay address (or flow, OVS with remote: flow)' }),
      remote: addrOrFlow('remote').optional().meta({ description: 'Where this end sends: an address of a lab host, or flow (OVS: flows set tun_dst/tun_ipv6_dst)' }),
      external: bool('external').optional(),
      udpcsum: bool('udpcsum').optional(),
      udp_csum: bool('udp_csum').optional().meta({ description: 'Same as udpcsum' }),
      udp6zerocsumtx: bool('udp6zerocsumtx').optional(),
      udp6zerocsumrx: bool('udp6zerocsumrx').optional(),
      tos: tos.optional(),
      ttl: ttl.optional(),
      df: dfSchema(k).optional(),
      options: z.array(optionSchema).optional().meta({ description: 'Geneve options this end sends (replaces the tunnel-wide list for this end)' }),
      mac: macSchema(k, 'this end\'s kernel tunnel device').optional(),
      port: z
        .string({ error: (iss) => `${show(iss.input)} is not valid; port is an OVS port name` })
        .regex(/^[A-Za-z0-9_.-]{1,15}$/, { error: (iss) => `${show(iss.input)} is not a port name; use 1..15 letters, digits, "_", "." or "-"` })
        .optional()
        .meta({ description: 'OVS: the tunnel port of this end; ends on one switch naming the same port share one flow-based port' }),
    },
    'Per-end overrides of the tunnel-wide settings',
  );
}

/** `ends:` on a tunnel: between-name → overrides. */
export function tunnelEndsField(k: EndKit) {
  const { show } = k;
  return z
    .record(z.string(), endSchema(k), { error: (iss) => `${show(iss.input)} is not valid; ends maps an end's name (from between) to its settings, e.g. ends: { sw2: { vni: 6 } }` })
    .optional()
    .meta({ description: 'Per-end settings keyed by the names in between; the tunnel-wide values are the defaults' });
}
