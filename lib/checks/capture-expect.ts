/**
 * The capture expectation language: flat dotted keys (`geneve.vni: 5`, `ip.tos: 0x28`,
 * `geneve.ovn: {ingress: 1, egress: 2}`), validated once, then matched against decoded packets.
 * A packet matches when every given key matches; failures say what was expected and what was seen.
 *
 * Semantics worth knowing: numbers may be decimal or "0x" hex strings; `geneve.options` is the exact
 * option list (any order, [] = none) while `geneve.option` only requires the given option(s) to be
 * present; an option's `critical` must agree with bit 0x80 of its `type`; `udp.checksum` and
 * `ipv6.flowlabel` also take "zero"/"nonzero"; addresses compare in canonical form; nested
 * `geneve: {vni: 5}` is the same as `geneve.vni: 5`. Only tunnel packets count: Geneve, VXLAN, GRE,
 * and ESP (whose tunnel and inner fields are those of the decrypted packet when the lab's keys
 * decrypt it; `esp: true` = carried in ESP, `esp: false` = not). `forbid` takes the same keys: a
 * capture fails when any packet matches all of them (`forbid: { esp: false }`: nothing in clear).
 */
import { canonicalIp, canonicalMac } from '../wire/addr.js';
import { describeDecodeError, type DecodedPacket } from '../wire/decode.js';
import type { GeneveOption } from '../wire/geneve.js';
import { escapeRegExp } from '../regexp.js';

interface OptionSpec {
  class: number;
  type: number;
  critical?: boolean;
  data?: string;
}

interface KeyDef {
  /** What the value means, for error messages ("an integer 0–255"). */
  describe: string;
  /** Parse the user's value; a string result is a problem. */
  parse(v: unknown): { value: unknown } | string;
  /** Seen value of this key in a packet, or undefined when the packet lacks the header. */
  get(p: DecodedPacket): unknown;
  /** Why a packet lacks the value, e.g. "no geneve header". */
  lacks: string | ((p: DecodedPacket) => string);
  equal(expected: any, seen: any): boolean;
  show(v: any): string;
}

// ---------- value parsers ----------

function parseUint(v: unknown, max: number): number | undefined {
  let n: number | undefined;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^\s*(0x[0-9a-f]+|\d+)\s*$/i.test(v)) n = Number(v.trim());
  if (n === undefined || !Number.isInteger(n) || n < 0 || n > max) return undefined;
  return n;
}
const uint = (max: number, hexShow = false): Pick<KeyDef, 'describe' | 'parse' | 'equal' | 'show'> => ({
  describe: `an integer 0–${max}${max > 9 ? ` (decimal or 0x hex)` : ''}`,
  parse: (v) => {
    const n = parseUint(v, max);
    return n === undefined ? `must be an integer 0–${max} (decimal or 0x hex), got ${JSON.stringify(v)}` : { value: n };
  },
  equal: (a, b) => a === b,
  show: (v) => (hexShow ? `0x${Number(v).toString(16)}` : String(v)),
});
const bool: Pick<KeyDef, 'describe' | 'parse' | 'equal' | 'show'> = {
  describe: 'true or false',
  parse: (v) => (typeof v === 'boolean' ? { value: v } : v === 'true' || v === 'false' ? { value: v === 'true' } : `must be true or false, got ${JSON.stringify(v)}`),
  equal: (a, b) => a === b,
  show: String,
};
/** A number, or "zero"/"nonzero" (checksums, flow labels). */
const zeroOr = (max: number, hexShow: boolean): Pick<KeyDef, 'describe' | 'parse' | 'equal' | 'show'> => ({
  describe: `"zero", "nonzero" or an integer 0–${max}`,
  parse: (v) => {
    if (v === 'zero' || v === 'nonzero') return { value: v };
    const n = parseUint(v, max);
    return n === undefined ? `must be "zero", "nonzero" or an integer 0–${max}, got ${JSON.stringify(v)}` : { value: n };
  },
  equal: (a, b) => (a === 'zero' ? b === 0 : a === 'nonzero' ? b !== 0 : a === b),
  show: (v) => (typeof v === 'string' ? v : hexShow ? `0x${v.toString(16)}` : String(v)),
});
const ip = (fam?: 4 | 6): Pick<KeyDef, 'describe' | 'parse' | 'equal' | 'show'> => ({
  describe: 'an IPv4 or IPv6 address',
  parse: (v) => {
    const c = typeof v === 'string' ? canonicalIp(v) : undefined;
    if (!c) return `must be an IP address without prefix length, got ${JSON.stringify(v)}`;
    if (fam === 4 && c.includes(':')) return `must be an IPv4 address, got ${JSON.stringify(v)}`;
    return { value: c };
  },
  equal: (a, b) => a === b,
  show: String,
});
const mac: Pick<KeyDef, 'describe' | 'parse' | 'equal' | 'show'> = {
  describe: 'a MAC address like 02:00:00:00:00:01',
  parse: (v) => {
    const c = typeof v === 'string' ? canonicalMac(v) : undefined;
    return c ? { value: c } : `must be a MAC address like 02:00:00:00:00:01, got ${JSON.stringify(v)}`;
  },
  equal: (a, b) => a === b,
  show: String,
};
const oneOf = (names: string[]): Pick<KeyDef, 'describe' | 'parse' | 'equal' | 'show'> => ({
  describe: names.map((n) => `"${n}"`).join(' or '),
  parse: (v) => (typeof v === 'string' && names.includes(v) ? { value: v } : `must be ${names.map((n) => `"${n}"`).join(' or ')}, got ${JSON.stringify(v)}`),
  equal: (a, b) => a === b,
  show: String,
});

const PROTO_NAMES: Record<string, number> = { ethernet: 0x6558, teb: 0x6558, ipv4: 0x0800, ipv6: 0x86dd };
const INNER_TYPES: Record<string, number> = { arp: 0x0806, ipv4: 0x0800, ipv6: 0x86dd };

function parseHexData(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toLowerCase().replace(/^0x/, '').replace(/[\s:.-]/g, '');
  return /^([0-9a-f]{2})*$/.test(s) ? s : undefined;
}

function parseOptionSpec(v: unknown, where: string): OptionSpec | string {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return `${where} must be a mapping {class, type, critical?, data?}, got ${JSON.stringify(v)}`;
  const o = v as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !['class', 'type', 'critical', 'data'].includes(k));
  if (unknown.length) return `${where} has unknown field(s) ${unknown.join(', ')}; allowed: class, type, critical, data`;
  const cls = parseUint(o.class, 0xffff);
  if (cls === undefined) return `${where}.class must be an integer 0–0xffff (e.g. 0x0102), got ${JSON.stringify(o.class)}`;
  const type = parseUint(o.type, 0xff);
  if (type === undefined) return `${where}.type must be an integer 0–0xff, critical bit 0x80 included (e.g. 0x80), got ${JSON.stringify(o.type)}`;
  const spec: OptionSpec = { class: cls, type };
  if (o.critical !== undefined) {
    if (typeof o.critical !== 'boolean') return `${where}.critical must be true or false, got ${JSON.stringify(o.critical)}`;
    if (o.critical !== ((type & 0x80) !== 0)) {
      return `${where}.critical is ${o.critical} but type 0x${type.toString(16)} has the critical bit (0x80) ${type & 0x80 ? 'set' : 'clear'}; the critical bit is part of the type`;
    }
    spec.critical = o.critical;
  }
  if (o.data !== undefined) {
    const d = parseHexData(o.data);
    if (d === undefined) return `${where}.data must be hex bytes like "00010002", got ${JSON.stringify(o.data)}`;
    if (d.length % 8 !== 0 || d.length / 2 > 124) return `${where}.data must be a multiple of 4 bytes, at most 124 (got ${d.length / 2} bytes)`;
    spec.data = d;
  }
  return spec;
}

function optionMatches(spec: OptionSpec, o: GeneveOption): boolean {
  return spec.class === o.class && spec.type === o.type && (spec.data === undefined || spec.data === o.data);
}

function showOption(o: OptionSpec | GeneveOption): string {
  const c = o.type & 0x80 ? '(C)' : '';
  return `0x${o.class.toString(16).padStart(4, '0')}/0x${o.type.toString(16).padStart(2, '0')}${c}${o.data !== undefined ? ` ${o.data || '(no data)'}` : ''}`;
}

const showOptions = (os: (OptionSpec | GeneveOption)[]) => (os.length ? `[${os.map(showOption).join(', ')}]` : '[] (no options)');

// ---------- the keys ----------

const outerIp = (p: DecodedPacket) => p.outer;
const KEYS: Record<string, KeyDef> = {
  // `none`: a frame that is no tunnel packet (a capture on a guest's port sees those).
  encap: { ...oneOf(['geneve', 'vxlan', 'gre', 'none']), get: (p) => p.encap ?? (p.esp ? undefined : 'none'), lacks: 'no tunnel header (an ESP packet that was not decrypted?)' },
  esp: { ...bool, get: (p) => p.esp !== undefined, lacks: '' },
  'esp.spi': { ...uint(0xffffffff, true), get: (p) => p.esp?.spi, lacks: 'not ESP' },
  'esp.seq': { ...uint(0xffffffff), get: (p) => p.esp?.seq, lacks: 'not ESP' },
  'esp.decrypted': { ...bool, get: (p) => p.esp?.decrypted, lacks: 'not ESP' },
  'gre.proto': {
    describe: 'an EtherType (0x6558) or "ethernet"/"teb", "ipv4", "ipv6"',
    parse: (v) => {
      if (typeof v === 'string' && PROTO_NAMES[v.toLowerCase()] !== undefined) return { value: PROTO_NAMES[v.toLowerCase()] };
      const n = parseUint(v, 0xffff);
      return n === undefined ? `must be an EtherType like 0x6558 or one of "ethernet", "teb", "ipv4", "ipv6", got ${JSON.stringify(v)}` : { value: n };
    },
    equal: (a, b) => a === b,
    show: (v) => `0x${Number(v).toString(16).padStart(4, '0')}`,
    get: (p) => p.gre?.proto,
    lacks: 'no gre header',
  },
  'gre.key': { ...uint(0xffffffff), get: (p) => (p.gre ? (p.gre.key ?? 'none') : undefined), lacks: 'no gre header' },
  'gre.csum': { ...bool, get: (p) => p.gre?.checksumPresent, lacks: 'no gre header' },
  'outer.family': { ...oneOf(['ipv4', 'ipv6']), get: (p) => outerIp(p)?.family, lacks: 'no outer IP header' },
  'outer.src': { ...ip(), get: (p) => outerIp(p)?.src, lacks: 'no outer IP header' },
  'outer.dst': { ...ip(), get: (p) => outerIp(p)?.dst, lacks: 'no outer IP header' },
  'ip.tos': { ...uint(255, true), get: (p) => p.ip?.tos, lacks: 'no outer IPv4 header' },
  'ip.dscp': { ...uint(63), get: (p) => p.ip?.dscp, lacks: 'no outer IPv4 header' },
  'ip.ecn': { ...uint(3), get: (p) => p.ip?.ecn, lacks: 'no outer IPv4 header' },
  'ip.ttl': { ...uint(255), get: (p) => p.ip?.ttl, lacks: 'no outer IPv4 header' },
  'ip.df': { ...bool, get: (p) => p.ip?.df, lacks: 'no outer IPv4 header' },
  'ip.proto': { ...uint(255), get: (p) => p.ip?.proto, lacks: 'no outer IPv4 header' },
  'ip.len': { ...uint(65535), get: (p) => p.ip?.totalLength, lacks: 'no outer IPv4 header' },
  'ipv6.tclass': { ...uint(255, true), get: (p) => p.ipv6?.tclass, lacks: 'no outer IPv6 header' },
  'ipv6.hlim': { ...uint(255), get: (p) => p.ipv6?.hlim, lacks: 'no outer IPv6 header' },
  'ipv6.flowlabel': { ...zeroOr(0xfffff, true), get: (p) => p.ipv6?.flowlabel, lacks: 'no outer IPv6 header' },
  'ipv6.plen': { ...uint(65535), get: (p) => p.ipv6?.payloadLength, lacks: 'no outer IPv6 header' },
  'udp.srcport': { ...uint(65535), get: (p) => p.udp?.srcport, lacks: 'no UDP header' },
  'udp.dstport': { ...uint(65535), get: (p) => p.udp?.dstport, lacks: 'no UDP header' },
  'udp.checksum': { ...zeroOr(0xffff, true), get: (p) => p.udp?.checksum, lacks: 'no UDP header' },
  'udp.length': { ...uint(65535), get: (p) => p.udp?.length, lacks: 'no UDP header' },
  'geneve.version': { ...uint(3), get: (p) => p.geneve?.version, lacks: 'no geneve header' },
  'geneve.oam': { ...bool, get: (p) => p.geneve?.oam, lacks: 'no geneve header' },
  'geneve.critical': { ...bool, get: (p) => p.geneve?.critical, lacks: 'no geneve header' },
  'geneve.proto': {
    describe: 'an EtherType (0x6558) or "ethernet", "ipv4", "ipv6"',
    parse: (v) => {
      if (typeof v === 'string' && PROTO_NAMES[v.toLowerCase()] !== undefined) return { value: PROTO_NAMES[v.toLowerCase()] };
      const n = parseUint(v, 0xffff);
      return n === undefined ? `must be an EtherType like 0x6558 or one of "ethernet", "ipv4", "ipv6", got ${JSON.stringify(v)}` : { value: n };
    },
    equal: (a, b) => a === b,
    show: (v) => `0x${Number(v).toString(16).padStart(4, '0')}`,
    get: (p) => p.geneve?.proto,
    lacks: 'no geneve header',
  },
  'geneve.vni': { ...uint(0xffffff), get: (p) => p.geneve?.vni, lacks: 'no geneve header' },
  'geneve.options': {
    describe: 'the exact list of options (any order), each {class, type, critical?, data?}; [] means none',
    parse: (v) => {
      if (!Array.isArray(v)) return `must be a list of options {class, type, critical?, data?} ([] for none), got ${JSON.stringify(v)}`;
      const specs: OptionSpec[] = [];
      for (const [i, x] of v.entries()) {
        const s = parseOptionSpec(x, `[${i}]`);
        if (typeof s === 'string') return s;
        specs.push(s);
      }
      return { value: specs };
    },
    // Exact: same count, and every expected option pairs with a distinct seen option.
    equal: (exp: OptionSpec[], seen: GeneveOption[]) => {
      if (exp.length !== seen.length) return false;
      const left = [...seen];
      return exp.every((s) => {
        const i = left.findIndex((o) => optionMatches(s, o));
        if (i < 0) return false;
        left.splice(i, 1);
        return true;
      });
    },
    show: (v) => showOptions(v),
    get: (p) => p.geneve?.options,
    lacks: 'no geneve header',
  },
  'geneve.option': {
    describe: 'an option {class, type, critical?, data?} (or a list) that must be present among others',
    parse: (v) => {
      const list = Array.isArray(v) ? v : [v];
      const specs: OptionSpec[] = [];
      for (const [i, x] of list.entries()) {
        const s = parseOptionSpec(x, Array.isArray(v) ? `[${i}]` : 'value');
        if (typeof s === 'string') return s;
        specs.push(s);
      }
      return { value: specs };
    },
    equal: (exp: OptionSpec[], seen: GeneveOption[]) => exp.every((s) => seen.some((o) => optionMatches(s, o))),
    // Seen values are decoded options (they carry `length`); expected ones are specs.
    show: (v) => (!v.length || 'length' in v[0] ? showOptions(v) : `containing ${showOptions(v)}`),
    get: (p) => p.geneve?.options,
    lacks: 'no geneve header',
  },
  'geneve.ovn': {
    describe: '{ingress, egress}: OVN logical port keys (ingress 0–32767, egress 0–65535)',
    parse: (v) => {
      if (!v || typeof v !== 'object' || Array.isArray(v)) return `must be a mapping {ingress, egress}, got ${JSON.stringify(v)}`;
      const o = v as Record<string, unknown>;
      const extra = Object.keys(o).filter((k) => k !== 'ingress' && k !== 'egress');
      if (extra.length) return `has unknown field(s) ${extra.join(', ')}; allowed: ingress, egress`;
      if (o.ingress === undefined && o.egress === undefined) return 'needs ingress, egress or both';
      const out: { ingress?: number; egress?: number } = {};
      if (o.ingress !== undefined) {
        const n = parseUint(o.ingress, 0x7fff);
        if (n === undefined) return `ingress must be an integer 0–32767 (a 15-bit port key), got ${JSON.stringify(o.ingress)}`;
        out.ingress = n;
      }
      if (o.egress !== undefined) {
        const n = parseUint(o.egress, 0xffff);
        if (n === undefined) return `egress must be an integer 0–65535 (a 16-bit port key; ≥32768 are multicast groups), got ${JSON.stringify(o.egress)}`;
        out.egress = n;
      }
      return { value: out };
    },
    equal: (a, b) => (a.ingress === undefined || a.ingress === b.ingress) && (a.egress === undefined || a.egress === b.egress),
    show: (v) => [v.ingress !== undefined ? `ingress ${v.ingress}` : '', v.egress !== undefined ? `egress ${v.egress}` : ''].filter(Boolean).join(' '),
    get: (p) => p.geneve?.ovn,
    lacks: 'no OVN option (class 0x0102 type 0x80)',
  },
  'vxlan.vni': { ...uint(0xffffff), get: (p) => p.vxlan?.vni, lacks: 'no vxlan header' },
  'vxlan.flags': { ...uint(255, true), get: (p) => p.vxlan?.flags, lacks: 'no vxlan header' },
  'inner.family': { ...oneOf(['ipv4', 'ipv6']), get: (p) => p.inner?.family, lacks: 'no inner IP header' },
  'inner.src': { ...ip(), get: (p) => p.inner?.src, lacks: 'no inner IP header' },
  'inner.dst': { ...ip(), get: (p) => p.inner?.dst, lacks: 'no inner IP header' },
  'inner.smac': { ...mac, get: (p) => p.inner?.smac, lacks: 'no inner Ethernet header' },
  'inner.dmac': { ...mac, get: (p) => p.inner?.dmac, lacks: 'no inner Ethernet header' },
  'inner.proto': { ...uint(255), get: (p) => p.inner?.proto, lacks: 'no inner IP header' },
  'inner.ethertype': {
    describe: 'an EtherType (0x0806) or "arp", "ipv4", "ipv6"',
    parse: (v) => {
      if (typeof v === 'string' && INNER_TYPES[v.toLowerCase()] !== undefined) return { value: INNER_TYPES[v.toLowerCase()] };
      const n = parseUint(v, 0xffff);
      return n === undefined ? `must be an EtherType like 0x0806 or one of "arp", "ipv4", "ipv6", got ${JSON.stringify(v)}` : { value: n };
    },
    equal: (a, b) => a === b,
    show: (v) => `0x${Number(v).toString(16).padStart(4, '0')}`,
    get: (p) => p.inner?.ethertype,
    lacks: 'no inner frame',
  },
  'inner.ttl': { ...uint(255), get: (p) => p.inner?.ttl, lacks: 'no inner IP header' },
  'inner.icmp.type': { ...uint(255), get: (p) => p.inner?.icmp?.type, lacks: 'no inner ICMP/ICMPv6 header' },
  'inner.icmp.code': { ...uint(255), get: (p) => p.inner?.icmp?.code, lacks: 'no inner ICMP/ICMPv6 header' },
  'inner.arp.op': {
    describe: '"request", "reply" or an ARP opcode 1–65535',
    parse: (v) => {
      if (v === 'request' || v === 'reply') return { value: v === 'request' ? 1 : 2 };
      const n = parseUint(v, 0xffff);
      return n === undefined || n === 0 ? `must be "request", "reply" or an opcode 1–65535, got ${JSON.stringify(v)}` : { value: n };
    },
    equal: (a, b) => a === b,
    show: (v) => (v === 1 ? 'request' : v === 2 ? 'reply' : `op ${v}`),
    get: (p) => p.inner?.arp?.op,
    lacks: 'no inner ARP packet',
  },
  'inner.arp.sha': { ...mac, get: (p) => p.inner?.arp?.sha, lacks: 'no inner ARP packet' },
  'inner.arp.spa': { ...ip(4), get: (p) => p.inner?.arp?.spa, lacks: 'no inner ARP packet' },
  'inner.arp.tha': { ...mac, get: (p) => p.inner?.arp?.tha, lacks: 'no inner ARP packet' },
  'inner.arp.tpa': { ...ip(4), get: (p) => p.inner?.arp?.tpa, lacks: 'no inner ARP packet' },
};

export const CAPTURE_KEYS: readonly string[] = Object.keys(KEYS);

/** Prefix of keys about a tunnel inside the tunnel: `nested.vxlan.vni`, `nested.inner.src`, `nested.nested.…`. */
export const NESTED_PREFIX = 'nested.';

/**
 * The top-level keys `expect`/`forbid` accept, as one regular expression for the recipe JSON
 * Schema (propertyNames): a key, a prefix a nested mapping continues (`geneve: {vni: 5}`),
 * either after any `nested.`, or `nested` itself; plus keys resolved before matching that only
 * stand at the top (`ovn`, lib/checks/capture-ovn.ts). Values are checked by validate only.
 */
export function captureKeyPattern(topLevelOnly: readonly string[] = []): string {
  const names = [...CAPTURE_KEYS, ...PREFIXES].map(escapeRegExp).join('|');
  const top = topLevelOnly.map((k) => `|${escapeRegExp(k)}`).join('');
  return `^(?:(?:nested\\.)*(?:${names}|nested)${top})$`;
}


/** Key → what its value means, for docs, `--help` and the JSON Schema export. */
export function describeCaptureKeys(): Record<string, string> {
  return {
    ...Object.fromEntries(Object.entries(KEYS).map(([k, d]) => [k, d.describe])),
    'nested.<key>': 'any key above, about the tunnel packet inside the tunnel (its outer header is the first tunnel\'s inner packet)',
  };
}

/** The definition of a key; `nested.K` is K looked at in the packet inside the tunnel. */
function keyDef(key: string): KeyDef | undefined {
  if (KEYS[key]) return KEYS[key];
  if (!key.startsWith(NESTED_PREFIX)) return undefined;
  const d = keyDef(key.slice(NESTED_PREFIX.length));
  if (!d) return undefined;
  return {
    ...d,
    get: (p) => (p.nested ? d.get(p.nested) : undefined),
    lacks: (p) => (p.nested ? `${lacksOf(d, p.nested)} inside the tunnel` : 'no tunnel packet inside the tunnel'),
  };
}

const lacksOf = (d: KeyDef, p: DecodedPacket) => (typeof d.lacks === 'string' ? d.lacks : d.lacks(p));
/** Every proper prefix of a dotted key: `inner`, `inner.arp` for `inner.arp.op`. */
const PREFIXES = new Set(CAPTURE_KEYS.flatMap((k) => k.split('.').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('.'))));

/**
 * Allow `geneve: {vni: 5}` and `inner: {arp: {op: request}}` as well as the dotted keys (nesting
 * under known prefixes; a known key's own mapping value, like geneve.ovn's, is left whole); under
 * `nested:` the same again (`nested: { vxlan: { vni: 5 } }`).
 */
function flatten(expect: Record<string, unknown>, prefix = ''): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [k, v] of Object.entries(expect)) {
    const isMap = v && typeof v === 'object' && !Array.isArray(v);
    const key = prefix + k;
    const bare = key.replace(/^(nested\.)+/, '');
    if (k === 'nested' && isMap) out.push(...flatten(v as Record<string, unknown>, `${key}.`));
    else if (!KEYS[bare] && PREFIXES.has(bare) && isMap) out.push(...flatten(v as Record<string, unknown>, `${key}.`));
    else out.push([key, v]);
  }
  return out;
}

function closest(key: string): string | undefined {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let prev = d[0]!;
      d[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const t = d[j]!;
        d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = t;
      }
    }
    return d[b.length]!;
  };
  let best: string | undefined;
  let bestD = 4;
  for (const k of CAPTURE_KEYS) {
    const dd = dist(key, k);
    if (dd < bestD) {
      best = k;
      bestD = dd;
    }
  }
  return best;
}

interface Parsed {
  key: string;
  def: KeyDef;
  value: any;
}

function parseExpect(expect: unknown, label = 'expect'): { problems: string[]; keys: Parsed[] } {
  if (expect === undefined || expect === null) return { problems: [], keys: [] };
  if (typeof expect !== 'object' || Array.isArray(expect)) return { problems: [`${label} must be a mapping of keys like geneve.vni: 5, got ${JSON.stringify(expect)}`], keys: [] };
  const problems: string[] = [];
  const keys: Parsed[] = [];
  const entries = flatten(expect as Record<string, unknown>);
  for (const [key, v] of entries) {
    const def = keyDef(key);
    if (!def) {
      const rest = key.replace(/^(nested\.)+/, '');
      const nearRest = closest(rest);
      const near = nearRest === undefined ? undefined : key.slice(0, key.length - rest.length) + nearRest;
      problems.push(`${label}.${key}: unknown key${near ? `; did you mean ${near}?` : ''} (known: ${CAPTURE_KEYS.join(', ')}; each also as nested.<key> for a tunnel inside the tunnel)`);
      continue;
    }
    const r = def.parse(v);
    if (typeof r === 'string') problems.push(`${label}.${key}: ${r}`);
    else keys.push({ key, def, value: r.value });
  }
  // Contradictions that no packet can satisfy.
  // (judged on the keys given, so a bad value elsewhere does not hide a contradiction)
  const has = (prefix: string) => entries.some(([k]) => keyDef(k) && k.startsWith(prefix));
  const tunnels = ['geneve.', 'vxlan.', 'gre.'].filter(has);
  if (tunnels.length > 1) problems.push(`${label}: has both ${tunnels.map((t) => `${t}*`).join(' and ')} keys; a packet is one or the other`);
  const espFlag = keys.find((k) => k.key === 'esp')?.value;
  if (espFlag === false && has('esp.')) problems.push(`${label}: esp is false (not carried in ESP) but esp.* keys are given`);
  if (has('ip.') && has('ipv6.')) problems.push(`${label}: has both ip.* (outer IPv4) and ipv6.* (outer IPv6) keys; the outer header is one or the other`);
  if (has('inner.arp.') && (has('inner.src') || has('inner.dst') || has('inner.icmp.') || has('inner.proto'))) problems.push(`${label}: has both inner.arp.* and inner IP keys; an inner packet is ARP or IP`);
  const encap = keys.find((k) => k.key === 'encap')?.value;
  for (const other of ['geneve', 'vxlan', 'gre'].filter((x) => x !== encap))
    if (encap && has(`${other}.`)) problems.push(`${label}: encap is ${encap} but ${other}.* keys are given`);
  if (encap === 'none' && (has('esp') || has('nested'))) problems.push(`${label}: encap is none (a frame that is no tunnel packet) but ${has('esp') ? 'esp' : 'nested.*'} keys are given`);
  const fam = keys.find((k) => k.key === 'outer.family')?.value;
  for (const k of keys.filter((x) => x.key === 'outer.src' || x.key === 'outer.dst')) {
    const f = String(k.value).includes(':') ? 'ipv6' : 'ipv4';
    if ((fam && fam !== f) || (f === 'ipv6' && has('ip.')) || (f === 'ipv4' && has('ipv6.'))) {
      problems.push(`${label}.${k.key}: ${k.value} is ${f}, which contradicts the other outer keys`);
    }
  }
  return { problems, keys };
}

/** Problems in a recipe's `capture.expect` (or `capture.match`: label) (empty when valid), for the recipe validator. */
export function validateCaptureExpect(expect: unknown, label = 'expect'): string[] {
  return parseExpect(expect, label).problems;
}

export interface CaptureMatch {
  ok: boolean;
  message: string;
  matched: number;
  figures: Record<string, string | number | boolean>;
}

function tally(values: string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  const shown = sorted.slice(0, 4).map(([v, n]) => `${v} ×${n}`);
  if (sorted.length > 4) shown.push(`${sorted.length - 4} other value(s)`);
  return shown.join(', ');
}

export interface MatchOptions {
  /** Keys selecting the packets judged (e.g. only inner ARP, only a given inner source). */
  match?: unknown;
  /** any: ≥ atLeast selected packets match; all: every selected one does; first: the first one does. */
  packets?: 'any' | 'all' | 'first';
  /** Keys no tunnel packet may match (e.g. `{ esp: false }`: nothing in clear where IPsec should carry it). */
  forbid?: unknown;
}

/**
 * Judge the encapsulated packets against the expectation: pass when at least `atLeast` of the
 * selected packets (those matching `opts.match`; all encapsulated ones by default) match every
 * expected key — or, with `packets: all`, when every selected packet does (and there are at
 * least `atLeast`), or with `packets: first`, when the first selected packet does.
 * Throws nothing: invalid expectations fail the check with the validator's problems.
 */
export function matchCapture(packets: DecodedPacket[], expect: unknown, atLeast: number, opts: MatchOptions = {}): CaptureMatch {
  const { problems, keys } = parseExpect(expect);
  const sel = parseExpect(opts.match, 'match');
  const forbidden = opts.forbid === undefined ? undefined : parseExpect(opts.forbid, 'forbid');
  if (forbidden) {
    problems.push(...forbidden.problems);
    if (!forbidden.problems.length && !forbidden.keys.length) problems.push('forbid: needs at least one key (e.g. esp: false), or it would forbid every packet');
  }
  const mode = opts.packets ?? 'any';
  const errors = packets.filter((p) => p.error);
  // Tunnel packets: Geneve/VXLAN/GRE, and ESP (decrypted or not).
  const encapsulated = packets.filter((p) => p.encap || p.esp);
  const all = [...keys, ...sel.keys];
  const encapKind = (['geneve', 'vxlan', 'gre'] as const).find((e) => all.some((k) => k.key.startsWith(`${e}.`)));
  // `encap: none` (in match or expect): the frames that are no tunnel packets, e.g. on a guest's port.
  const plain = all.some((k) => k.key === 'encap' && k.value === 'none');
  const plainFrames = packets.filter((p) => !p.encap && !p.esp);
  const wantsEsp = all.some((k) => k.key.startsWith('esp.') || (k.key === 'esp' && k.value === true));
  const test = (k: Parsed, p: DecodedPacket) => {
    const seen = k.def.get(p);
    return seen !== undefined && k.def.equal(k.value, seen);
  };
  const selected = sel.keys.map((k) => `${k.key} ${k.def.show(k.value)}`).join(', ');
  let population = plain ? plainFrames : encapKind ? encapsulated.filter((p) => p.encap === encapKind) : encapsulated;
  if (wantsEsp) population = population.filter((p) => p.esp);
  population = population.filter((p) => sel.keys.every((k) => test(k, p)));
  const noun = plain ? 'non-tunnel frame' : encapKind ? `${wantsEsp ? 'ESP-carried ' : ''}${encapKind} packet` : wantsEsp ? 'ESP packet' : 'encapsulated (geneve/vxlan/gre/ESP) packet';
  const withSel = selected ? ` with ${selected}` : '';
  /** "3 geneve packets with inner.ethertype 0x0806" */
  const pop = (n: number) => `${n} ${noun}${n === 1 ? '' : 's'}${withSel}`;
  const esp = packets.filter((p) => p.esp);
  const figures: Record<string, string | number | boolean> = {
    captured: packets.length,
    encapsulated: encapsulated.length,
    ...(selected ? { selected: population.length } : {}),
    matched: 0,
    at_least: atLeast,
    decode_errors: errors.length,
    ...(esp.length ? { esp: esp.length, esp_decrypted: esp.filter((p) => p.esp!.decrypted).length } : {}),
  };
  if (mode !== 'any') figures.packets = mode;
  if (problems.length || sel.problems.length) return { ok: false, message: `invalid capture expectation: ${[...sel.problems, ...problems].join('; ')}`, matched: 0, figures };

  const judged = mode === 'first' ? population.slice(0, 1) : population;
  const matching = judged.filter((p) => keys.every((k) => test(k, p)));
  figures.matched = matching.length;
  const wanted = keys.length ? keys.map((k) => `${k.key} ${k.def.show(k.value)}`).join(', ') : 'any tunnel packet';
  const plural = (n: number, s: string) => `${n} ${s}${n === 1 ? '' : 's'}`;
  const errText = errors.length
    ? `; ${plural(errors.length, 'packet')} could not be fully decoded: ${errors.slice(0, 3).map((p) => describeDecodeError(p)).join('; ')}${errors.length > 3 ? '; …' : ''}`
    : '';
  // No tunnel packet may match `forbid` (e.g. cleartext Geneve where IPsec should carry it) — no
  // frame at all when the capture is about frames that are no tunnel packets (encap: none).
  const plainForbid = plain || forbidden?.keys.some((k) => k.key === 'encap' && k.value === 'none');
  const forbidsTunnels = forbidden?.keys.some((k) => /^(geneve|vxlan|gre|esp|nested)\b/.test(k.key) || (k.key === 'encap' && k.value !== 'none'));
  const forbidPool = plainForbid ? (forbidsTunnels ? packets : plainFrames) : encapsulated;
  if (forbidden) {
    const bad = forbidPool.filter((p) => forbidden.keys.every((k) => test(k, p)));
    figures.forbidden = bad.length;
    if (bad.length) {
      const what = forbidden.keys.map((k) => `${k.key} ${k.def.show(k.value)}`).join(', ');
      return {
        ok: false,
        message: `${plural(bad.length, 'packet')} matched forbidden ${what}: ${bad.slice(0, 3).map(describePacket).join('; ')}${bad.length > 3 ? '; …' : ''} (${matching.length} matched ${wanted})${errText}`,
        matched: matching.length,
        figures,
      };
    }
  }

  const ok =
    mode === 'any' ? matching.length >= atLeast : mode === 'all' ? population.length >= atLeast && matching.length === population.length : judged.length === 1 && matching.length === 1;
  if (ok) {
    // at_least 0 (only with forbid, semantic.ts): the verdict is the forbid's; say so.
    if (atLeast === 0 && forbidden && mode === 'any') {
      const what = forbidden.keys.map((k) => `${k.key} ${k.def.show(k.value)}`).join(', ');
      return { ok: true, message: `no packet matched forbidden ${what} (${plainForbid ? '' : `${plural(encapsulated.length, 'tunnel packet')} among `}${packets.length} captured)${errText}`, matched: matching.length, figures };
    }
    const head =
      mode === 'any'
        ? `${matching.length} of ${pop(population.length)} matched ${wanted} (≥${atLeast} needed; ${packets.length} captured)`
        : mode === 'all'
          ? `all ${pop(population.length)} matched ${wanted} (≥${atLeast} needed; ${packets.length} captured)`
          : `the first ${noun}${withSel} (frame ${judged[0]!.index}) matched ${wanted} (${packets.length} captured)`;
    return { ok: true, message: `${head}${errText}`, matched: matching.length, figures };
  }

  const head =
    mode === 'any'
      ? `expected ${wanted} in ≥${atLeast} packets${selected ? ` with ${selected}` : ''}, ${matching.length} matched`
      : mode === 'all'
        ? `expected every ${noun}${withSel} (≥${atLeast}) to have ${wanted}, ${matching.length} of ${population.length} did`
        : `expected the first ${noun}${withSel} to have ${wanted}`;
  if (population.length === 0 || (mode === 'all' && population.length < atLeast)) {
    const udp = packets.filter((p) => p.udp);
    const ports = udp.length ? `; UDP destination ports seen: ${tally(udp.map((p) => String(p.udp!.dstport)))}` : '';
    const other = encapKind && encapsulated.length ? `; ${plural(encapsulated.length, 'packet')} of another encapsulation (${tally(encapsulated.map((p) => p.encap!))})` : '';
    const hint = selected ? ` — check the match keys, the interface and the traffic` : ` — check the interface, the capture filter and the tunnel's UDP port`;
    return {
      ok: false,
      message: `${head}; saw ${population.length ? `only ${pop(population.length)}` : `no ${noun}s${withSel}`} among ${packets.length} captured${other}${ports}${errText}${hint}`,
      matched: matching.length,
      figures,
    };
  }
  // Per key: how many judged packets match it alone, and what they carried instead.
  const details: string[] = [];
  for (const k of keys) {
    const bad = judged.filter((p) => !test(k, p));
    if (!bad.length) continue;
    const seen = bad.map((p) => {
      const v = k.def.get(p);
      return v === undefined ? lacksOf(k.def, p) : k.def.show(v);
    });
    details.push(`${k.key} ${tally(seen)}${bad.length < judged.length ? ` (${judged.length - bad.length} had ${k.def.show(k.value)})` : ''}`);
  }
  const seenText = details.length
    ? details.join('; ')
    : `each key matches on its own, but only ${matching.length} packet(s) match all together`;
  const what = mode === 'first' ? `frame ${judged[0]!.index}` : pop(judged.length);
  return { ok: false, message: `${head}; saw ${what} with ${seenText}${errText}`, matched: matching.length, figures };
}

/** One line about a tunnel packet, for messages: "frame 3: geneve vni 5 192.0.2.11 → 192.0.2.12, not in ESP". */
export function describePacket(p: DecodedPacket): string {
  if (!p.encap && !p.esp && p.inner) {
    const i = p.inner;
    const what = i.arp ? `ARP ${i.arp.op === 1 ? 'request' : i.arp.op === 2 ? 'reply' : `op ${i.arp.op}`} ${i.arp.spa} → ${i.arp.tpa}` : i.src ? `${i.src} → ${i.dst}${i.icmp ? ` ICMP type ${i.icmp.type}` : ` proto ${i.proto}`}` : `ethertype 0x${(i.ethertype ?? 0).toString(16).padStart(4, '0')}`;
    return `frame ${p.index}: no tunnel, ${i.smac ?? '?'} → ${i.dmac ?? '?'} ${what}`;
  }
  const tunnel = p.geneve ? `geneve vni ${p.geneve.vni}` : p.vxlan ? `vxlan vni ${p.vxlan.vni}` : p.gre ? `gre proto 0x${p.gre.proto.toString(16).padStart(4, '0')}${p.gre.key !== undefined ? ` key ${p.gre.key}` : ''}` : 'no tunnel header';
  const esp = p.esp ? `in ESP SPI 0x${p.esp.spi.toString(16)}${p.esp.decrypted ? '' : ' (not decrypted)'}` : 'not in ESP';
  return `frame ${p.index}: ${tunnel}${p.outer ? ` ${p.outer.src} → ${p.outer.dst}` : ''}, ${esp}`;
}
