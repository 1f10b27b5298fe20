/**
 * The raw recipe shape (what users write), as zod schemas. Single source of truth for
 * validation of individual fields and for the JSON Schema editors use. Cross-field rules
 * live in semantic.ts; turning the raw recipe into the Lab model lives in resolve.ts.
 */
import { z } from 'zod';
import { LAB_NAME_MAX, nameProblem, isValidIfname } from '../model/names.js';
import { parseCidr, familyOf } from './addr.js';
import { stepSchemaFor } from './schema-steps.js';
import { dfSchema, ovsSwitchFields, tunnelEndsField } from './schema-ovs.js';
import { lookSchemas } from './schema-checks.js';
import { topologySchemas } from './schema-routers.js';
import { ovnCheckSchema, ovnSchema } from './schema-ovn.js';
import { pskSchema, tunnelIpsecSchema } from './schema-ipsec.js';
import { ADDRESS_PATTERN, cidrPattern, LAB_NAME_RULES, NAME_PATTERN, PERCENT_RULES, TOS_BYTE_RULES, TOS_HEX_PATTERN, UNICAST_MAC_PATTERN, VARIABLE_USE_PATTERN } from './json-schema-patterns.js';
import { captureKeyPattern } from '../checks/capture-expect.js';

/** Marks unknown-key errors so the loader can report one located problem per key with a suggestion. */
export const UNKNOWN_KEYS = '\u0000unknown-keys:';

export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null (empty value)';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return String(v);
}

/** A strict map: unknown keys are errors, reported with the list of allowed keys. */
export function obj<T extends z.core.$ZodLooseShape>(shape: T, description?: string) {
  const keys = Object.keys(shape);
  const s = z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? UNKNOWN_KEYS + keys.join(',') : undefined),
  });
  return description ? s.meta({ description }) : s;
}

const HEX_RE = /^0x[0-9a-f]+$/i;
/** Integers may be written as hex strings ("0x28"); YAML 1.2 already reads unquoted 0x28 as an int. */
function hexToInt(v: unknown): unknown {
  return typeof v === 'string' && HEX_RE.test(v) ? parseInt(v, 16) : v;
}

const hex = (n: number) => '0x' + n.toString(16);

/** An integer in [min, max]; `what` and the limits appear in the message. */
export function intIn(min: number, max: number, what: string, hexLimits = false) {
  const lim = hexLimits ? `${min}..${hex(max)}` : `${min}..${max}`;
  const msg = (iss: { input?: unknown }) => `${show(iss.input)} is not a valid ${what}; allowed: an integer ${lim}`;
  return z.preprocess(hexToInt, z.int({ error: msg }).min(min, { error: msg }).max(max, { error: msg }));
}

function num(min: number, what: string, unit: string) {
  const msg = (iss: { input?: unknown }) => `${show(iss.input)} is not a valid ${what}; allowed: a number > ${min} (${unit})`;
  return z.number({ error: msg }).gt(min, { error: msg });
}

export const bool = (what: string) => z.boolean({ error: (iss) => `${show(iss.input)} is not valid for ${what}; use true or false` });

export function oneOf<const T extends readonly [string, ...string[]]>(values: T, what: string) {
  return z.enum(values, {
    error: (iss) => `${show(iss.input)} is not a valid ${what}; use one of: ${values.join(', ')}`,
  });
}

export const nameSchema = z
  .string({ error: (iss) => `${show(iss.input)} is not a valid name; use lower-case letters, digits and "-", starting with a letter` })
  .superRefine((v, ctx) => {
    const p = nameProblem(v);
    if (p) ctx.addIssue({ code: 'custom', message: p });
  })
  .meta({ description: 'Object name: ^[a-z][a-z0-9-]*$ without "--"', pattern: NAME_PATTERN });

export function cidr(family?: 'ipv4' | 'ipv6') {
  const want = family ? `an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address with prefix, e.g. ${family === 'ipv4' ? '192.0.2.11/24' : '2001:db8::11/64'}` : 'an address with prefix, e.g. 192.0.2.1/24 or 2001:db8::1/64';
  return z
    .string({ error: (iss) => `${show(iss.input)} is not valid; expected ${want}` })
    .superRefine((v, ctx) => {
      const c = parseCidr(v);
      if (!c || (family && c.family !== family)) ctx.addIssue({ code: 'custom', message: `${show(v)} is not valid; expected ${want}` });
    })
    .meta({ pattern: cidrPattern(family) });
}

export const address = z
  .string({ error: (iss) => `${show(iss.input)} is not an IP address; expected e.g. 203.0.113.254 or 2001:db8::1` })
  .superRefine((v, ctx) => {
    if (!familyOf(v)) ctx.addIssue({ code: 'custom', message: `${show(v)} is not an IP address; expected e.g. 203.0.113.254 or 2001:db8::1` });
  })
  .meta({ pattern: ADDRESS_PATTERN });

const ifname = z
  .string({ error: (iss) => `${show(iss.input)} is not an interface name` })
  .superRefine((v, ctx) => {
    if (!isValidIfname(v))
      ctx.addIssue({ code: 'custom', message: `${show(v)} is not a valid interface name; allowed: 1..15 bytes, no spaces, "/" or ":"` });
  });

const mtu = intIn(68, 65535, 'MTU').meta({ description: 'MTU in bytes (68..65535)' });

/** Percentage: "0.1%" or a plain number, 0..100. */
export const percent = z
  .union([z.number(), z.string()])
  .transform((v, ctx) => {
    const n = typeof v === 'number' ? v : /^\s*\d+(\.\d+)?\s*%?\s*$/.test(v) ? parseFloat(v) : NaN;
    if (!(n >= 0 && n <= 100)) {
      ctx.addIssue({ code: 'custom', message: `${show(v)} is not a valid loss percentage; use e.g. "0%", "0.1%" (0..100)` });
      return z.NEVER;
    }
    return n;
  })
  .meta({ description: 'Loss percentage, e.g. "0.1%"', ...PERCENT_RULES });

const RATE_RE = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(bit|bits|bps|b|bit\/s)?\s*$/i;
/** Bit rates: 500Mbit, 100M, 1.5G, 1000000 (bits per second, SI prefixes). */
export function parseRate(v: string | number): number | undefined {
  if (typeof v === 'number') return v >= 0 ? v : undefined;
  const m = RATE_RE.exec(v);
  if (!m) return undefined;
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return parseFloat(m[1]!) * mult;
}
export const rate = z
  .union([z.number(), z.string()])
  .superRefine((v, ctx) => {
    if (parseRate(v) === undefined) ctx.addIssue({ code: 'custom', message: `${show(v)} is not a bit rate; use e.g. 500Mbit, 100M, 1G` });
  })
  .meta({ description: 'Bit rate in bits/s, e.g. 500Mbit, 100M, 1G' });

const DURATION_RE = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s)\s*$/i;
/** A delay: "20ms", "0.5ms", "1s", "500us", or a plain number of milliseconds; result in ms. */
export function parseDelayMs(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : undefined;
  const m = DURATION_RE.exec(v);
  if (!m) return undefined;
  const f = { us: 0.001, ms: 1, s: 1000 }[m[2]!.toLowerCase() as 'us' | 'ms' | 's'];
  return parseFloat(m[1]!) * f;
}
function delay(what: string) {
  return z
    .union([z.number(), z.string()], { error: (iss) => `${show(iss.input)} is not a valid ${what}; use e.g. 20ms, 0.5ms, 1s` })
    .transform((v, ctx) => {
      const ms = parseDelayMs(v);
      if (ms === undefined || ms > 60_000) {
        ctx.addIssue({ code: 'custom', message: `${show(v)} is not a valid ${what}; use e.g. 20ms, 0.5ms, 1s (0..60s; a plain number is milliseconds)` });
        return z.NEVER;
      }
      return ms;
    })
    .meta({ description: `${what[0]!.toUpperCase()}${what.slice(1)}: 20ms, 0.5ms, 1s, 500us (a plain number is milliseconds)` });
}

/**
 * netem settings, in the units people write: `{ delay: 20ms, jitter: 5ms, loss: 1%, rate: 100mbit }`.
 * Cross-field rules (jitter needs delay, at least one setting) are in semantic.ts.
 */
const impairFields = {
  delay: delay('delay').optional(),
  jitter: delay('jitter').optional(),
  loss: z
    .union([z.number(), z.string()])
    .transform((v, ctx) => {
      const n = typeof v === 'number' ? v : /^\s*\d+(\.\d+)?\s*%?\s*$/.test(v) ? parseFloat(v) : NaN;
      if (!(n >= 0 && n <= 100)) {
        ctx.addIssue({ code: 'custom', message: `${show(v)} is not a valid loss; use a percentage 0..100, e.g. 1% or 0.5%` });
        return z.NEVER;
      }
      return n;
    })
    .optional()
    .meta({ description: 'Packet loss, e.g. 1% (0..100)' }),
  rate: z
    .union([z.number(), z.string()])
    .superRefine((v, ctx) => {
      const r = parseRate(v);
      if (r === undefined || r <= 0) ctx.addIssue({ code: 'custom', message: `${show(v)} is not a valid rate; use a bit rate above 0, e.g. 100mbit, 1G, 500k` });
    })
    .optional()
    .meta({ description: 'Bandwidth limit in bits/s, e.g. 100mbit, 1G' }),
};
export const impairSchema = obj(impairFields, 'Link impairment (netem): delay, jitter, loss, rate');

const family = oneOf(['ipv4', 'ipv6'], 'address family');
const nameList = z.union([nameSchema, z.array(nameSchema).min(1)], {
  error: (iss) => `${show(iss.input)} is not valid; use a name or a list of names`,
});
const target = z.union([z.string(), z.array(z.string()).min(1)], {
  error: (iss) => `${show(iss.input)} is not valid; use a name, an address, or a list of them`,
});

/** The check kinds that look (state, counter, log, transfer) and the probe knobs: schema-checks.ts. */
const look = lookSchemas({ obj, intIn, bool, oneOf, show, nameSchema, rate });

// ---------------------------------------------------------------- objects

const routeSchema = obj({
  to: z.string({ error: (iss) => `${show(iss.input)} is not valid; use "default" or a CIDR` }).superRefine((v, ctx) => {
    if (v !== 'default' && !parseCidr(v)) ctx.addIssue({ code: 'custom', message: `${show(v)} is not valid; use "default" or a CIDR such as 198.51.100.0/24` });
  }),
  via: address.optional(),
  dev: ifname.optional(),
});

// Routers, host routes and link tuning (offloads, GSO/GRO sizes): lib/recipe/schema-routers.ts.
const topo = topologySchemas({ obj, nameSchema, cidr, ifname, mtu, intIn, show, routeSchema });
export const routerSchema = topo.routerSchema;

export const networkSchema = obj(
  { name: nameSchema, mtu: mtu.optional(), impair: impairSchema.optional() },
  'Underlay network joining hosts (a bridge in its own namespace)',
);

/** A fixed unicast MAC address (guests' NICs, hosts' underlay addresses). */
function unicastMac() {
  return z
    .string({ error: (iss) => `${show(iss.input)} is not a MAC address; use e.g. 02:00:00:00:00:01 (quote it)` })
    .superRefine((v, ctx) => {
      if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(v)) ctx.addIssue({ code: 'custom', message: `${show(v)} is not a MAC address; use six hex pairs like 02:00:00:00:00:01` });
      else if (parseInt(v.slice(0, 2), 16) & 1) ctx.addIssue({ code: 'custom', message: `${show(v)} is a multicast MAC; use a unicast one (first byte even), e.g. 02:00:00:00:00:01` });
    })
    .meta({ pattern: UNICAST_MAC_PATTERN });
}

export const hostInterfaceSchema = obj({
  network: nameSchema.optional().meta({ description: 'Network name; default: the only network' }),
  ipv4: cidr('ipv4').optional(),
  ipv6: cidr('ipv6').optional(),
  mtu: mtu.optional(),
  ifname: ifname.optional().meta({ description: 'Interface name in the host; default: the network name' }),
  mac: unicastMac()
    .optional()
    .meta({ description: "Fixed MAC of the device holding the host's address on this network: its NIC, or br-underlay on OVS's userspace datapath (frames written by hand can be sent to it)" }),
  impair: impairSchema.optional(),
  ...topo.linkTuningFields,
});

const SSH_TARGET_RE = /^(?:[A-Za-z0-9._][A-Za-z0-9._-]*@)?[A-Za-z0-9:_][A-Za-z0-9.:_-]*$/;
const sshTarget = z
  .string({ error: (iss) => `${show(iss.input)} is not an SSH target; use user@address or address` })
  .superRefine((v, ctx) => {
    if (!SSH_TARGET_RE.test(v)) ctx.addIssue({ code: 'custom', message: `${show(v)} is not an SSH target; use user@address or address (no spaces, no port: use "port")` });
  });
/** A remote host: `ssh: user@address` or a map with the connection details. */
const sshSchema = z
  .union(
    [
      sshTarget,
      obj({
        target: sshTarget,
        port: intIn(1, 65535, 'SSH port').optional(),
        identity: z.string().min(1).optional().meta({ description: 'Private key file (relative to the recipe)' }),
        jump: sshTarget.optional().meta({ description: 'Jump host [user@]address' }),
        known_hosts: z.string().min(1).optional().meta({ description: 'known_hosts file (relative to the recipe)' }),
      }),
    ],
    { error: (iss) => `${show(iss.input)} is not valid; use ssh: user@address or ssh: { target, port, identity, jump, known_hosts }` },
  )
  .meta({ description: 'Remote host reached over SSH instead of a local network namespace' });

export const hostSchema = obj(
  {
    name: nameSchema,
    interfaces: z.array(hostInterfaceSchema, { error: (iss) => `${show(iss.input)} is not valid; expected a list of interfaces` }).optional(),
    ovs: obj({
      datapath: oneOf(['auto', 'system', 'netdev'], 'OVS datapath').optional(),
      db: z
        .string({ error: (iss) => `${show(iss.input)} is not valid; use unix:/path/to/db.sock` })
        .regex(/^unix:\/[^\s]+$/, { error: (iss) => `${show(iss.input)} is not a database socket; use unix:/absolute/path/db.sock (the running OVS service's socket)` })
        .optional()
        .meta({ description: 'SSH hosts only: the running OVS service\'s database socket (default unix:/var/run/openvswitch/db.sock); ovs-ofctl/ovs-appctl use its directory as OVS_RUNDIR' }),
      log: look.hostLogGate.optional(),
    }).optional(),
    ssh: sshSchema.optional(),
    routes: z.array(routeSchema).optional().meta({ description: 'Static routes, e.g. { to: default, via: 192.0.2.1 } (a router on a routed underlay)' }),
  },
  'Simulated hypervisor: one network namespace',
);

export const switchSchema = obj(
  {
    name: nameSchema,
    host: nameSchema,
    kind: oneOf(['bridge', 'ovs'], 'switch kind').optional(),
    addresses: z.array(cidr()).optional(),
    mtu: mtu.optional(),
    datapath: oneOf(['system', 'netdev'], 'OVS datapath').optional(),
    ...ovsSwitchFields({ obj, intIn, bool, oneOf, show }),
    ...topo.linkTuningFields,
  },
  'A Linux bridge or OVS bridge inside a host',
);

export const guestSchema = obj(
  {
    name: nameSchema,
    switch: nameSchema,
    addresses: z.array(cidr()).optional(),
    mtu: mtu.optional(),
    ifname: ifname.optional(),
    mac: unicastMac().optional(),
    offload: obj({ tx: bool('offload.tx').optional(), tso: bool('offload.tso').optional(), gso: bool('offload.gso').optional(), gro: bool('offload.gro').optional() }).optional(),
    routes: z.array(routeSchema).optional(),
    impair: impairSchema.optional(),
    ...topo.linkTuningFields,
  },
  'A namespace standing for a VM/container, attached to a switch by a veth pair',
);

/** An integer-or-keyword field; the same message whichever alternative rejected the value. */
function intOr<const K extends readonly [string, ...string[]]>(min: number, max: number, words: K, msg: (iss: { input?: unknown }) => string) {
  return z.union([z.preprocess(hexToInt, z.int({ error: msg }).min(min, { error: msg }).max(max, { error: msg })), z.enum(words, { error: msg })], { error: msg });
}

export const ttl = intOr(0, 255, ['inherit', 'auto'], (iss) => `${show(iss.input)} is not a valid ttl; use 0..255, inherit or auto`)
  .meta({ description: '0..255, inherit or auto (0)' });

export const tos = intOr(0, 255, ['inherit'], (iss) => `${show(iss.input)} is not a valid tos; use 0..255 (e.g. 0x28) or inherit`)
  .superRefine((v, ctx) => {
    if (typeof v === 'number' && (v & 3) !== 0)
      ctx.addIssue({
        code: 'custom',
        message: `${hex(v)} has ECN bits set (${hex(v & 3).replace('0x', '0x0')}); the outer ECN is always copied from the inner packet — use ${hex(v & ~3)} or inherit`,
      });
  })
  .meta({
    description: 'Outer TOS 0..255 with the ECN bits (0x03) clear, or inherit',
    anyOf: [TOS_BYTE_RULES, { type: 'string', pattern: TOS_HEX_PATTERN }, { type: 'string', enum: ['inherit'] }],
  });

export const optionSchema = obj({
  class: intIn(0, 0xffff, 'option class', true),
  type: intIn(0, 0xff, 'option type', true),
  data: z
    .string({ error: (iss) => `${show(iss.input)} is not valid option data; write hex in quotes, e.g. data: "00010002"` })
    .superRefine((v, ctx) => {
      const h = v.replace(/^0x/i, '');
      if (!/^[0-9a-f]*$/i.test(h)) ctx.addIssue({ code: 'custom', message: `${show(v)} is not hex; use hex digits, e.g. "00010002"` });
      else if (h.length % 8 !== 0) ctx.addIssue({ code: 'custom', message: `option data is ${h.length / 2} bytes; it must be a multiple of 4 bytes (8 hex digits)` });
      else if (h.length / 2 > 124) ctx.addIssue({ code: 'custom', message: `option data is ${h.length / 2} bytes; at most 124 bytes allowed` });
    })
    .optional(),
});

export const keyOrFlow = intOr(0, 0xffffffff, ['flow'], (iss) => `${show(iss.input)} is not a valid key; use 0..4294967295 or flow`);

const ovsTunnelSchema = obj({
  key: keyOrFlow.optional(),
  in_key: keyOrFlow.optional(),
  out_key: keyOrFlow.optional(),
  remote_ip: z.literal('flow', { error: (iss) => `${show(iss.input)} is not allowed; remote_ip can only be "flow" (the address comes from the hosts)` }).optional(),
  local_ip: z.union([z.literal('flow'), address], { error: (iss) => `${show(iss.input)} is not valid; use an address or flow` }).optional(),
  df_default: bool('df_default').optional(),
  csum: bool('csum').optional(),
  egress_pkt_mark: intIn(0, 0xffffffff, 'packet mark').optional(),
  psk: pskSchema.optional(),
});

export const tunnelSchema = obj(
  {
    name: nameSchema,
    between: z
      .array(nameSchema, { error: (iss) => `${show(iss.input)} is not valid; use two switch names or two host names, e.g. [sw1, sw2]` })
      .length(2, { error: (iss) => `between needs exactly two ends (switches or hosts), got ${Array.isArray(iss.input) ? iss.input.length : show(iss.input)}` }),
    type: oneOf(['geneve', 'vxlan', 'gre'], 'tunnel type').optional(),
    impl: oneOf(['kernel', 'ovs'], 'tunnel implementation').optional(),
    network: nameSchema.optional(),
    family: family.optional(),
    addresses: z.array(cidr()).optional().meta({ description: 'Routed tunnels: one address per end' }),
    mtu: mtu.optional(),
    vni: intIn(0, 0xffffff, 'VNI (24 bits)').optional().meta({ description: 'Virtual network identifier 0..16777215' }),
    dstport: intIn(1, 65535, 'UDP port').optional(),
    ttl: ttl.optional(),
    tos: tos.optional(),
    df: dfSchema({ show, oneOf }).optional(),
    flowlabel: intIn(0, 0xfffff, 'IPv6 flow label (20 bits)', true).optional(),
    udpcsum: bool('udpcsum').optional(),
    udp6zerocsumtx: bool('udp6zerocsumtx').optional(),
    udp6zerocsumrx: bool('udp6zerocsumrx').optional(),
    external: bool('external').optional(),
    innerprotoinherit: bool('innerprotoinherit').optional(),
    srcport: obj({ low: intIn(1, 65535, 'UDP port'), high: intIn(1, 65535, 'UDP port') }).optional(),
    learning: bool('learning').optional(),
    key: intIn(0, 0xffffffff, 'GRE key').optional(),
    options: z.array(optionSchema).optional().meta({ description: 'Geneve options (TLVs)' }),
    ovn: obj({ ingress: intIn(1, 32767, 'OVN ingress port key'), egress: intIn(1, 65535, 'OVN egress port key') }).optional(),
    ovs: ovsTunnelSchema.optional(),
    ends: tunnelEndsField({ obj, intIn, bool, oneOf, show, address, keyOrFlow, optionSchema, tos, ttl }),
    ...topo.linkTuningFields,
    ipsec: tunnelIpsecSchema.optional(),
  },
  'A tunnel between two switches (L2) or two hosts (routed)',
);

export const pingSchema = obj({
  from: nameList,
  to: target,
  family: family.optional(),
  count: intIn(1, 100000, 'ping count').optional(),
  size: intIn(0, 65507, 'ping payload size').optional(),
  df: bool('df').optional(),
  interval: num(0, 'ping interval', 'seconds').optional(),
  deadline: num(0, 'ping deadline', 'seconds').optional(),
  expect: oneOf(['reachable', 'unreachable'], 'expectation').optional(),
  max_loss: percent.optional(),
  ...look.pingKnobs,
});

export const iperfSchema = obj({
  from: nameList,
  to: target,
  family: family.optional(),
  protocol: oneOf(['tcp', 'udp'], 'protocol').optional(),
  duration: num(0, 'duration', 'seconds').optional(),
  parallel: intIn(1, 128, 'number of parallel streams').optional(),
  reverse: bool('reverse').optional(),
  bitrate: rate.optional(),
  min: rate.optional(),
  max_loss: percent.optional(),
  ...look.iperfKnobs,
});

export const mtuCheckSchema = obj({
  from: nameList,
  to: target,
  family: family.optional(),
  expect: mtu.optional(),
  refused: oneOf(['signalled', 'icmp', 'local', 'silent'], 'refusal')
    .optional()
    .meta({ description: 'How DF packets one byte above the path MTU must be refused: signalled (default: an ICMP too-big or the sender\'s own EMSGSIZE), icmp, local, or silent (assert a PMTU black hole)' }),
});

export const captureSchema = obj({
  host: nameSchema,
  interface: z.string({ error: (iss) => `${show(iss.input)} is not valid; use a network name or an interface name` }),
  during: nameSchema,
  // 0 only with `forbid` (semantic.ts): "none of these on the wire", e.g. nothing leaks past a drop flow.
  at_least: intIn(0, 1000000, 'packet count').optional(),
  // Mappings and lists are values of keys like geneve.ovn {ingress, egress} and geneve.option(s);
  // lib/checks/capture-expect.ts validates every key and value.
  // `ovn: {datapath, ingress, egress}` (OVN_EXPECT_KEY, lib/checks/capture-ovn.ts) is resolved to wire keys before matching.
  expect: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.record(z.string(), z.unknown()), z.array(z.unknown())])).optional().meta({ propertyNames: { pattern: captureKeyPattern(['ovn']) } }),
  ...look.captureKnobs,
  // Same keys as expect: the capture fails when any packet matches all of them (e.g. esp: false).
  forbid: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.record(z.string(), z.unknown()), z.array(z.unknown())])).optional().meta({ propertyNames: { pattern: captureKeyPattern() } }),
});

export const CHECK_KINDS = ['ping', 'iperf', 'mtu', 'capture', 'impair', 'state', 'counter', 'log', 'transfer', 'ovn'] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];
/** Kinds allowed inside an impair step's `then`. */
export const INNER_CHECK_KINDS = ['ping', 'iperf', 'mtu'] as const;

/** Where an impair step applies: one host interface, a guest's NIC, or every port of a network. */
export const impairTargetSchema = obj(
  {
    host: nameSchema.optional(),
    interface: z.string({ error: (iss) => `${show(iss.input)} is not valid; use a network name or an interface name of the host` }).optional(),
    guest: nameSchema.optional(),
    network: nameSchema.optional(),
  },
  'One of: { host, interface } (an underlay NIC), { guest } (its NIC), { network } (every host port of it)',
);

export const innerCheckSchema = obj({
  name: nameSchema.optional(),
  ping: pingSchema.optional(),
  iperf: iperfSchema.optional(),
  mtu: mtuCheckSchema.optional(),
})
  .superRefine((c, ctx) => {
    const kinds = INNER_CHECK_KINDS.filter((k) => c[k] !== undefined);
    if (kinds.length !== 1)
      ctx.addIssue({
        code: 'custom',
        message: kinds.length === 0 ? 'a check under "then" needs exactly one kind: ping, iperf or mtu' : `a check has exactly one kind, found ${kinds.join(' and ')}; split it into separate checks`,
      });
  })
  .meta({ description: 'A check run while the impairment is on: one of ping, iperf, mtu' });

export const impairCheckSchema = obj(
  { on: impairTargetSchema, ...impairFields },
  'Apply netem to a link, run the checks under "then", always clear it',
);

export const checkSchema = obj({
  name: nameSchema.optional(),
  ping: pingSchema.optional(),
  iperf: iperfSchema.optional(),
  mtu: mtuCheckSchema.optional(),
  capture: captureSchema.optional(),
  impair: impairCheckSchema.optional(),
  state: look.state.optional(),
  counter: look.counter.optional(),
  log: look.log.optional(),
  transfer: look.transfer.optional(),
  ovn: ovnCheckSchema.optional().meta({ description: 'A read-only look at the lab\'s OVN (nbctl, sbctl, trace with expect; or tunnels: mesh)' }),
  then: z.array(innerCheckSchema, { error: (iss) => `${show(iss.input)} is not valid; "then" is a list of checks` }).optional(),
})
  .superRefine((c, ctx) => {
    const kinds = CHECK_KINDS.filter((k) => c[k] !== undefined);
    if (kinds.length !== 1)
      ctx.addIssue({
        code: 'custom',
        message:
          kinds.length === 0
            ? 'a check needs exactly one kind: ping, iperf, mtu, capture, impair, state, counter, log, transfer or ovn'
            : `a check has exactly one kind, found ${kinds.join(' and ')}; split it into separate checks`,
      });
    else if (c.impair !== undefined && !c.then?.length)
      ctx.addIssue({ code: 'custom', path: ['impair'], message: 'an impair step needs "then": the checks to run while the impairment is on, e.g. then: [{ iperf: { from: left, to: right, min: 20Mbit } }]' });
    else if (c.impair === undefined && c.then !== undefined)
      ctx.addIssue({ code: 'custom', path: ['then'], message: `"then" belongs to an impair step; this is a ${kinds[0]} check — remove "then" or make it an impair step` });
  })
  .meta({
    description: 'One check: exactly one of ping, iperf, mtu, capture, impair, state, counter, log, transfer (plus optional name; impair has "then")',
    // The superRefine above, for editors: exactly one kind; "then" with impair and only with it.
    oneOf: CHECK_KINDS.map((k) => ({ required: [k] })),
    dependentRequired: { then: ['impair'], impair: ['then'] },
  });

const partial = <T extends z.ZodObject>(s: T) => s.partial();

export const defaultsSchema = obj({
  network: partial(networkSchema).optional(),
  host: partial(hostSchema).optional(),
  router: partial(routerSchema).optional(),
  switch: partial(switchSchema).optional(),
  guest: partial(guestSchema).optional(),
  tunnel: partial(tunnelSchema).optional(),
  ping: partial(pingSchema).optional(),
  iperf: partial(iperfSchema).optional(),
  mtu: partial(mtuCheckSchema).optional(),
  capture: partial(captureSchema).optional(),
  transfer: partial(look.transfer).optional(),
}, 'Shallow-merged into every object of that kind (the object wins)');

const list = <T extends z.ZodType>(item: T, what: string) =>
  z.array(item, { error: (iss) => `${show(iss.input)} is not valid; ${what} must be a list` }).optional();

export const recipeSchema = obj(
  {
    lab: z
      .string({ error: (iss) => (iss.input === undefined ? 'missing required field "lab"; add e.g. lab: my-lab' : `${show(iss.input)} is not a valid lab name; use lower-case letters, digits and "-"`) })
      .superRefine((v, ctx) => {
        const p = nameProblem(v);
        if (p) ctx.addIssue({ code: 'custom', message: p });
        else if (v.length > LAB_NAME_MAX) ctx.addIssue({ code: 'custom', message: `"${v}" is ${v.length} characters; a lab name has at most ${LAB_NAME_MAX} (it prefixes every namespace)` });
      })
      .meta({ description: 'Lab name: ^[a-z][a-z0-9-]*$, at most 20 characters, prefixes everything', ...LAB_NAME_RULES }),
    description: z.string().optional(),
    variables: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'variable names use letters, digits and "_"' }), z.union([z.string(), z.number(), z.boolean()], { error: (iss) => `${show(iss.input)} is not allowed; a variable is a scalar (string, number or boolean)` }))
      .optional()
      .meta({ description: 'name -> scalar; "${name}" in any string is replaced' }),
    defaults: defaultsSchema.optional(),
    networks: list(networkSchema, 'networks'),
    hosts: list(hostSchema, 'hosts'),
    routers: list(routerSchema, 'routers'),
    switches: list(switchSchema, 'switches'),
    guests: list(guestSchema, 'guests'),
    tunnels: list(tunnelSchema, 'tunnels'),
    checks: list(checkSchema, 'checks'),
    steps: list(stepSchemaFor(checkSchema), 'steps').meta({ description: 'Ordered scenario: checks and actions run one after another after the checks; the first failure stops it' }),
    ovn: ovnSchema.optional().meta({ description: 'OVN as the Geneve control plane (central, chassis, logical switches/routers/ACLs)' }),
  },
  'geneve-lab recipe (v1)',
);

export type RawRecipe = z.output<typeof recipeSchema>;
export type RawTunnel = z.output<typeof tunnelSchema>;
export type RawHost = z.output<typeof hostSchema>;
export type RawRouter = z.output<typeof routerSchema>;
export type RawCheck = z.output<typeof checkSchema>;
export type RawImpairment = z.output<typeof impairSchema>;
export type RawInnerCheck = z.output<typeof innerCheckSchema>;
export type RawStep = NonNullable<RawRecipe['steps']>[number];

/** JSON Schema (draft 2020-12) of the recipe format, with descriptions, for editors. */
export function recipeJsonSchema(): Record<string, unknown> {
  const s = z.toJSONSchema(recipeSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { ...(allowWrittenForms(s) as Record<string, unknown>), $id: 'https://geneve-lab.dev/schema/recipe-v1.json', title: 'geneve-lab recipe' };
}

const VARIABLE_PATTERN = '^\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}$';
/**
 * Numbers and booleans may also be written as "${variable}", and integers as "0x.." strings;
 * the zod preprocessing that accepts them is not expressible in JSON Schema, so add it here.
 */
function allowWrittenForms(node: unknown, inPropertyNames = false): unknown {
  if (Array.isArray(node)) return node.map((n) => allowWrittenForms(n));
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node))
    out[k] = k === 'properties' || k === '$defs' ? mapValues(v, (x) => allowWrittenForms(x)) : allowWrittenForms(v, k === 'propertyNames');
  const t = out.type;
  if (t === 'integer' || t === 'number' || t === 'boolean') {
    const { description, ...rest } = out;
    const alts: Record<string, unknown>[] = [rest, { type: 'string', pattern: VARIABLE_PATTERN }];
    // A constrained integer (a TOS byte: multipleOf 4) lists its own hex form beside it.
    if (t === 'integer' && out.multipleOf === undefined) alts.push({ type: 'string', pattern: '^0x[0-9a-fA-F]+$' });
    return description === undefined ? { anyOf: alts } : { description, anyOf: alts };
  }
  // A string with a syntax (address, name, MAC) or from a list may also be written with a variable in it ("${base}.11/24").
  if (t === 'string' && (out.pattern !== undefined || out.enum !== undefined) && !inPropertyNames) {
    const { description, ...rest } = out;
    const alts = [rest, { type: 'string', pattern: VARIABLE_USE_PATTERN }];
    return description === undefined ? { anyOf: alts } : { description, anyOf: alts };
  }
  return out;
}

function mapValues(v: unknown, f: (x: unknown) => unknown): unknown {
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, f(x)]));
}
